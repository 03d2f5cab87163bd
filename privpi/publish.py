"""Publishing: store a distribution and its metadata, then commit its page entry, no lock.

Order matters so that a failure half way never leaves a page entry pointing at a missing
file: the file (``If-None-Match: *``), its ``.metadata`` (``If-None-Match: *`` too: a
different one means another upload of the name is under way), then the project page commit
(index.commit), then the root only when the project gets its first file. For a new version
of an existing project that is 5 S3 requests (4 for an sdist), 8 for a new project, plus one
audit event, and never a bucket listing, so the cost is the same for 10 or 10,000 projects.
The console renders the version's description on its first view (privpi.descriptions), so
a publish writes nothing more.

The commit decides, on the page as it is at that moment: these very bytes listed already -
nothing to do; other bytes listed - refused unless overwriting; the name deleted within the
grace period - refused (and our bytes removed); deleted longer ago with other bytes -
refused unless overwriting. An overwrite writes its bytes unconditionally, so after its
commit it checks (HEAD) that the stored ETags are still its own and writes and commits again
if a racing overwrite replaced them: the overwrite that commits last is the one stored.
A publish that fails can be run again (``--skip-existing``) and finishes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from . import audit, index, keys, stored
from .deletion import deletable, delete, invalidate, remove_leftovers
from .distributions import Distribution, inspect, parse_filename
from .errors import NotFound, PreconditionFailed, PrivpiError, ValidationError
from .index import Doc
from .reindex import ReindexResult
from .reindex import reindex as _reindex
from .status import UploadsClosed, refuse_uploads
from .storage import Storage
from .yanking import unyank, yank

EXISTING = ("refuse", "skip", "overwrite")
MAX_REPLACE_ATTEMPTS = 10
log = logging.getLogger(__name__)
__all__ = ["deletable", "delete", "publish", "reindex", "unyank", "yank"]


@dataclass(frozen=True)
class PublishResult:
    project: str
    version: str
    filename: str
    status: str  # "published" | "skipped" | "replaced"


class _ProgressReader(io.BufferedReader):
    """A binary file that reports how far it has been read (botocore may rewind it)."""

    def __init__(self, path: Path, progress: Callable[[int], None]) -> None:
        super().__init__(io.FileIO(path))
        self._progress, self._reported = progress, 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        position = self.tell()
        if position > self._reported:
            self._progress(position - self._reported)
            self._reported = position
        return data


class _Put(Protocol):
    """Store the file's bytes at key (only where there are none: if_none_match); its ETag."""

    def __call__(self, key: str, /, *, if_none_match: bool = False) -> str: ...


class FileExists(ValidationError):
    """The file name is published already (or was, then deleted: deleted) with the same
    bytes (same) or other bytes: PyPI's rule keeps a name to its bytes.

    Only publish decides this; the upload ways (console, /legacy/) translate it.
    """

    def __init__(self, message: str, same: bool, deleted: bool = False):
        super().__init__(message)
        self.same, self.deleted = same, deleted


class DuplicateFile(ValidationError):
    """Another name for a distribution the project has (or had) under another spelling."""


class FileDeleted(ValidationError):
    """The file name was deleted less than the grace period ago (index.GRACE)."""


def publish(
    storage: Storage,
    path: str | os.PathLike[str],
    *,
    filename: str | None = None,
    uploader: str | None = None,
    existing: str = "refuse",
    max_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> PublishResult:
    """Validate and publish one distribution file; see the module docstring for the order."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, not {existing!r}")
    dist = inspect(path, filename, max_size)

    def put(key: str, *, if_none_match: bool = False) -> str:
        return _write_file(storage, key, Path(path), progress, if_none_match=if_none_match)

    return _publish(storage, dist, put, existing, uploader)


def publish_stored(
    storage: Storage,
    key: str,
    *,
    filename: str,
    uploader: str | None = None,
    existing: str = "refuse",
    max_size: int | None = None,
) -> PublishResult:
    """Publish the file already stored at key (an upload in incoming/) without reading it
    whole: validated from ranged reads, hashed by the storage, and stored by a server-side
    copy (privpi.stored). The same order and guarantees as publish."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, not {existing!r}")
    dist = stored.inspect_stored(storage, key, filename, max_size)

    def put(dst: str, *, if_none_match: bool = False) -> str:
        return storage.copy(
            key,
            dst,
            if_none_match=if_none_match,
            content_type=keys.content_type(dst),
            cache_control=keys.cache_control(dst),
        )

    return _publish(storage, dist, put, existing, uploader)


