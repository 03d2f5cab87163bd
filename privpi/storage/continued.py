"""A request whose body is sent only once the server agrees: ``Expect: 100-continue``.

S3's client libraries send a file upload this way (botocore for every file body), so a PUT
that S3 refuses from its headers alone (a conditional write that lost its race, a denied
key) costs no upload of the bytes, and is not cut off mid-body by S3 closing the
connection, which would look like a network failure. http.client has no support for it:
the headers go first, then at most CONTINUE_WAIT seconds for an answer. "100 Continue"
sends the body; a final answer is the answer, and the body is never sent (the connection
is then closed: HTTP/1.1, https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1). No
answer in time sends the body anyway, as RFC 9110 asks of a client that never saw one.
"""

from __future__ import annotations

import http.client
import io
import select
from typing import BinaryIO

CONTINUE_WAIT = 1.0  # botocore's wait too


def request(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str],
    body: BinaryIO,
) -> tuple[http.client.HTTPResponse, bool]:
    """(the answer, whether the connection may be kept); the headers include Content-Length."""
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    sock = conn.sock
    assert sock is not None
    if select.select([sock], [], [], CONTINUE_WAIT)[0]:
        raw = sock.makefile("rb", buffering=0)  # unbuffered: reads nothing past the line
        line = raw.readline(65537)
        if not line:
            raise http.client.RemoteDisconnected("closed before answering the headers")
        if line.split(None, 2)[1:2] != [b"100"]:  # a final answer: the body stays here
            answer = http.client.HTTPResponse(sock, method=method)
            answer.fp = io.BufferedReader(_Replayed(line, raw))
            answer.begin()
            return answer, False
        while raw.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # the interim answer's headers
    conn.send(body)  # http.client sends a file in blocks
    return conn.getresponse(), True


class _Replayed(io.RawIOBase):
    """The status line already read, then the rest of the answer from the socket."""

    def __init__(self, head: bytes, rest: io.RawIOBase) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        return self.rest.readinto(buffer) or 0
