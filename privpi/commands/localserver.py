"""One local server for ``privpi serve``: the core's read path and the console on one port.

This sits above both: the read path (``privpi.readpath``) knows nothing of the console,
the console (``webadmin``) nothing of the read path.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.server import create_server as waitress_server

import webadmin

from ..readpath import is_read_path, read_path
from ..storage import Storage
from . import requestlimits

READ_PATH_BODY = 0  # the read path takes GET and HEAD alone: no body


class LocalApp:
    """The WSGI application: /simple/ and /files/ to the read path, the rest to the console."""

    def __init__(self, read: WSGIApplication, console: WSGIApplication | None = None) -> None:
        self.read = read
        self.console = console

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.console is None or is_read_path(environ):
            return self.read(environ, start_response)
        return self.console(environ, start_response)


def load_console(
    storage: Storage, base_url: str, realm: str, upstream: str | None = None
) -> Flask | None:
    """The console WSGI app, or None (with the reason on stderr) when it cannot start."""
    config = {
        "SECRET_KEY": secrets.token_hex(32),
        "REPOSITORY_URL": f"{base_url}/simple/",
        "UPSTREAM_URL": upstream,
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
    upstream: str | None = None,
) -> tuple[MultiSocketServer | BaseWSGIServer, str]:
    """A waitress server (not yet running) for the read path and the console."""
    read = read_path(storage, realm=realm, refresh=refresh, max_stale=max_stale, upstream=upstream)
    app = LocalApp(read)
    server = waitress_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="privpi",
        **requestlimits.server_settings(),
    )
    base_url = f"http://{host}:{_bound_port(server)}"
    console = load_console(storage, base_url, realm, upstream)
    app.console = console
    limits = webadmin.body_limits(console) if console else {"": READ_PATH_BODY}
    requestlimits.guard(server, limits, realm)
    return server, base_url


def _bound_port(server: MultiSocketServer | BaseWSGIServer) -> int:
    """The port listened on (port 0 picks one). A host name with several addresses gets a
    MultiSocketServer, one socket per address: the first one's port stands for them."""
    if isinstance(server, MultiSocketServer):
        return server.effective_listen[0][1]
    # TcpWSGIServer sets effective_port when it binds; types-waitress leaves it out.
    return server.effective_port  # type: ignore[attr-defined, no-any-return]
