"""The read path as a WSGI app, for ``privpi serve`` (which puts the console beside it).

``/simple/`` and ``/files/`` requests are turned into CloudFront viewer-request events and
given to the very same handler Lambda@Edge runs (``edge.viewer_request``); its answer is
either a generated response (301/400/401/404/405/503), passed through as is, or the request
rewritten to a key under ``packages/``, which is streamed from the storage the way
CloudFront would serve it from the bucket. Any other path is 404 here: the local server
(``privpi/commands/localserver.py``) sends those to the console instead.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote
from wsgiref.types import StartResponse, WSGIEnvironment

from edge import negotiation, paths, viewer_request
from edge.upstream import NameCache
from edge.userstore import UserCache

from . import keys
from .errors import NotFound, StorageError
from .keys import USERS_KEY
from .storage import Storage

log = logging.getLogger(__name__)
READ_PREFIXES = ("/simple", "/files")
STORE_TIMEOUT = 5.0  # seconds one user store read may take; a quarter interval if shorter


class StorageSource:
    """One key (the user store, the root index) as the edge caches read it, from privpi's
    storage (conditional GET)."""

    def __init__(self, storage: Storage, key: str = USERS_KEY) -> None:
        self.storage = storage
        self.key = key

    def fetch(self, etag: str | None) -> tuple[bytes, str] | None:
        blob = self.storage.read_if_changed(self.key, etag)
        return None if blob is None else (blob.body, blob.etag)


def raw_path(environ: WSGIEnvironment) -> str:
    """The request path as the client sent it (still percent-encoded), like CloudFront's."""
    uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if uri:
        return uri.split("?", 1)[0].split("#", 1)[0] or "/"
    return quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")


def is_read_path(environ: WSGIEnvironment) -> bool:
    try:
        path = paths.normalize(raw_path(environ))
    except paths.Refused:
        path = environ.get("PATH_INFO", "")
    return any(path == p or path.startswith(p + "/") for p in READ_PREFIXES)


def cloudfront_event(environ: WSGIEnvironment) -> dict[str, Any]:
    headers: dict[str, list[dict[str, str]]] = {}
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            header = name[5:].replace("_", "-").lower()
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            header = name.replace("_", "-").lower()
        else:
            continue
        headers[header] = [{"key": header.title(), "value": value}]
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": environ.get("HTTP_HOST", "localhost"),
                        "distributionId": "PRIVPI-SERVE",
                        "eventType": "viewer-request",
                        "requestId": uuid.uuid4().hex,
                    },
                    "request": {
                        "clientIp": environ.get("REMOTE_ADDR", ""),
                        "headers": headers,
                        "method": environ.get("REQUEST_METHOD", "GET"),
                        "querystring": environ.get("QUERY_STRING", ""),
                        "uri": raw_path(environ),
                    },
                }
            }
        ]
    }


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


class ReadPath:
    """The WSGI application: the read path through the edge handler, 404 for other paths."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if is_read_path(environ):
            return self.read(environ, start_response)
        return self.plain(start_response, "404 Not Found", environ)

    @staticmethod
    def plain(
        start_response: StartResponse,
        status: str,
        environ: WSGIEnvironment,
        extra: Iterable[tuple[str, str]] = (),
    ) -> list[bytes]:
        body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else f"{status}\n".encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), *extra]
        start_response(status, [*headers, ("Content-Length", str(len(f"{status}\n")))])
        return [body]

    def read(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        result = viewer_request.handler(cloudfront_event(environ), None)
        if "status" in result:  # a generated response: pass it through
            body = result.get("body", "").encode()
            headers = [(h["key"], h["value"]) for v in result["headers"].values() for h in v]
            headers.append(("Content-Length", str(len(body))))
            start_response(f"{result['status']} {result['statusDescription']}", headers)
            return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]
        key = unquote(result["uri"])[1:]
        if not key.startswith(keys.PACKAGES):  # the handler guarantees this; belt and braces
            return self.plain(start_response, "404 Not Found", environ)
        served = _served_type(result)
        try:
            return self.serve_key(key, environ, start_response, served)
        except NotFound:
            return self.plain(start_response, "404 Not Found", environ)
        except StorageError as e:
            log.error("storage error serving %s: %s", key, e)
            return self.plain(start_response, "503 Service Unavailable", environ)

    def serve_key(
        self,
        key: str,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        served: str | None = None,
    ) -> Iterable[bytes]:
        head = environ.get("REQUEST_METHOD") == "HEAD"
        conditional = environ.get("HTTP_IF_NONE_MATCH")
        chunks: Iterator[bytes] | None = None
        if head or conditional:
            info = self.storage.head(key)
        else:
            info, chunks = self.storage.open(key)
        headers = [
            ("Content-Type", served or keys.content_type(key)),
            ("ETag", info.etag),
            ("Last-Modified", format_datetime(info.last_modified.astimezone(UTC), usegmt=True)),
            ("Cache-Control", keys.viewer_cache_control(key)),
        ]
        if key.startswith(keys.SIMPLE):
            headers.append(("Vary", "Accept"))
        if _etag_matches(conditional, info.etag):
            start_response("304 Not Modified", headers[1:])
            return []
        start_response("200 OK", [*headers, ("Content-Length", str(info.size))])
        if head:
            return []
        if chunks is None:
            _, chunks = self.storage.open(key)
        return chunks


def _served_type(request: dict[str, Any]) -> str | None:
    """The media type the edge negotiated for an index page (None for files)."""
    values = request.get("headers", {}).get(viewer_request.SERVED_HEADER)
    if not values:
        return None
    served: str = values[0]["value"]
    return keys.HTML_TYPE if served == negotiation.TEXT_HTML else served


def read_path(
    storage: Storage,
    *,
    realm: str = "privpi",
    refresh: float = 60.0,
    max_stale: float = 900.0,
    upstream: str | None = None,
) -> ReadPath:
    """The read path over ``storage``, with the edge handler reading its users from there.

    The handler's user cache is module state (as in Lambda), so one read path per process.
    The user store is read every ``refresh`` seconds in a thread of its own, each read
    bounded well inside that interval; a request without a copy waits for the first read
    at most that long, and a copy older than ``max_stale`` is refused (503).
    upstream: the upstream index URL (privpi.settings.check_upstream) for names neither
    private nor claimed; those, and the quarantined projects, come from the root index,
    cached the same way.
    """
    timeout = min(STORE_TIMEOUT, refresh / 4)
    bounded = storage.bounded(timeout)
    cache = UserCache(StorageSource(bounded), refresh, max_stale, background=True, timeout=timeout)
    cache.start()  # the first read begins now, not with the first request
    # Always: the root lists the quarantined projects (whose files answer 404), and with
    # upstream the private and claimed names.
    source = StorageSource(bounded, keys.ROOT_JSON)
    names = NameCache(source, refresh, max_stale, background=True, timeout=timeout)
    names.start()
    viewer_request.configure(cache, realm, upstream, names)
    return ReadPath(storage)
