"""A small S3 client on the standard library: one signed request, retried as botocore does.

Why not botocore: importing it and creating an S3 client cost each ``privpi upload`` about
0.3 CPU seconds before its first request, and each request about 3 ms of CPU more (issue
15: twenty publishers of a CI matrix on two cores spent most of their time there). The
signature is the authenticator's own (edge/sigv4.py), the addressing too
(edge.s3source.bucket_address): the regional virtual-hosted endpoint, see S3Storage.

Retries follow botocore's "standard" mode, which privpi used before: 500, 502, 503, 504,
429, throttling and RequestTimeout errors and failed connections are retried after a
jittered exponential pause (50 ms base, 1 s for throttling), on a new connection, as S3
asks (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html,
https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html,
https://docs.aws.amazon.com/general/latest/gr/api-retries.html). Left out of botocore's
mode: its retry quota, which stops retrying after hundreds of failures in one client (a
privpi process makes tens of requests), and x-amz-retry-after. A retried conditional
write whose first answer was lost gets S3's answer to the retry (a 412), as with botocore:
the callers handle that case (privpi/index.py, privpi/users.py).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import random
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

from edge import sigv4
from edge.s3source import bucket_address

from . import continued
from .awsenv import Credentials, ca_bundle

RETRIED_STATUS = {500, 502, 503, 504, 429}
TRANSIENT_CODES = {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
}  # fmt: skip
MAX_BACKOFF = 20.0
BLOCK = 256 * 1024  # bytes per socket write of a streamed body
CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")
MESSAGE = re.compile(rb"<Message>([^<]{0,500})</Message>")


class ConnectionFailed(Exception):
    """No answer from S3 after every attempt (refused, reset, timed out)."""


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # empty when streamed
    stream: http.client.HTTPResponse | None = None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    @property
    def code(self) -> str:
        """S3's error code (the status for a HEAD, which has no body)."""
        found = CODE.search(self.body)
        return found.group(1).decode("utf-8", "replace") if found else str(self.status)

    @property
    def message(self) -> str:
        found = MESSAGE.search(self.body)
        return found.group(1).decode("utf-8", "replace") if found else ""


@dataclass(frozen=True)
class Call:
    """One attempt, as listeners see it: for counting requests (tests, benches)."""

    operation: str
    key: str
    status: int | None  # None: no answer
    seconds: float
    sent: int  # body bytes
    received: int  # the answer's Content-Length


Body = bytes | BinaryIO


