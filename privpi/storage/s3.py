"""An S3 bucket (or any S3 API server) as storage, through botocore (boto3's own core).

Clients come from botocore's session directly, as boto3.client makes them: boto3's layer
(its resources and s3transfer, about a third of boto3's import time here) would be imported
by every process that opens S3, a `privpi upload` in a CI matrix included, and no storage
operation uses it (issue 15).

S3's own "not found" and "precondition failed" answers become the interface's errors;
everything else is raised as a StorageError naming the bucket, never treated as empty.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import quote

import botocore.exceptions
import botocore.session
from botocore.config import Config

from .. import keys as key_space
from ..errors import NotFound, PreconditionFailed, StorageError
from .base import CHUNK_SIZE, Blob, Body, ObjectInfo, Storage, UploadTarget, check_key

if TYPE_CHECKING:
    from botocore.config import _RetryDict
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopyObjectResultTypeDef

MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
CONFLICT_CODES = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None  # another S3 API server, addressed path-style
    region: str | None = None
    # S3 keeps a long CopyObject's connection alive with whitespace; a slower S3 API server
    # (moto copying 1 GiB in the finalize bench) may need longer.
    read_timeout: int = 60


@contextlib.contextmanager
def _translated(key: str, bucket: str) -> Iterator[None]:
    """Turn boto3 exceptions into ours, naming the key and bucket."""
    try:
        yield
    except botocore.exceptions.ClientError as e:
        raise _client_error(e, key, bucket) from None
    except botocore.exceptions.NoCredentialsError:
        raise StorageError(f"no AWS credentials found to reach bucket {bucket}") from None
    except botocore.exceptions.BotoCoreError as e:
        raise StorageError(f"cannot reach bucket {bucket}: {e}") from None


def _translate(fn: F) -> F:
    """A method taking a key, with boto3's exceptions translated (its signature unchanged)."""

    @functools.wraps(fn)
    def wrapper(self: S3Storage, key: str, *args: Any, **kwargs: Any) -> Any:
        with _translated(key, self.config.bucket):
            return fn(self, key, *args, **kwargs)

    return cast(F, wrapper)


def _client_error(e: botocore.exceptions.ClientError, key: str, bucket: str) -> Exception:
    err = e.response.get("Error", {})
    code = str(err.get("Code", ""))
    status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    if code == "NoSuchBucket":
        return StorageError(f"bucket {bucket} does not exist")
    if code in MISSING_CODES or status == "404":
        return NotFound(key)
    if code in CONFLICT_CODES or status in ("409", "412"):
        return PreconditionFailed(key)
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return StorageError(f"access to {key or 'bucket'} in bucket {bucket} denied ({code})")
    message = f"{code} {err.get('Message', '')}".strip()
    return StorageError(f"S3 error on {key or 'bucket'} in bucket {bucket}: {message}")


@functools.cache
def _session() -> botocore.session.Session:
    """One session per process, as boto3's default session: credentials resolved once."""
    return botocore.session.get_session()


def _client(config: S3Config, timeout: float, retries: _RetryDict) -> S3Client:
    """A client with Signature Version 4 and the bucket's regional virtual-hosted endpoint,
    https://BUCKET.s3.REGION.amazonaws.com/, for every request and every presigned POST.

    botocore's defaults would sign browser uploads with Signature Version 2 in us-east-1,
    eu-west-1 and other older regions, which S3 refuses on buckets created since June 2020
    (https://docs.aws.amazon.com/AmazonS3/latest/API/specify-signature-version.html#UsingAWSSDK-sig2-deprecation),
    and would post to the global https://BUCKET.s3.amazonaws.com/, which S3 answers for a new
    bucket outside us-east-1 with a temporary redirect that a browser does not follow for a
    CORS request (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
    Another S3 API server (config.endpoint_url: tests, benches) is addressed path-style.
    """
    client = _session().create_client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        config=Config(
            signature_version="s3v4",
            s3={
                "addressing_style": "path" if config.endpoint_url else "virtual",
                "us_east_1_regional_endpoint": "regional",
            },
            retries=retries,
            connect_timeout=min(5, timeout),
            read_timeout=timeout,
        ),
    )
    return cast("S3Client", client)  # botocore's stubs type it as a generic client


