"""The storage interface: a handful of primitive verbs every backend implements.

Both backends honour the same conditional-write semantics, so everything built on top
(the user store, publishing) is written once and works against a folder or a bucket.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound, StorageError

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class Blob:
    body: bytes
    etag: str


@dataclass(frozen=True)
class UploadTarget:
    """Where a browser or a CLI sends a file's bytes itself, without passing them through
    the console: an HTTP ``method`` to ``url`` with these form ``fields`` first."""

    method: str
    url: str
    fields: dict[str, str]


Body = bytes | BinaryIO


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root or hide among temp files."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
        or any(ord(c) < 32 or c in "\\\x7f" for c in key)
    ):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class Storage(abc.ABC):
    """Keys are '/'-separated paths such as ``packages/simple/index.json``."""

    url: str

    @abc.abstractmethod
    def read(self, key: str) -> Blob:
        """The whole body and its ETag; NotFound if missing."""

    @abc.abstractmethod
    def read_if_changed(self, key: str, etag: str | None) -> Blob | None:
        """Like read, but None when the ETag still matches (If-None-Match)."""

    @abc.abstractmethod
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
        """Store body (bytes or a binary file read in chunks); return the new ETag.

        if_match: only replace the object that has this ETag (PreconditionFailed otherwise,
        NotFound... also PreconditionFailed if it vanished). if_none_match: only create.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove key; removing a missing key is not an error."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under prefix in key order, fetched lazily page by page."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size, ETag and last-modified time; NotFound if missing."""

    @abc.abstractmethod
    def copy(
        self,
        src: str,
        dst: str,
        *,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        """Server-side copy; returns the new object's ETag. if_none_match: only create dst
        (PreconditionFailed if it exists); content_type/cache_control: dst's headers."""

    @abc.abstractmethod
    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Stream a body in chunks without loading it whole; NotFound if missing."""

    # The verbs below have defaults that suit any backend; a backend overrides one when it
    # can do better (a folder has the file at hand, a bucket can take uploads itself).

    #: True when the backend removes stale ``incoming/`` uploads by itself (a bucket's
    #: lifecycle rule), so the application need not sweep them.
    expires_incoming: bool = False

    def local_path(self, key: str) -> Path | None:
        """The object as a file on this machine, to read in place (NotFound if missing);
        None when the backend keeps no local files (callers then stream it with open)."""
        check_key(key)
        return None

    def upload_target(self, key: str, max_size: int, expires: int) -> UploadTarget | None:
        """A direct upload of at most max_size bytes to key, valid expires seconds; None
        when the backend cannot take one (the application then receives the bytes)."""
        check_key(key)
        return None

    def bounded(self, seconds: float) -> Storage:
        """This storage with each request given up after about ``seconds``, in one attempt:
        for reads that must answer within a deadline (the user store refresh of ``privpi
        serve``). A folder on a local disk answers at once, so the base returns itself."""
        return self

    def invalidate(self, keys: Sequence[str]) -> Sequence[str]:
        """Make a cache in front of the storage (CloudFront) drop its copies of keys, after
        they were overwritten or deleted; returns the paths it was told (none without a
        cache in front). A failure raises StorageError: the change itself stands."""
        for key in keys:
            check_key(key)
        return []

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """length bytes from offset start (fewer at the end); NotFound if missing. For
        reading what validation needs of a large object without reading all of it."""
        _, chunks = self.open(key)
        data, skipped = bytearray(), 0
        for chunk in chunks:
            if skipped + len(chunk) > start:
                data += chunk[max(0, start - skipped) :]
                if len(data) >= length:
                    break
            skipped += len(chunk)
        return bytes(data[:length])

    def sha256(self, key: str) -> str:
        """The object's SHA-256 (hex); a backend that can compute it without sending the
        bytes here (S3) does so."""
        digest = hashlib.sha256()
        for chunk in self.open(key)[1]:
            digest.update(chunk)
        return digest.hexdigest()

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
