"""A second index standing in for PyPI: real pypiserver, recording every request it gets.

A script, never imported by tests (pypiserver's bottle imports the deprecated ``cgi``).
Run as ``python upstream.py PORT`` (``tests.support.net.start_script``) with
``UPSTREAM_PACKAGES`` (the folder pypiserver serves) and ``UPSTREAM_LOG`` (one JSON line per
request: method, path, and the Authorization header if one came) in the environment.

``/simple/...`` and ``/packages/...`` are pypiserver's own (its project pages link files by
root-relative URLs); ``/abs/simple/<name>/`` is a static page of the same files linked by
absolute URLs, the form PyPI itself uses (files on another host).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import sys
import threading
from pathlib import Path

import pypiserver
import waitress
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


def _project(filename: str) -> str:
    parse = parse_wheel_filename if filename.endswith(".whl") else parse_sdist_filename
    return canonicalize_name(parse(filename)[0])


class Recorder:
    """WSGI: log the request, then answer the absolute-URL page or hand it to pypiserver."""

    def __init__(self, packages: Path, log: Path, base_url: str):
        self.packages, self.log, self.base_url = packages, log, base_url
        self.inner = pypiserver.app(roots=[str(packages)], disable_fallback=True)
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        entry = {"method": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", "")}
        if "HTTP_AUTHORIZATION" in environ:
            entry["authorization"] = environ["HTTP_AUTHORIZATION"]
        with self.lock, self.log.open("a") as f:
            f.write(json.dumps(entry) + "\n")
        if entry["path"].startswith("/abs/simple/"):
            return self.absolute_page(entry["path"].split("/")[3], start_response)
        return self.inner(environ, start_response)

    def absolute_page(self, project: str, start_response):
        links = []
        for path in sorted(self.packages.iterdir()):
            if _project(path.name) == project:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                url = f"{self.base_url}/packages/{path.name}#sha256={digest}"
                links.append(f'<a href="{html.escape(url)}">{html.escape(path.name)}</a><br>')
        if not links:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"404 Not Found\n"]
        body = ("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        )
        return [body]


if __name__ == "__main__":
    port = int(sys.argv[1])
    app = Recorder(
        Path(os.environ["UPSTREAM_PACKAGES"]),
        Path(os.environ["UPSTREAM_LOG"]),
        f"http://127.0.0.1:{port}",
    )
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)
