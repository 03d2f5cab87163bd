"""The user store in the bucket, read with one SigV4-signed GET (standard library only).

Lambda@Edge gives a viewer-request function 128 MB, about 7 % of one vCPU, and 5 s in all
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-lambda-at-edge):
importing boto3 alone takes seconds there, so this module talks HTTP itself. The TLS
context (loading the CA bundle is the costly part) is made when the source is made,
which the handler does at import time, in Lambda's init phase.

Endpoint: the bucket's regional virtual-hosted one, ``https://BUCKET.s3.REGION.amazonaws.com``
(no redirect from the global endpoint for a new bucket). A bucket name with dots would not
match S3's wildcard certificate there, so it is addressed path-style on the regional host
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
``AWS_ENDPOINT_URL`` (tests, benches) points it at another S3 API server, path-style.
Credentials: the role's, from the reserved environment variables Lambda@Edge keeps although
it refuses custom ones
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html).

Time bound: two attempts of 1 s each (a trickling answer may take up to 1 s more), then the
cache answers from its last good copy or refuses (503), inside the 5 s viewer-request
limit. 5xx and network failures are retried; 403/404 are not.
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
import time
from urllib.parse import urlsplit

from edge import sigv4

TYPE_CHECKING = False  # typing costs cold-start time: annotations only (mypy reads this)
if TYPE_CHECKING:
    from collections.abc import Mapping

ATTEMPTS = 2
ATTEMPT_SECONDS = 1.0  # connect, send and read the whole answer within this
RETRIED = {500, 502, 503, 504}
CHUNK = 64 * 1024


class S3Error(Exception):
    """S3 answered something other than 200 or 304, or not at all."""

    def __init__(self, message: str, retry: bool = False):
        super().__init__(message)
        self.retry = retry


class S3Source:
    """``fetch(etag) -> (body, etag) | None`` for one key (see edge.userstore)."""

    def __init__(
        self,
        bucket: str,
        region: str,
        key: str,
        endpoint: str | None = None,
        environ: Mapping[str, str] = os.environ,
        timeout: float = ATTEMPT_SECONDS,
    ) -> None:
        self.region, self.environ, self.timeout = region, environ, timeout
        self.https, self.host, base = bucket_address(
            bucket, region, endpoint or environ.get("AWS_ENDPOINT_URL")
        )
        self.path = base + sigv4.uri_path(key)
        self._tls = ssl.create_default_context() if self.https else None

    def fetch(self, etag: str | None) -> tuple[bytes, str] | None:
        """(body, etag) of the object, None when it still has ``etag``; S3Error otherwise."""
        for attempt in range(ATTEMPTS):
            try:
                return self._get(etag)
            except S3Error as e:
                if not e.retry or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _get(self, etag: str | None) -> tuple[bytes, str] | None:
        try:
            creds = sigv4.Credentials.from_environment(self.environ)
        except KeyError as e:
            raise S3Error(f"no AWS credentials in the environment ({e.args[0]})") from None
        headers = sigv4.sign(
            "GET", self.host, self.path, {"if-none-match": etag} if etag else {}, creds, self.region
        )
        deadline = time.monotonic() + self.timeout
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(self.host, timeout=self.timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(self.host, timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers=headers)
            conn.sock.settimeout(_left(deadline))  # what connecting left of the attempt
            answer = conn.getresponse()
            body = _read(answer, deadline)
        except (OSError, http.client.HTTPException) as e:  # timeouts, resets, bad answers
            raise S3Error(f"GET {self.path}: {type(e).__name__}: {e}", retry=True) from None
        finally:
            conn.close()
        if answer.status == 304:
            return None
        if answer.status == 200:
            return body, answer.getheader("ETag", "")
        code = re.search(rb"<Code>([^<]{1,64})</Code>", body)
        name = code.group(1).decode("ascii", "replace") if code else answer.reason
        raise S3Error(f"GET {self.path}: {answer.status} {name}", retry=answer.status in RETRIED)


def bucket_address(bucket: str, region: str, endpoint: str | None) -> tuple[bool, str, str]:
    """(https, host, path before the key) of a bucket: see the module's docstring.
    privpi's own S3 client (privpi/storage/s3client.py) addresses the bucket the same way."""
    if endpoint:  # another S3 API server: path-style, scheme and port as given
        url = urlsplit(endpoint)
        return url.scheme == "https", url.netloc, url.path.rstrip("/") + "/" + bucket
    if "." in bucket:
        return True, f"s3.{region}.amazonaws.com", f"/{bucket}"
    return True, f"{bucket}.s3.{region}.amazonaws.com", ""


def _read(answer: http.client.HTTPResponse, deadline: float) -> bytes:
    """The whole body, or TimeoutError once the attempt's time is up (a trickling answer).

    Each read waits at most the socket timeout set before the answer began, so a trickle
    ends within that much past the deadline. (The socket cannot be touched here: the
    connection may have handed it to the answer and closed its own reference.)
    """
    parts: list[bytes] = []
    while True:
        _left(deadline)
        part = answer.read1(CHUNK)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the answer did not arrive in time")
    return left
