"""Storage backends behind one interface, chosen by a URL.

``open_storage("./privpi-data")``, ``open_storage("file:///srv/pi")`` or
``open_storage("s3://bucket/prefix")``.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ..errors import StorageError
from ..settings import DEFAULT_STORAGE
from .base import Blob, ObjectInfo, Storage, UploadTarget
from .folder import FolderStorage

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

__all__ = [
    "Blob",
    "ObjectInfo",
    "Storage",
    "UploadTarget",
    "FolderStorage",
    "open_storage",
    "DEFAULT_STORAGE",
]


def open_storage(url: str | None = None) -> Storage:
    """The backend a storage URL names (default: PRIVPI_STORAGE, then ./privpi-data)."""
    url = url or DEFAULT_STORAGE
    if url.startswith("s3://"):
        return _s3(url)
    if url.startswith("file://"):
        path = urlsplit(url).path
        if not path:
            raise StorageError(f"storage URL {url!r} names no folder (file:///absolute/path)")
        return FolderStorage(path)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StorageError(
            f"unknown storage URL scheme {scheme!r} in {url!r}: use a folder path, "
            "file://PATH or s3://BUCKET[/PREFIX]"
        )
    return FolderStorage(url)


def _s3(url: str) -> Storage:
    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not BUCKET_NAME.match(bucket):
        raise StorageError(f"invalid S3 bucket name {bucket!r} in storage URL {url!r}")
    return s3_storage(bucket, prefix)


def s3_storage(bucket: str, prefix: str = "", region: str | None = None) -> Storage:
    """A bucket as storage; region: AWS_REGION, AWS_DEFAULT_REGION, then botocore's config."""
    from .s3 import S3Config, S3Storage  # noqa: PLC0415 - folders need none of it

    return S3Storage(
        S3Config(
            bucket=bucket,
            prefix=prefix,
            # another S3 API server (tests, benches)
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            region=region,  # None: S3Storage asks awsenv.region
        )
    )