class S3Storage(Storage):
    # The deployed bucket's lifecycle rule expires incoming/ (privpi/aws/templates/bucket.yaml).
    expires_incoming = True

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        self.config = config
        self.url = f"s3://{config.bucket}" + (f"/{config.prefix}" if config.prefix else "")
        retries: _RetryDict = {"mode": "standard", "max_attempts": 3}
        self.client = client or _client(config, config.read_timeout, retries)

    def bounded(self, seconds: float) -> S3Storage:
        # One attempt: the caller's next try (a refresh) is the retry, inside its deadline.
        once: _RetryDict = {"mode": "standard", "total_max_attempts": 1}
        return S3Storage(self.config, _client(self.config, seconds, once))

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.config.prefix}/{key}" if self.config.prefix else key

    def _unk(self, full: str) -> str:
        return full[len(self.config.prefix) + 1 :] if self.config.prefix else full

    @_translate
    def read(self, key: str) -> Blob:
        r = self.client.get_object(Bucket=self.config.bucket, Key=self._k(key))
        with r["Body"] as body:
            return Blob(body.read(), r["ETag"])

    @_translate
    def read_if_changed(self, key: str, etag: str | None) -> Blob | None:
        kwargs: dict[str, Any] = {"IfNoneMatch": etag} if etag else {}
        try:
            r = self.client.get_object(Bucket=self.config.bucket, Key=self._k(key), **kwargs)
        except botocore.exceptions.ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304 or e.response.get("Error", {}).get("Code") == "304":
                return None
            raise
        with r["Body"] as body:
            return Blob(body.read(), r["ETag"])

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
        kwargs: dict[str, Any] = {}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if content_type:
            kwargs["ContentType"] = content_type
        if cache_control:
            kwargs["CacheControl"] = cache_control
        try:
            r = self.client.put_object(
                Bucket=self.config.bucket, Key=self._k(key), Body=body, **kwargs
            )
        except botocore.exceptions.ClientError as e:
            # If-Match on a vanished object answers 404: for the caller it is a lost race.
            if if_match is not None and _client_error(e, key, "").__class__ is NotFound:
                raise PreconditionFailed(key, "no longer exists") from None
            raise
        return r["ETag"]

    @_translate
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.config.bucket, Key=self._k(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = f"{self.config.prefix}/{prefix}" if self.config.prefix else prefix
        with _translated(prefix, self.config.bucket):
            for page in paginator.paginate(Bucket=self.config.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        key=self._unk(obj["Key"]),
                        size=obj["Size"],
                        etag=obj["ETag"],
                        last_modified=obj["LastModified"],
                    )

    @_translate
    def head(self, key: str) -> ObjectInfo:
        r = self.client.head_object(Bucket=self.config.bucket, Key=self._k(key))
        return ObjectInfo(key, r["ContentLength"], r["ETag"], r["LastModified"])

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
        return self._copy(src, dst, if_none_match, content_type, cache_control)["ETag"]

    def _copy(
        self,
        src: str,
        dst: str,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
        **extra: Any,
    ) -> CopyObjectResultTypeDef:
        kwargs = dict(extra)
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if content_type or cache_control:  # new headers: S3 copies the old ones otherwise
            kwargs["MetadataDirective"] = "REPLACE"
            kwargs["ContentType"] = content_type or "application/octet-stream"
            if cache_control:
                kwargs["CacheControl"] = cache_control
        r = self.client.copy_object(
            Bucket=self.config.bucket,
            Key=self._k(dst),
            CopySource={"Bucket": self.config.bucket, "Key": self._k(src)},
            **kwargs,
        )
        return r["CopyObjectResult"]

    @_translate
    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        rng = f"bytes={start}-{start + length - 1}"
        try:
            r = self.client.get_object(Bucket=self.config.bucket, Key=self._k(key), Range=rng)
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") == "InvalidRange":  # start past the end
                return b""
            raise
        with r["Body"] as body:
            return body.read()

    @_translate
    def sha256(self, key: str) -> str:
        """S3 computes it: the object copied onto itself with a SHA-256 checksum (a new
        version of the same bytes), so a 1 GiB upload never passes through the console's
        Lambda function (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html)."""
        head = self.client.head_object(Bucket=self.config.bucket, Key=self._k(key))
        result = self._copy(
            key,
            key,
            content_type=head.get("ContentType"),
            cache_control=head.get("CacheControl"),
            ChecksumAlgorithm="SHA256",
        )
        return base64.b64decode(result["ChecksumSHA256"]).hex()

    @_translate
    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        r = self.client.get_object(Bucket=self.config.bucket, Key=self._k(key))
        info = ObjectInfo(key, r["ContentLength"], r["ETag"], r["LastModified"])
        return info, self._chunks(r["Body"])

    @staticmethod
    def _chunks(body: StreamingBody) -> Iterator[bytes]:
        with body:
            yield from body.iter_chunks(CHUNK_SIZE)

    def upload_target(self, key: str, max_size: int, expires: int) -> UploadTarget:
        """A presigned POST: the browser uploads straight to the bucket, limited in size
        (content-length-range) and time. Signing is local: no request is made."""
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.config.bucket,
                Key=self._k(key),
                Conditions=[["content-length-range", 1, max_size]],
                ExpiresIn=expires,
            )
        except botocore.exceptions.BotoCoreError as e:
            raise StorageError(f"cannot sign an upload to {self.config.bucket}: {e}") from None
        return UploadTarget("POST", post["url"], post["fields"])

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
        # Any: the dev dependencies hold no CloudFront stubs for this one call.
        cloudfront: Any = _session().create_client(
            "cloudfront", endpoint_url=self.config.endpoint_url
        )
        batch = {"Paths": {"Quantity": len(paths), "Items": paths}}
        try:
            cloudfront.create_invalidation(
                DistributionId=distribution,
                InvalidationBatch={**batch, "CallerReference": f"privpi-{time.time_ns()}"},
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            raise StorageError(
                f"could not invalidate {', '.join(paths)} in CloudFront: {e}"
            ) from None
        return paths
