"""A fault-injecting HTTP proxy for the tests, in front of the moto S3 server.

Every request is forwarded unchanged to the upstream server unless a rule matches it.
A rule matches a method (or "*") and a substring of the decoded request path (bucket and
key; a trailing "$" anchors it at the end) and fires on its nth matching request, then on
the next ``times - 1``:

    proxy.add_rule("PUT", "config/users.json", action="503", times=3)
    proxy.add_rule("GET", "index.json", nth=2, action="drop")
    proxy.add_rule("PUT", "users.json", action="503", every=2, times=10)  # 1st, 3rd, ...
    proxy.add_rule("PUT", "users.json", action="503", first_try=True, times=99)

``chance=0.3`` faults a seeded random 30% of the due requests (chaos with repeatable runs).
``first_try`` faults each distinct request body once, so every write needs a retry yet no
call exhausts its retries however concurrent requests interleave.
    proxy.add_rule("PUT", ".whl", action="drop_after")   # applied upstream, answer lost
    proxy.add_rule("PUT", ".whl", action="delay", delay=30)

Actions: "500"/"503" (an S3-shaped XML error, nothing forwarded), "drop" (close the
connection without an answer, nothing forwarded), "drop_after" (forward, then close without
passing the answer back: the write happened but the client cannot know), "delay" (hold the
request for ``delay`` seconds, then forward; released early by ``release()`` or ``close()``),
"late" (close the client's connection at once, as a timeout would end its wait, and forward
the request when released, or after ``delay``: a request delivered after its sender gave up
and retried, without waiting for the client's timeout).

``proxy.log`` records every request as ``Entry(method, path, outcome)`` where outcome is the
upstream status or the injected action, so tests can count faults and what boto3 retried.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# boto3's standard retry mode with max_attempts 3 (privpi/storage/s3.py) makes 1 + 3
# attempts per call (measured through this proxy): that many faults in a row fail a call.
ATTEMPTS = 4
EXHAUST = ATTEMPTS
ACTIONS = ("500", "503", "drop", "drop_after", "delay", "late")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te"}
ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
    "<Message>injected by faultproxy</Message></Error>"
)


@dataclass
class Rule:
    method: str
    key: str
    action: str
    nth: int = 1
    times: int = 1
    every: int = 1  # fire on every `every`-th matching request from the nth on
    delay: float = 0.0
    first_try: bool = False  # fault only the first request with a given body (a retry passes)
    chance: float = 1.0  # of the due requests, fault this share (seeded: runs repeat)
    rng: random.Random = field(default_factory=lambda: random.Random(8))
    seen: int = 0  # matching requests so far
    fired: int = 0
    bodies: set = field(default_factory=set)

    def matches(self, method: str, path: str) -> bool:
        # A '$' at the end of key anchors it at the end of the path (query string ignored).
        return (self.method in ("*", method)) and self.key in path.split("?", 1)[0] + "$"

    def take(self, body: bytes) -> bool:
        """Count one matching request; True when this one gets the fault."""
        if self.first_try:
            digest = hashlib.sha256(body).digest()
            if digest in self.bodies:
                return False
            self.bodies.add(digest)
        self.seen += 1
        due = self.seen >= self.nth and (self.seen - self.nth) % self.every == 0
        if due and self.chance < 1.0 and self.rng.random() >= self.chance:
            return False
        if due and self.fired < self.times:
            self.fired += 1
            return True
        return False


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    outcome: str  # upstream status ("200") or the injected action


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    log: list[Entry] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._active = 0  # requests being handled
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- the rule API -------------------------------------------------------------------

    def add_rule(self, method: str, key: str, action: str = "503", **kw) -> Rule:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: choose one of {ACTIONS}")
        rule = Rule(method.upper(), key, action, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule (and let delayed requests go); the log is kept."""
        with self._lock:
            self.rules.clear()
        self.release()

    def release(self) -> None:
        self._release.set()

    def rearm(self) -> None:
        """Hold "delay" requests again after a release (a new round of faults)."""
        self._release.clear()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no request is being handled (released ones have reached upstream)."""
        deadline = time.monotonic() + timeout
        while self._active and time.monotonic() < deadline:
            time.sleep(0.005)

    def faults(self) -> list[Entry]:
        with self._lock:
            return [e for e in self.log if e.outcome in ACTIONS]

    def requests(self, method: str | None = None, key: str = "") -> list[Entry]:
        with self._lock:
            return [
                e
                for e in self.log
                if (method is None or e.method == method)
                and key in e.path
                and e.outcome not in ACTIONS
            ]

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    # -- used by the handler ------------------------------------------------------------

    def _decide(self, method: str, path: str, body: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path) and rule.take(body):
                    return rule
        return None

    def _record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.log.append(Entry(method, path, outcome))


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that closed its connection (a timeout, a pool's cleanup) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(proxy: FaultProxy):
    target = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as boto3 uses

        def log_message(self, *args):  # quiet: the proxy keeps its own log
            pass

        def _forward(self, body: bytes) -> tuple[int, str, list, bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                headers.pop("Transfer-Encoding", None)
                headers["Content-Length"] = str(len(body))
            # One upstream connection per client connection, kept alive as boto3 keeps
            # its own: a connection per request cost moto a thread and the test a connect.
            kept, self.upstream = getattr(self, "upstream", None), None
            try:
                return self._exchange(kept or self._connect(), body, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if kept is None:
                    raise
            # The server closed the kept connection before reading this request: afresh.
            return self._exchange(self._connect(), body, headers)

        def _connect(self) -> http.client.HTTPConnection:
            return http.client.HTTPConnection(target.hostname, target.port, timeout=120)

        def _exchange(self, conn, body: bytes, headers: dict) -> tuple[int, str, list, bytes]:
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                r = conn.getresponse()
                answer = r.status, r.reason, r.getheaders(), r.read()
            except BaseException:
                conn.close()
                raise
            if r.will_close:
                conn.close()
            else:
                self.upstream = conn
            return answer

        def finish(self) -> None:
            super().finish()
            if getattr(self, "upstream", None) is not None:
                self.upstream.close()

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.close()

        def _error(self, status: int) -> None:
            code = "InternalError" if status == 500 else "SlowDown"
            body = ERROR_XML.format(code=code).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            with proxy._lock:
                proxy._active += 1
            try:
                self._proxy_one()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout): nothing to do
            finally:
                with proxy._lock:
                    proxy._active -= 1

        def _proxy_one(self) -> None:
            body = self._read_body()
            path = unquote(self.path)
            rule = proxy._decide(self.command, path, body)
            action = rule.action if rule else None
            if action:
                proxy._record(self.command, path, action)
            if action in ("500", "503"):
                return self._error(int(action))
            if action == "drop":
                return self._drop()
            if action == "late":  # the client's wait ends now; the request arrives later
                self._drop()
                proxy._release.wait(rule.delay)
                self._forward(body)
                return None
            if action == "delay":
                proxy._release.wait(rule.delay)
            status, reason, headers, payload = self._forward(body)
            if action == "drop_after":
                return self._drop()
            if action != "delay":
                proxy._record(self.command, path, str(status))
            self.send_response(status, reason)
            for k, v in headers:
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            if self.command != "HEAD" and status not in (204, 304):
                self.send_header("Content-Length", str(len(payload)))
            elif self.command == "HEAD":
                length = dict((k.lower(), v) for k, v in headers).get("content-length")
                if length is not None:
                    self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler
