"""An S3 bucket (or any S3 API server) as storage, through privpi's own small S3 client.

Object requests go through privpi/storage/s3client.py (the standard library, SigV4 signed
by edge/sigv4.py): botocore's import and client cost every ``privpi upload`` of a CI matrix
more than its requests did (issue 15). What only botocore does well stays on it, imported
when used: presigned POSTs for browser uploads, CloudFront invalidations, the credential
chain beyond the environment (privpi/storage/awsenv.py).

S3's own "not found" and "precondition failed" answers become the interface's errors;
everything else is raised as a StorageError naming the bucket, never treated as empty.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote, unquote_plus

from .. import keys as key_space
from ..errors import NotFound, PreconditionFailed, StorageError
from . import awsenv
from .base import CHUNK_SIZE, Blob, Body, ObjectInfo, Storage, UploadTarget, check_key
from .s3client import Answer, ConnectionFailed, S3Client, chunks

MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
CONFLICT_CODES = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
DENIED_CODES = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None  # another S3 API server, addressed path-style
    region: str | None = None  # None: AWS_REGION, AWS_DEFAULT_REGION, botocore's config
    # S3 keeps a long CopyObject's connection alive with whitespace; a slower S3 API server
    # (moto copying 1 GiB in the finalize bench) may need longer.
    read_timeout: float = 60
    # botocore's standard mode with max_attempts 3, which privpi used: 3 retries.
    attempts: int = 4


class S3Failure(Exception):
    """An answer S3Storage turns into one of privpi's errors."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


@contextlib.contextmanager
def _translated(key: str, bucket: str) -> Iterator[None]:
    """Turn the client's failures into privpi's errors, naming the key and bucket."""
    try:
        yield
    except S3Failure as e:
        raise _error(e.answer, key, bucket) from None
    except awsenv.MissingCredentials as e:
        raise StorageError(f"no AWS credentials found to reach bucket {bucket} ({e})") from None
    except ConnectionFailed as e:
        raise StorageError(f"cannot reach bucket {bucket}: {e}") from None


def _translate(fn: F) -> F:
    """A method taking a key, with the client's failures translated (signature unchanged)."""

    @functools.wraps(fn)
    def wrapper(self: S3Storage, key: str, *args: Any, **kwargs: Any) -> Any:
        with _translated(key, self.config.bucket):
            return fn(self, key, *args, **kwargs)

    return cast(F, wrapper)


def _error(answer: Answer, key: str, bucket: str) -> Exception:
    code, status = answer.code, str(answer.status)
    if code == "NoSuchBucket":
        return StorageError(f"bucket {bucket} does not exist")
    if code in MISSING_CODES or status == "404":
        return NotFound(key)
    if code in CONFLICT_CODES or status in ("409", "412"):
        return PreconditionFailed(key)
    if code in DENIED_CODES:
        return StorageError(f"access to {key or 'bucket'} in bucket {bucket} denied ({code})")
    message = f"{code} {answer.message}".strip()
    return StorageError(f"S3 error on {key or 'bucket'} in bucket {bucket}: {message}")


def _ok(answer: Answer) -> Answer:
    if answer.status >= 300:
        raise S3Failure(answer)
    return answer


def _http_time(value: str) -> datetime:
    return parsedate_to_datetime(value) if value else datetime.now(UTC)


def _xml(body: bytes) -> dict[str, Any]:
    """An S3 XML answer as {tag: text} of the root's children, the root itself under "_";
    S3's namespace dropped."""
    root = ElementTree.fromstring(body)  # noqa: S314 - the bucket's answers, as botocore parses them
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return {child.tag: child.text or "" for child in root} | {"_": root}


