"""One local server for ``privpi serve``: the core's read path and the console on one port.

This sits above both: the read path (``privpi.readpath``) knows nothing of the console,
the console (``webadmin``) nothing of the read path.
"""

from __future__ import annotations

import secrets
import sys

import waitress

import webadmin

from ..readpath import is_read_path, read_path
from ..storage import Storage


class LocalApp:
    """The WSGI application: /simple/ and /files/ to the read path, the rest to the console."""

    def __init__(self, read, console=None):
        self.read = read
        self.console = console

    def __call__(self, environ, start_response):
        if self.console is None or is_read_path(environ):
            return self.read(environ, start_response)
        return self.console(environ, start_response)


def load_console(storage: Storage, base_url: str, realm: str):
    """The console WSGI app, or None (with the reason on stderr) when it cannot start."""
    config = {
        "SECRET_KEY": secrets.token_hex(32),
        "REPOSITORY_URL": f"{base_url}/simple/",
        "SESSION_COOKIE_SECURE": False,
        "REALM": realm,
    }
    try:
        return webadmin.create_app(config, storage=storage)
    except Exception as e:  # the read path must not die with a broken console
        print(f"privpi serve: the console is unavailable ({e})", file=sys.stderr)
        return None


def create_server(
    storage: Storage,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    realm: str = "privpi",
    refresh: float = 60.0,
    max_stale: float = 900.0,
    threads: int = 8,
):
    """A waitress server (not yet running) for the read path and the console."""
    app = LocalApp(read_path(storage, realm=realm, refresh=refresh, max_stale=max_stale))
    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="privpi")
    base_url = f"http://{host}:{server.effective_port}"
    app.console = load_console(storage, base_url, realm)
    return server, base_url
