"""What an unauthenticated request may cost a real ``privpi serve``: hostile bodies are
refused before they are read, slow clients do not lock others out.

Requests are written on raw sockets, as an attacker would, and the answer is read as soon
as the server gives it, while the body is still being sent: how much of the body the
server took before answering shows whether it read (and spooled) it.
"""

from __future__ import annotations

import os
import re
import select
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.support.serve import ADMIN_PASSWORD, start_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MB = 1024 * 1024
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVPI_"))}
    env.update(PRIVPI_PBKDF2_ROUNDS="1000", TMPDIR=str(tmp))
    base_url, proc = start_server(str(tmp / "repo"), env=env)
    yield base_url, proc
    print(stop(proc))


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def reset_peak_memory(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from VmRSS


def send_until_answered(port: int, head: bytes, body_size: int, piece: bytes, timeout=30.0):
    """Send head, then body_size bytes of piece repeated, until the server answers or
    closes. Returns (status line, whole answer head, seconds, body bytes sent)."""
    chunk = piece * (256 * 1024 // len(piece))
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head)
    sock.setblocking(False)
    sent, answer, started, closed = 0, b"", time.monotonic(), False
    try:
        while b"\r\n\r\n" not in answer:
            assert time.monotonic() - started < timeout, "no answer"
            want_write = [sock] if sent < body_size and not closed else []
            readable, writable, _ = select.select([sock], want_write, [], 1.0)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            elif writable:
                try:
                    sent += sock.send(chunk[: body_size - sent])
                except (BrokenPipeError, ConnectionResetError):
                    # The server closed: stop writing and read what it said. `sent` stays
                    # what was really sent (it once became body_size here, which failed a
                    # refused-unread test whenever the close came before the answer was read).
                    closed = True
    finally:
        elapsed = time.monotonic() - started
        sock.close()
    head_text = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head_text.split("\r\n", 1)[0], head_text, elapsed, sent


def request_head(method: str, path: str, length: int, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def sign_in(base_url: str, timeout: float) -> requests.Response:
    with requests.Session() as s:
        page = s.get(f"{base_url}/login", timeout=timeout)
        token = TOKEN.search(page.text).group(1)
        data = {"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token}
        return s.post(f"{base_url}/login", data=data, allow_redirects=False, timeout=timeout)


def test_a_60_mb_form_to_login_is_refused_unread_within_a_second(server):
    base_url, proc = server
    assert sign_in(base_url, 60).status_code == 303  # warm: the console is loaded
    before = memory_kb(proc.pid, "VmRSS")
    reset_peak_memory(proc.pid)
    size = 60 * MB
    head = request_head("POST", "/login", size, "Content-Type: application/x-www-form-urlencoded")
    status, _, seconds, sent = send_until_answered(port_of(base_url), head, size, b"a=&")
    assert status.startswith("HTTP/1.1 413"), status
    assert seconds < 1.0
    assert sent < 16 * MB  # what the sockets' buffers took before the answer, no more
    grown_kb = memory_kb(proc.pid, "VmHWM") - before
    assert grown_kb < 20 * 1024, f"the server grew by {grown_kb} KiB"


def test_an_unauthenticated_300_mb_legacy_upload_gets_401_unread(server):
    base_url, proc = server
    size = 300 * MB
    head = request_head("POST", "/legacy/", size, "Content-Type: multipart/form-data; boundary=x")
    status, answer, seconds, sent = send_until_answered(port_of(base_url), head, size, b"\0")
    assert status.startswith("HTTP/1.1 401"), status
    assert 'www-authenticate: basic realm="privpi"' in answer.lower()
    assert seconds < 1.0
    assert sent < 16 * MB  # never read, so never spooled to disk


def test_a_legacy_upload_over_the_limit_is_refused_unread_even_with_credentials(server):
    """Credentials are checked once the body is in; a body over /legacy/'s limit (100 MiB
    and the form around it) is refused before, whatever the credentials say."""
    base_url, proc = server
    size = 300 * MB
    head = request_head(
        "POST",
        "/legacy/",
        size,
        "Content-Type: multipart/form-data; boundary=x",
        "Authorization: Basic YWRtaW46bm90LXRoZS1wYXNzd29yZA==",
    )
    status, _, seconds, sent = send_until_answered(port_of(base_url), head, size, b"\0")
    assert status.startswith("HTTP/1.1 413"), status
    assert seconds < 1.0
    assert sent < 16 * MB


def test_200_slow_clients_do_not_stop_a_sign_in(server):
    base_url, _ = server
    port = port_of(base_url)
    slow = []
    try:
        for _ in range(200):  # each sends half a request, then nothing
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            slow.append(sock)
        started = time.monotonic()
        assert sign_in(base_url, timeout=20).status_code == 303
        assert time.monotonic() - started < 20
    finally:
        for sock in slow:
            sock.close()


def test_a_client_trickling_its_headers_is_cut_off(server):
    """One byte a second keeps a connection busy but never idle: the headers have ten
    seconds to arrive, then the answer is 408 and the connection closes."""
    base_url, _ = server
    sock = socket.create_connection(("127.0.0.1", port_of(base_url)), timeout=30)
    started = time.monotonic()
    answer = b""
    try:
        for byte in b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60:
            sock.sendall(bytes([byte]))
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                answer = sock.recv(4096)
                break
    finally:
        sock.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 408 Request Timeout"), answer[:100]
    assert time.monotonic() - started < 15
