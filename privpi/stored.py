"""A distribution that is already in storage (a browser upload in ``incoming/``), checked
and published without bringing its bytes through this process.

The console runs on Lambda with 30 s, 512 MB of memory and 512 MB of /tmp, and takes
browser uploads of up to 1 GiB: copying such a file to /tmp and reading it there does not
fit. Instead, validation reads only what it needs through ranged reads (a zip's central
directory and its metadata member; a .tar.gz is read in order, its index being its
content), the storage computes the SHA-256 itself (S3: a copy with a checksum), and the
file reaches ``packages/`` by a server-side copy (``privpi.publish.publish_stored``).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from .distributions import Distribution, inspect_stream
from .storage import Storage

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

BLOCK = 1024 * 1024  # one ranged read: a zip's central directory takes one or two


class RangedFile(io.RawIOBase):
    """A read-only, seekable file over an object, read block by block by ranged reads."""

    def __init__(self, storage: Storage, key: str, size: int, block: int = BLOCK):
        self.storage, self.key, self.size, self.block = storage, key, size, block
        self.position = 0
        self._start, self._data = 0, b""  # the block last read
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.position >= self.size:
            return 0
        if not self._start <= self.position < self._start + len(self._data):
            self._start = self.position
            self._data = self.storage.read_range(self.key, self.position, self.block)
            self.requests += 1
            if not self._data:
                return 0
        out = memoryview(buffer).cast("B")
        view = self._data[self.position - self._start :][: len(out)]
        out[: len(view)] = view
        self.position += len(view)
        return len(view)


def inspect_stored(storage: Storage, key: str, filename: str, max_size: int | None) -> Distribution:
    """Validate the object at key as the distribution filename (see the module docstring);
    its SHA-256 comes from the storage."""
    size = storage.head(key).size
    sha256 = storage.sha256(key)
    with io.BufferedReader(RangedFile(storage, key, size), buffer_size=BLOCK) as f:
        return inspect_stream(f, filename, size, sha256, max_size)