def _publish(
    storage: Storage, dist: Distribution, put: _Put, existing: str, uploader: str | None
) -> PublishResult:
    upload_time = index.now()
    try:
        status, etag, fresh = _store_file(storage, dist, put, existing)
        if status == "skipped":
            return PublishResult(dist.project, dist.version, dist.filename, status)
        before, after = _list(storage, dist, put, existing, etag, uploader, upload_time, not fresh)
    except ValidationError as e:
        if not (isinstance(e, FileExists) and e.same):  # that refusal mended the root first
            _mend_root(storage, dist)
        raise
    # New (or emptied) project: the root must list it. Also when the page already held this
    # very entry (an earlier attempt of this call committed it but lost S3's answer), and
    # when the file was there already: this may be an earlier failed publish run again.
    if not fresh or before is None or not before["files"] or _listed(before, dist, upload_time):
        _sync_root(storage, dist, after, repair=not fresh)
    if status == "replaced":  # CloudFront still holds the old bytes under this name
        invalidate(storage, [dist.filename], dist.project)
    audit.record(
        storage,
        "publish",
        uploader,
        project=dist.project,
        version=dist.version,
        filename=dist.filename,
        sha256=dist.sha256,
        upload_time=upload_time,
        uploader=uploader,
        status=status,
    )
    return PublishResult(dist.project, dist.version, dist.filename, status)


def _list(
    storage: Storage,
    dist: Distribution,
    put: _Put,
    existing: str,
    stored: str | None,
    uploader: str | None,
    upload_time: str,
    repair: bool,
) -> tuple[Doc | None, Doc | None]:
    """Store the .metadata and commit the page entry; an overwrite checks its bytes stayed.

    Bytes written over an existing name can be replaced again by a racing overwrite after
    our commit: the overwrite that commits last must also be the one whose bytes are
    stored, so it checks the ETags after its commit and writes and commits again if not.
    """
    for attempt in range(MAX_REPLACE_ATTEMPTS):
        meta = _store_metadata(storage, dist, existing) if dist.kind == "wheel" else None
        try:
            before, after = index.update_project(
                storage,
                dist.project,
                lambda page: _add_entry(page, dist, uploader, upload_time, existing),
                repair=repair,
            )
        except DuplicateFile:
            # Nobody may list this name while its twin is listed or recorded: ours to remove.
            storage.delete(keys.metadata_key(dist.project, dist.filename))
            storage.delete(keys.file_key(dist.project, dist.filename))
            raise
        except (FileDeleted, FileExists) as e:
            if isinstance(e, FileDeleted) or e.deleted:
                _forget(storage, dist, e)  # our bytes of a deleted name
            raise
        except UploadsClosed as e:  # archived or quarantined: our new name's bytes go
            if not repair:
                _forget_refused(storage, dist, e)
            raise
        if existing != "overwrite" or _still_stored(storage, dist, stored, meta):
            return before, after
        index.pause(attempt)
        stored = put(keys.file_key(dist.project, dist.filename))
    raise PrivpiError(f"{dist.filename} kept being replaced by other uploads; try again")