class S3Storage(Storage):
    # The deployed bucket's lifecycle rule expires incoming/ (privpi/aws/templates/bucket.yaml).
    expires_incoming = True

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        self.config = config
        self.url = f"s3://{config.bucket}" + (f"/{config.prefix}" if config.prefix else "")
        self.client = client or S3Client(
            config.bucket,
            config.region or awsenv.region(),
            config.endpoint_url,
            awsenv.Credentials(),
            config.read_timeout,
            config.attempts,
        )

    def bounded(self, seconds: float) -> S3Storage:
        # One attempt: the caller's next try (a refresh) is the retry, inside its deadline.
        return S3Storage(replace(self.config, read_timeout=seconds, attempts=1))

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.config.prefix}/{key}" if self.config.prefix else key

    def _unk(self, full: str) -> str:
        return full[len(self.config.prefix) + 1 :] if self.config.prefix else full

    def _get(self, key: str, headers: dict[str, str] | None = None) -> Answer:
        return self.client.request("GetObject", "GET", self._k(key), headers=headers)

    def _head(self, key: str) -> Answer:
        return _ok(self.client.request("HeadObject", "HEAD", self._k(key)))

    @_translate
    def read(self, key: str) -> Blob:
        r = _ok(self._get(key))
        return Blob(r.body, r.header("ETag"))

    @_translate
    def read_if_changed(self, key: str, etag: str | None) -> Blob | None:
        r = self._get(key, {"if-none-match": etag} if etag else None)
        if r.status == 304:
            return None
        return Blob(_ok(r).body, r.header("ETag"))

    @_translate
    def write(
        self,
        key: str,
        body: Body,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["if-match"] = if_match
        if if_none_match:
            headers["if-none-match"] = "*"
        if content_type:
            headers["content-type"] = content_type
        if cache_control:
            headers["cache-control"] = cache_control
        r = self.client.request("PutObject", "PUT", self._k(key), headers=headers, body=body)
        # If-Match on a vanished object answers 404: for the caller it is a lost race.
        if if_match is not None and r.status == 404:
            raise PreconditionFailed(key, "no longer exists")
        return _ok(r).header("ETag")

    @_translate
    def delete(self, key: str) -> None:
        _ok(self.client.request("DeleteObject", "DELETE", self._k(key)))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = f"{self.config.prefix}/{prefix}" if self.config.prefix else prefix
        query = {"list-type": "2", "prefix": full, "encoding-type": "url"}
        while True:
            with _translated(prefix, self.config.bucket):
                page = _xml(_ok(self.client.request("ListObjectsV2", "GET", query=query)).body)
            for obj in page["_"].iter("Contents"):
                yield ObjectInfo(
                    key=self._unk(unquote_plus(obj.findtext("Key", ""))),
                    size=int(obj.findtext("Size", "0")),
                    etag=obj.findtext("ETag", ""),
                    last_modified=datetime.fromisoformat(obj.findtext("LastModified", "")),
                )
            if page.get("IsTruncated") != "true":
                return
            query["continuation-token"] = page["NextContinuationToken"]

    @_translate
    def head(self, key: str) -> ObjectInfo:
        return _info(key, self._head(key))

    @_translate
    def copy(
        self,
        src: str,
        dst: str,
        *,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        """CopyObject; If-None-Match on the destination as PutObject has it
        (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html)."""
        return str(self._copy(src, dst, if_none_match, content_type, cache_control)["ETag"])

    def _copy(
        self,
        src: str,
        dst: str,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
        checksum: str | None = None,
    ) -> dict[str, Any]:
        source = quote(f"{self.config.bucket}/{self._k(src)}", safe="/-._~")
        headers = {"x-amz-copy-source": source}
        if if_none_match:
            headers["if-none-match"] = "*"
        if content_type or cache_control:  # new headers: S3 copies the old ones otherwise
            headers["x-amz-metadata-directive"] = "REPLACE"
            headers["content-type"] = content_type or "application/octet-stream"
            if cache_control:
                headers["cache-control"] = cache_control
        if checksum:
            headers["x-amz-checksum-algorithm"] = checksum
        r = self.client.request("CopyObject", "PUT", self._k(dst), headers=headers)
        return _xml(_ok(r).body)

    @_translate
    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        r = self._get(key, {"range": f"bytes={start}-{start + length - 1}"})
        if r.status == 416 or (r.status >= 300 and r.code == "InvalidRange"):  # past the end
            return b""
        return _ok(r).body

    @_translate
    def sha256(self, key: str) -> str:
        """S3 computes it: the object copied onto itself with a SHA-256 checksum (a new
        version of the same bytes), so a 1 GiB upload never passes through the console's
        Lambda function (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html)."""
        head = self._head(key)
        result = self._copy(
            key,
            key,
            content_type=head.header("Content-Type") or None,
            cache_control=head.header("Cache-Control") or None,
            checksum="SHA256",
        )
        return base64.b64decode(result["ChecksumSHA256"]).hex()

    @_translate
    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        r = self.client.request("GetObject", "GET", self._k(key), stream=True)
        return _info(key, _ok(r)), chunks(r, CHUNK_SIZE)

    def upload_target(self, key: str, max_size: int, expires: int) -> UploadTarget:
        """A presigned POST: the browser uploads straight to the bucket, limited in size
        (content-length-range) and time. Signing is local: no request is made."""
        from . import s3botocore  # noqa: PLC0415 - the console's, not every command's

        return s3botocore.presigned_post(
            self.config.bucket,
            self.client.region,
            self.config.endpoint_url,
            self._k(key),
            max_size,
            expires,
        )

    def invalidate(self, keys: Sequence[str]) -> Sequence[str]:
        """Invalidate keys in the distribution that config/distribution.json names (written
        by privpi deploy); nothing when there is none. Each key is invalidated under both
        URIs, the viewer's (/files/...) and the one the authenticator rewrites it into
        (/packages/files/...), as CloudFront asks when a viewer-request function changes
        the URI (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html).
        The first 1,000 paths a month cost nothing (docs/caching.md)."""
        paths: list[str] = []
        for key in keys:
            path = "/" + quote(check_key(key), safe="/-._~")
            paths += [path, "/" + path.removeprefix("/" + key_space.PACKAGES)]
        try:
            distribution = json.loads(self.read(key_space.DISTRIBUTION).body)["distribution_id"]
        except NotFound:
            return []
        except (ValueError, KeyError, TypeError):
            damaged = f"{key_space.DISTRIBUTION} in bucket {self.config.bucket} is damaged"
            raise StorageError(damaged) from None
        if not paths:
            return []
        from . import s3botocore  # noqa: PLC0415 - only a change that invalidates needs it

        s3botocore.invalidate(self.config.endpoint_url, distribution, paths)
        return paths


def _info(key: str, r: Answer) -> ObjectInfo:
    size = int(r.header("Content-Length") or 0)
    return ObjectInfo(key, size, r.header("ETag"), _http_time(r.header("Last-Modified")))
