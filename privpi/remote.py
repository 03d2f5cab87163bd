"""``privpi upload --url``: publishing through a console's upload API, for CI.

For each file: ask the console for an upload target (``POST /api/v1/uploads``), send the
bytes straight to storage (a presigned POST to the bucket, or the signed PUT of ``privpi
serve``), streamed from disk in chunks with constant memory whatever the size, then have
the console validate and publish it (``.../finalize``). Credentials are a token, sent as
HTTP Basic with the user name ``__token__``.

Standard library only (urllib, http.client): nothing here costs the CLI's start-up time
until an upload over HTTP actually runs (the command imports this module then).
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from .errors import PrivpiError
from .publish import PublishResult
from .tokens import TOKEN_USER

CHUNK = 1024 * 1024
TIMEOUT = 120  # seconds without progress on one request before giving up
LOOPBACK = ("localhost", "127.0.0.1", "::1")
API = "api/v1/uploads"


class RemoteError(PrivpiError):
    """The console or storage refused, or could not be reached; ``status`` if it answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def check_url(url: str) -> str:
    """The console's base URL; plain http only to this machine, as it carries the token."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrivpiError(f"--url {url!r} is not an http(s) URL of a privpi console")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise PrivpiError(
            f"--url {url!r} is plain http: the token would cross the network readable; "
            "use https (plain http is accepted for this machine only)"
        )
    return url if url.endswith("/") else url + "/"


class Console:
    """One console's upload API, with a token."""

    def __init__(self, url: str, token: str):
        self.base = check_url(url)
        credentials = f"{TOKEN_USER}:{token}".encode()
        self.auth = "Basic " + base64.b64encode(credentials).decode("ascii")

    def upload(self, path: Path, progress: Callable[[int], None] = lambda n: None) -> PublishResult:
        size = path.stat().st_size
        ticket = self._json(urljoin(self.base, API), {"filename": path.name, "size": size})
        target = {**ticket["upload"], "url": urljoin(self.base, ticket["upload"]["url"])}
        send(target, path, size, progress)
        # built here, not taken from the answer: the token goes to this console only
        done = self._json(urljoin(self.base, f"{API}/{ticket['id']}/finalize"), {})
        return PublishResult(done["project"], done["version"], done["filename"], done["status"])

    def _json(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (the base passed check_url)
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": self.auth},
        )
        answer = _open(request, "the console")
        try:
            data = json.loads(answer)
        except ValueError:
            raise RemoteError(f"the console at {self.base} did not answer JSON") from None
        if not isinstance(data, dict):
            raise RemoteError(f"the console at {self.base} answered {data!r}")
        return data


def send(target: dict[str, Any], path: Path, size: int, progress: Callable[[int], None]) -> None:
    """The file to the upload target, streamed: a signed PUT, or a presigned multipart POST."""
    if target["method"] == "PUT":
        headers = {"Content-Type": "application/octet-stream"}
        body, length = _chunks(path, progress), size
    else:
        boundary = "privpi-" + secrets.token_hex(16)
        head, tail = multipart_frame(boundary, target["fields"], path.name)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        body, length = _framed(head, _chunks(path, progress), tail), len(head) + size + len(tail)
    headers["Content-Length"] = str(length)  # a length, never chunked: S3's POST wants one
    if urlsplit(target["url"]).scheme not in ("http", "https"):
        raise RemoteError(f"the upload target {target['url']!r} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked just above)
        target["url"], data=body, method=target["method"], headers=headers
    )
    _open(request, "storage")


def multipart_frame(boundary: str, fields: dict[str, str], filename: str) -> tuple[bytes, bytes]:
    """What goes before and after the file's bytes in a presigned POST: the signed fields,
    then the file (S3 ignores every field after it)."""
    lines = []
    for name, value in fields.items():
        lines.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    quoted = filename.replace('"', "%22")
    lines.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return "".join(lines).encode(), f"\r\n--{boundary}--\r\n".encode()


def _chunks(path: Path, progress: Callable[[int], None]) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            progress(len(chunk))
            yield chunk


def _framed(head: bytes, chunks: Iterator[bytes], tail: bytes) -> Iterator[bytes]:
    yield head
    yield from chunks
    yield tail


def _open(request: urllib.request.Request, who: str) -> bytes:
    """The answer's body; a refusal as RemoteError carrying the sentence the server gave."""
    try:
        # http(s) only: every Request here is made from a checked URL
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as e:
        raise RemoteError(refusal(e.code, e.read()), e.code) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise RemoteError(
            f"{who} at {urlsplit(request.full_url).netloc} cannot be reached: {reason}"
        ) from None


def refusal(status: int, body: bytes) -> str:
    """The sentence of a refusal: the console's JSON "error", S3's XML <Message>, or text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return str(data["error"])
    except ValueError:
        pass
    if "<Message>" in text:
        return "storage refused the upload: " + text.split("<Message>", 1)[1].split("<", 1)[0]
    return text[:500] or f"HTTP {status}"
