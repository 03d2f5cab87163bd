"""A local folder as storage: each key is the file at the same relative path.

The folder is a browsable mirror of what the bucket would hold. Writes go to a temp file
beside the target and are renamed into place, so readers never see half a file. Conditional
writes take an exclusive flock on the target's directory, which serializes them across
processes without any lock file in the key space.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NotFound, PreconditionFailed, StorageError
from .base import CHUNK_SIZE, Blob, Body, ObjectInfo, Storage, check_key

# Small files (indexes, the user store) get a content digest as ETag, like S3's MD5.
# Large immutable distributions get a cheap stat-based one so HEAD never reads 200 MB.
CONTENT_ETAG_LIMIT = 8 * 1024 * 1024
PRIVATE_PREFIX = "config/"  # the user store, tokens, audit: nobody else on the machine reads them


def _etag(st: os.stat_result, body: bytes | None, path: Path) -> str:
    if st.st_size > CONTENT_ETAG_LIMIT:
        return f'"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"'
    if body is None:
        body = path.read_bytes()
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def _file_mode(key: str, path: Path) -> int:
    """0600 for private keys (config/: users, tokens, audit), 0644 for what the index serves;
    never looser than the file it replaces, so a mode the owner tightened stays."""
    mode = 0o600 if key.startswith(PRIVATE_PREFIX) else 0o644
    with contextlib.suppress(OSError):
        mode &= path.stat().st_mode & 0o777
    return mode


@contextlib.contextmanager
def _reading(key: str, path: Path) -> Iterator[None]:
    """Missing (or a name too long to exist) is NotFound; any other OS error is ours."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise NotFound(key) from None
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise NotFound(key) from None
        raise StorageError(f"cannot read {path}: {e.strerror}") from None


class FolderStorage(Storage):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        """The file itself: hashing or reading it in place saves a copy of a large upload."""
        path = self._path(key)
        if not path.is_file():
            raise NotFound(key)
        return path

    def _info(
        self, key: str, path: Path, st: os.stat_result, body: bytes | None = None
    ) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=_etag(st, body, path),
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def read(self, key: str) -> Blob:
        path = self._path(key)
        with _reading(key, path), open(path, "rb") as f:
            body = f.read()
            st = os.fstat(f.fileno())
        return Blob(body, _etag(st, body, path))

    def read_if_changed(self, key: str, etag: str | None) -> Blob | None:
        blob = self.read(key)
        return None if etag is not None and blob.etag == etag else blob

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
        path = self._path(key)
        try:
            self._make_parents(key, path)
            tmp = self._write_temp(path, body, _file_mode(key, path))
        except OSError as e:
            # the key, not the path: the message may reach a web user
            raise StorageError(f"cannot write {key}: {e.strerror}") from None
        try:
            # The ETag of what we write (as S3 answers a PUT), from the temp file (the same
            # inode once renamed): not read back, and no later writer of the key changes it.
            etag = _etag(os.stat(tmp), body if isinstance(body, bytes) else None, Path(tmp))
            with self._locked(path.parent, if_match is not None or if_none_match):
                self._check_condition(key, path, if_match, if_none_match)
                os.replace(tmp, path)
                return etag
        except BaseException:
            with contextlib.suppress(FileNotFoundError):  # gone once it replaced the file
                os.unlink(tmp)
            raise

    def _make_parents(self, key: str, path: Path) -> None:
        """The key's folders; those made for a private key (config/) only the owner opens."""
        if path.parent.is_dir():  # the usual case: one stat, not one per ancestor
            return
        new = [d for d in [path.parent, *path.parent.parents] if not d.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        private = self._path(PRIVATE_PREFIX.rstrip("/"))
        if key.startswith(PRIVATE_PREFIX):
            for d in new:
                if d == private or private in d.parents:
                    os.chmod(d, 0o700)

    def _write_temp(self, path: Path, body: Body, mode: int = 0o644) -> str:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(body, bytes | bytearray | memoryview):
                    f.write(body)
                else:
                    shutil.copyfileobj(body, f, CHUNK_SIZE)
            os.chmod(tmp, mode)
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    @contextlib.contextmanager
    def _locked(self, directory: Path, needed: bool) -> Iterator[None]:
        if not needed:
            yield
            return
        fd = os.open(directory, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _check_condition(
        self, key: str, path: Path, if_match: str | None, if_none_match: bool
    ) -> None:
        if if_none_match and path.exists():
            raise PreconditionFailed(key, "already exists")
        if if_match is not None:
            try:
                current = self.head(key).etag
            except NotFound:
                raise PreconditionFailed(key, "no longer exists") from None
            if current != if_match:
                raise PreconditionFailed(key)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Keep the mirror tidy: drop directories the delete left empty.
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Walk only the deepest directory that the prefix names, in sorted (key) order.
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        yield from self._walk(start, prefix)

    def _walk(self, directory: Path, prefix: str) -> Iterator[ObjectInfo]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        # Sort as S3 does: by full key, where a directory "a" sorts as "a/".
        keyed = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = Path(entry.path).relative_to(self.root).as_posix()
            keyed.append((rel + "/" if entry.is_dir() else rel, entry))
        for rel, entry in sorted(keyed, key=lambda item: item[0]):
            if entry.is_dir():
                if rel.startswith(prefix) or prefix.startswith(rel):
                    yield from self._walk(Path(entry.path), prefix)
            elif rel.startswith(prefix):
                try:  # removed since the directory was read: not listed, as in S3
                    info = self._info(rel, Path(entry.path), entry.stat())
                except FileNotFoundError:
                    continue
                yield info

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with _reading(key, path):  # its ETag may read it: removed meanwhile is NotFound too
            st = path.stat()
            if not path.is_file():
                raise NotFound(key)
            return self._info(key, path, st)

    def copy(
        self,
        src: str,
        dst: str,
        *,
        if_none_match: bool = False,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        path = self._path(src)
        with _reading(src, path), open(path, "rb") as f:
            return self.write(dst, f, if_none_match=if_none_match, content_type=content_type,
                              cache_control=cache_control)  # fmt: skip

    def read_range(self, key: str, start: int, length: int) -> bytes:
        path = self._path(key)
        with _reading(key, path), open(path, "rb") as f:
            f.seek(start)
            return f.read(length)

    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        path = self._path(key)
        with _reading(key, path):
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        st = os.fstat(f.fileno())
        if st.st_size <= CONTENT_ETAG_LIMIT:  # its ETag needs every byte: read them once
            with f:
                body = f.read()
            return self._info(key, path, st, body), iter([body])
        info = self._info(key, path, st)

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(CHUNK_SIZE):
                    yield chunk

        return info, chunks()