class S3Client:
    """Requests to one bucket; one kept-alive connection per thread."""

    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None,
        credentials: Credentials,
        timeout: float,
        attempts: int,
    ) -> None:
        self.bucket, self.region, self.credentials = bucket, region, credentials
        self.https, self.host, self.base = bucket_address(bucket, region, endpoint_url)
        self.connect_timeout, self.read_timeout = min(5, timeout), timeout
        self.attempts = attempts
        self.listeners: list[Callable[[Call], None]] = []
        self._local = threading.local()

    def request(
        self,
        operation: str,
        method: str,
        key: str = "",
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: Body = b"",
        stream: bool = False,
    ) -> Answer:
        """S3's answer (any status) once it is final; ConnectionFailed when none came."""
        path = self.base + (sigv4.uri_path(key) if key else "" if self.base else "/")
        canonical = sigv4.canonical_query(query or {})
        start = 0 if isinstance(body, bytes) else body.tell()
        for attempt in range(1, self.attempts + 1):
            began = time.perf_counter()
            try:
                answer = self._send(method, path, canonical, headers or {}, body, start, stream)
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                self._tell(operation, key, None, began, body, 0)
                if attempt == self.attempts:
                    raise ConnectionFailed(f"{method} {path}: {type(e).__name__}: {e}") from None
                self._pause(attempt, throttled=False)
                continue
            if operation == "CopyObject" and answer.status == 200 and b"<Error>" in answer.body:
                answer.status = 500  # S3 may fail a copy after its 200 began (API_CopyObject)
            received = int(answer.header("Content-Length") or 0)
            self._tell(operation, key, answer.status, began, body, received)
            code = answer.code if answer.status >= 300 else ""
            retried = answer.status in RETRIED_STATUS or code in TRANSIENT_CODES | THROTTLING_CODES
            if not retried or attempt == self.attempts:
                return answer
            self._drop()  # a retry goes on a new connection, as S3 advises
            self._pause(attempt, throttled=code in THROTTLING_CODES or answer.status == 429)
        raise AssertionError("unreachable")

    def _send(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: Body,
        start: int,
        stream: bool,
    ) -> Answer:
        length, digest = _payload(body, start, self.https)
        creds = self.credentials.get()
        signed = sigv4.sign(
            method, self.host, path, headers, creds, self.region, payload_hash=digest, query=query
        )
        if method == "PUT" or length:  # a file's length: else http.client would chunk it
            signed["content-length"] = str(length)
        conn, target, keep = self._connection(), f"{path}?{query}" if query else path, True
        if isinstance(body, bytes):
            conn.request(method, target, body=body if length else None, headers=signed)
            response = conn.getresponse()
        else:
            response, keep = continued.request(conn, method, target, signed, body)
        if stream and response.status == 200:
            self._local.conn = None  # the answer owns the connection until it is read
            return Answer(response.status, response.headers, b"", response)
        answer = Answer(response.status, response.headers, response.read())
        if not keep:
            self._drop()
        return answer

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and not _dropped(conn.sock):
            return conn
        if conn is not None:
            conn.close()
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, timeout=self.connect_timeout, context=_tls(), blocksize=BLOCK
            )
        else:
            conn = http.client.HTTPConnection(
                self.host, timeout=self.connect_timeout, blocksize=BLOCK
            )
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _pause(self, attempt: int, throttled: bool) -> None:
        """botocore's standard backoff: rand(0, 1) * min(scale * 2 ** (attempt - 1), 20 s)."""
        scale = 1.0 if throttled else 0.05
        time.sleep(random.random() * min(scale * 2 ** (attempt - 1), MAX_BACKOFF))

    def _tell(
        self, operation: str, key: str, status: int | None, began: float, body: Body, got: int
    ) -> None:
        if self.listeners:
            sent = len(body) if isinstance(body, bytes) else 0
            call = Call(operation, key, status, time.perf_counter() - began, sent, got)
            for listener in self.listeners:
                listener(call)


def chunks(answer: Answer, size: int) -> Iterator[bytes]:
    """A streamed answer's body, chunk by chunk; the connection closes at the end."""
    assert answer.stream is not None
    with answer.stream as body:
        while chunk := body.read(size):
            yield chunk


def _payload(body: Body, start: int, https: bool) -> tuple[int, str]:
    """(length, SHA-256 to sign) of a body. A file is sent from its current position to
    its end, streamed in blocks (a wheel may be large: S3 takes up to 5 GB in one PUT,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html). Over HTTPS
    its payload is left unsigned, an option S3 offers for single-chunk uploads
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html) and the
    one botocore takes there: TLS protects the bytes. Over plain HTTP (a test server) it
    is hashed first, in a pass of its own."""
    if isinstance(body, bytes):
        return len(body), hashlib.sha256(body).hexdigest()
    length = body.seek(0, os.SEEK_END) - start
    body.seek(start)
    if https:
        return length, "UNSIGNED-PAYLOAD"
    digest = hashlib.sha256()
    while block := body.read(BLOCK):
        digest.update(block)
    body.seek(start)
    return length, digest.hexdigest()


def _dropped(sock: socket.socket) -> bool:
    """A kept-alive connection the server closed (readable before any request: EOF)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (loading the CA bundle is the costly part)."""
    return ssl.create_default_context(cafile=ca_bundle())
