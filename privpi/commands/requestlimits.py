"""What a request may cost ``privpi serve`` before anyone has signed in, in waitress's terms.

waitress reads each request whole (to memory, past ``inbuf_overflow`` to a temporary file)
before any application code runs, and it stops accepting connections at
``connection_limit``. So the limits live here, where waitress parses the request:

- a body larger than its path takes (``webadmin.upload.body_limits``) is refused with 413
  as soon as the headers are in, never read;
- ``POST /legacy/`` without Basic credentials is refused with 401 before its body is read
  (the console checks the credentials themselves once the body is in);
- the request line and headers must arrive within ``HEADER_SECONDS`` (408), and a
  connection idle for ``channel_timeout`` is closed, so slow clients cannot hold slots;
- there are slots for many connections (``connection_limit``), each holding little.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.utilities import Error, RequestEntityTooLarge

from ..basicauth import challenge
from ..units import human_size

HEADER_SECONDS = 10.0
MAX_CONNECTIONS = 1000
CREDENTIALS_FIRST = "/legacy/"  # its body is only read for a request with credentials


def server_settings() -> dict[str, Any]:
    """waitress.create_server keywords (Any: its stubs type each keyword alone)."""
    return {
        "connection_limit": connection_limit(),
        "channel_timeout": 30,  # idle seconds (no byte either way) before a connection closes
        "cleanup_interval": 5,  # how often idle connections are looked for
        "max_request_header_size": 16 * 1024,  # per connection, while headers arrive
        "inbuf_overflow": 64 * 1024,  # a body past this waits in a temporary file
    }


def connection_limit() -> int:
    """MAX_CONNECTIONS, or fewer if the process may not open that many files (each
    connection is a socket, an upload in progress also a temporary file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * MAX_CONNECTIONS + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(10, min(MAX_CONNECTIONS, (soft - 64) // 2))


def guard(server: Any, body_limits: dict[str, int], realm: str) -> None:
    """Make ``server`` (from waitress.create_server) parse requests with these limits;
    body_limits: path prefix -> largest body, "" for every other path; realm: of the
    challenge that asks for credentials."""
    server.adj.max_request_body_size = max(body_limits.values()) + 1  # waitress refuses >=
    prefixes = sorted(body_limits, key=len, reverse=True)  # the longest prefix decides

    def limit_for(path: str) -> int:
        return body_limits[next(p for p in prefixes if path.startswith(p))]

    class Challenge(Unauthorized):
        header = challenge(realm)  # as /legacy/ itself answers

    class Parser(LimitedParser):
        body_limit_for = staticmethod(limit_for)
        unauthorized = Challenge

    class Channel(HTTPChannel):
        parser_class = Parser

    # A host with several addresses gets a MultiSocketServer: one server per socket, all
    # in its map (and sharing its adjustments).
    multi = isinstance(server, MultiSocketServer)
    for each in server.map.values() if multi else [server]:
        if isinstance(each, BaseWSGIServer):
            each.channel_class = Channel


class Unauthorized(Error):
    code = 401
    reason = "Unauthorized"
    header = challenge("privpi")

    # (types-waitress says the body is str; waitress gives bytes, passed on untouched)
    def to_response(self, ident: str | None = None) -> tuple[str, Sequence[tuple[str, str]], str]:
        status, headers, body = super().to_response(ident)
        return status, [*headers, ("WWW-Authenticate", self.header)], body


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class LimitedParser(HTTPRequestParser):
    """waitress's parser, refusing as described above; an error completes the request
    at once (waitress answers it and closes the connection, reading nothing more)."""

    body_limit_for = staticmethod(lambda path: 0)
    unauthorized = Unauthorized
    checked = False
    path: str | None  # waitress's, once the request line is parsed

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.monotonic()

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.completed and not self.headers_finished:
            return consumed  # an empty line between requests, or waitress's own refusal
        if not self.headers_finished:
            if time.monotonic() - self.started > HEADER_SECONDS:
                self.refuse(RequestTimeout(f"the request headers took over {HEADER_SECONDS:g} s"))
            return consumed
        if not self.error:
            refusal = self.refusal()
            if refusal:
                self.refuse(refusal)
        return consumed

    def refusal(self) -> Error | None:
        """At the end of the headers: a reason to refuse before the body (no credentials
        where they are needed comes first: the answer a client without them needs); then,
        while a chunked body arrives, whether it has grown past the limit."""
        if not self.checked:
            self.checked = True
            wants_body = self.content_length > 0 or self.chunked
            legacy = (self.path or "").startswith(CREDENTIALS_FIRST)
            if wants_body and legacy and not self._basic():
                return self.unauthorized("Credentials needed: your user name and password")
        limit = self.body_limit_for(self.path or "")
        if max(self.content_length, self.body_bytes_received) > limit:
            return RequestEntityTooLarge(
                f"this request's body is over the {human_size(limit)} {self.path} takes"
            )
        return None

    def _basic(self) -> bool:
        scheme, _, credentials = self.headers.get("AUTHORIZATION", "").partition(" ")
        return scheme.lower() == "basic" and bool(credentials.strip())

    def refuse(self, error: Error) -> None:
        self.error = error
        self.completed = True
        self.expect_continue = False  # no "100 Continue": the body is not wanted