def _store_file(
    storage: Storage, dist: Distribution, put: _Put, existing: str
) -> tuple[str, str | None, bool]:
    """Store the bytes; return (status, ETag, whether this call created the name's file).
    Never replaces other bytes unless asked."""
    key = keys.file_key(dist.project, dist.filename)
    try:
        return "published", put(key, if_none_match=True), True
    except PreconditionFailed:
        pass
    page = _read_page(storage, dist.project)
    entries = index.find_files(page, filename=dist.filename) if page else []
    if entries and entries[0]["hashes"]["sha256"] == dist.sha256:
        # Already published: make sure a publish that failed after its project page still
        # ends in the root (one GET when it is there). Costs nothing on the usual path.
        index.update_project(storage, dist.project, lambda p: None, repair=True)
        _sync_root(storage, dist, page, repair=True)
        if existing == "refuse":
            raise FileExists(
                f"{dist.filename} already exists in {dist.project} "
                "(use --skip-existing to skip files already published)",
                same=True,
            )
        return "skipped", None, False
    try:
        refuse_uploads(page, dist.project)  # before any byte is written over a name
        if not entries and page:
            try:
                _check_deleted(page, dist, existing)
            except ValidationError as e:
                _forget(storage, dist, e)  # leftovers of a deleted name: finish their removal
                raise
        if existing != "overwrite":
            if not entries and storage.sha256(key) == dist.sha256:
                return "published", None, False  # an earlier publish stopped after it: finish
            raise _exists_with_other_bytes(dist)
    except ValidationError:
        if page is not None:  # refused without a commit: the pages must agree all the same
            index.check_rendering(storage, index.project_pages(dist.project), page)
        raise
    # An overwrite writes its bytes even when they are there: it checks their ETag later.
    written = put(key)
    return ("replaced" if entries else "published"), written, False


def _exists_with_other_bytes(dist: Distribution) -> FileExists:
    return FileExists(
        f"{dist.filename} already exists in {dist.project} with different contents, and a "
        "file name always means the same bytes (publish a new version)",
        same=False,
    )


def _write_file(
    storage: Storage,
    key: str,
    path: Path,
    progress: Callable[[int], None] | None,
    *,
    if_none_match: bool = False,
) -> str:
    with _ProgressReader(path, progress) if progress else open(path, "rb") as f:
        return storage.write(
            key,
            f,
            content_type=keys.content_type(key),
            cache_control=keys.cache_control(key),
            if_none_match=if_none_match,
        )


def _read_page(storage: Storage, project: str) -> Doc | None:
    try:
        return index.read_project(storage, project)
    except NotFound:
        return None


def _store_metadata(storage: Storage, dist: Distribution, existing: str) -> str:
    """Write the .metadata; only an overwrite replaces one that describes other bytes."""
    key = keys.metadata_key(dist.project, dist.filename)
    try:
        return index.write_page(storage, key, dist.metadata, if_none_match=existing != "overwrite")
    except PreconditionFailed:
        current = storage.read(key)
        if current.body != dist.metadata:
            raise PrivpiError(
                f"{key} describes other bytes: another upload of {dist.filename} is under "
                "way; try again"
            ) from None
        return current.etag


def _still_stored(
    storage: Storage, dist: Distribution, file_etag: str | None, meta_etag: str | None
) -> bool:
    if storage.head(keys.file_key(dist.project, dist.filename)).etag != file_etag:
        return False
    return meta_etag is None or (
        storage.head(keys.metadata_key(dist.project, dist.filename)).etag == meta_etag
    )


def _check_deleted(page: Doc, dist: Distribution, existing: str) -> None:
    """Refuse a name deleted within the grace period, or deleted with other bytes."""
    record = page.get("_deleted", {}).get(dist.filename)
    if record is None:
        return
    again = index.parse_time(record["time"]) + timedelta(seconds=index.GRACE)
    if datetime.now(UTC) < again:
        raise FileDeleted(
            f"{dist.filename} was deleted from {dist.project} at {record['time'][:19]} UTC; "
            f"it can be published again from {again:%Y-%m-%d %H:%M:%S} UTC"
        )
    if record.get("sha256") not in (None, dist.sha256) and existing != "overwrite":
        raise FileExists(
            f"{dist.filename} was published in {dist.project} with different contents and "
            "deleted, and a file name always means the same bytes (publish a new version)",
            same=False,
            deleted=True,
        )


def _check_same_distribution(page: Doc, dist: Distribution) -> None:
    """Refuse a name that means a file listed or deleted under another spelling
    (SECRETPKG-1.0-py3-none-any.whl beside secretpkg-1.0-py3-none-any.whl): one file."""
    ours = parse_filename(dist.filename).identity
    names = [f["filename"] for f in page["files"]] + list(page.get("_deleted", {}))
    for name in names:
        if name != dist.filename and _identity(name) == ours:
            raise DuplicateFile(
                f"{dist.filename} is the same distribution as {name}, already in "
                f"{dist.project} (file names that normalize alike are one file)"
            )


def _identity(filename: str) -> tuple[object, ...] | None:
    try:
        return parse_filename(filename).identity
    except ValidationError:  # an old name today's rules refuse: it matches nothing new
        return None


def _add_entry(
    page: Doc, dist: Distribution, uploader: str | None, upload_time: str, existing: str
) -> Doc | None:
    """The page with our entry; None if it lists these very bytes already."""
    entries = index.find_files(page, filename=dist.filename)
    if entries and entries[0]["hashes"]["sha256"] == dist.sha256:
        return None
    refuse_uploads(page, dist.project)  # decided at the commit: a racing change loses
    if entries and existing != "overwrite":
        raise _exists_with_other_bytes(dist)
    _check_deleted(page, dist, existing)
    _check_same_distribution(page, dist)
    page.get("_deleted", {}).pop(dist.filename, None)
    metadata_sha = hashlib.sha256(dist.metadata).hexdigest() if dist.kind == "wheel" else None
    entry = index.file_entry(dist, uploader, upload_time, metadata_sha)
    page["files"] = [f for f in page["files"] if f["filename"] != dist.filename] + [entry]
    return page


def _listed(page: Doc, dist: Distribution, upload_time: str) -> bool:
    return any(
        f["filename"] == dist.filename
        and f["upload-time"] == upload_time
        and f["hashes"]["sha256"] == dist.sha256
        for f in page["files"]
    )


def _mend_root(storage: Storage, dist: Distribution) -> None:
    """On a refusal: the root as the project's page says, its HTML its JSON's rendering
    (three GETs when it is). A refused run may follow a failed one that stopped at the root
    with an HTML its settle could not cover (found by the model test on a folder)."""
    index.sync_root(storage, dist.project, _read_page(storage, dist.project), repair=True)


def _sync_root(
    storage: Storage, dist: Distribution, page: Doc | None, repair: bool = False
) -> None:
    try:
        index.sync_root(storage, dist.project, page, repair=repair)
    except PrivpiError as e:
        raise PrivpiError(
            f"{dist.filename} is on {dist.project}'s page, but adding {dist.project} to the "
            f"root index failed ({e.message}); upload it again to finish"
        ) from e


def _forget_refused(storage: Storage, dist: Distribution, refusal: ValidationError) -> None:
    """The bytes a refused upload stored under a name no page lists go as a delete's do:
    recorded as deleted first (index.GRACE), so a racing publish of the name cannot lose
    them; the same bytes may be published again after that."""

    def change(page: Doc) -> Doc | None:
        listed = {f["filename"] for f in page["files"] + page.get("_held", [])}
        if dist.filename in listed:
            return None
        records = page.setdefault("_deleted", {})
        records[dist.filename] = {"sha256": dist.sha256, "time": index.now()}
        return page

    index.update_project(storage, dist.project, change)
    _forget(storage, dist, refusal)


def _forget(storage: Storage, dist: Distribution, refusal: ValidationError) -> None:
    """Remove the stored bytes of a deleted name (deletion.remove_leftovers); if that fails,
    the upload fails (rather than is refused), so that it is run again."""
    try:
        remove_leftovers(storage, dist.project, [dist.filename])
    except PrivpiError as e:
        raise PrivpiError(
            f"{refusal.message}; removing the bytes this upload stored failed ({e.message}): "
            "run it again to finish"
        ) from e


def reindex(storage: Storage, progress: Callable[[int, int], None] | None = None) -> ReindexResult:
    """Rebuild every page from the stored files (see privpi.reindex)."""
    return _reindex(storage, progress)
