"""Publishing: store a distribution and its metadata, then update the pages without a lock.

Order matters so that a failure half way never leaves a page entry pointing at a missing
file: the file (``If-None-Match: *``), its ``.metadata``, then the project pages (see
index.update_project), then the root pages only when the project is new. For a new version
of an existing project that is 5 S3 requests (4 for an sdist), 8 for a new project, plus one
audit event, and never a bucket listing, so the cost is the same for 10 or 10,000 projects.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from . import audit, index, keys, stored
from .distributions import Distribution, inspect, parse_filename
from .errors import NotFound, PreconditionFailed, PrivpiError, StorageError, ValidationError
from .reindex import reindex as _reindex
from .storage import Storage

log = logging.getLogger(__name__)

EXISTING = ("refuse", "skip", "overwrite")


class FileExists(ValidationError):
    """The file name is published with other bytes: PyPI's rule keeps a name to its bytes.

    Only publish decides this; the upload ways (console, /legacy/) translate it.
    """


@dataclass(frozen=True)
class PublishResult:
    project: str
    version: str
    filename: str
    status: str  # "published" | "skipped" | "replaced"


class _ProgressReader:
    """A binary file that reports how far it has been read (botocore may rewind it)."""

    def __init__(self, f, progress: Callable[[int], None]):
        self._f, self._progress, self._reported = f, progress, 0

    def read(self, size=-1):
        data = self._f.read(size)
        position = self._f.tell()
        if position > self._reported:
            self._progress(position - self._reported)
            self._reported = position
        return data

    def __getattr__(self, name):
        return getattr(self._f, name)


def publish(
    storage: Storage,
    path: str | os.PathLike,
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

    def put(key: str, **condition) -> None:
        _write_file(storage, key, Path(path), progress, **condition)

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

    def put(dst: str, **condition) -> None:
        content = {"content_type": keys.content_type(dst), "cache_control": keys.cache_control(dst)}
        storage.copy(key, dst, **content, **condition)

    return _publish(storage, dist, put, existing, uploader)


def _publish(storage, dist: Distribution, put, existing: str, uploader) -> PublishResult:
    upload_time = index.now()
    status = _store_file(storage, dist, put, existing)
    if status == "skipped":
        return PublishResult(dist.project, dist.version, dist.filename, status)
    if dist.kind == "wheel":
        try:
            _store_metadata(storage, dist)
        except BaseException:
            if status == "published":
                _forget(storage, dist)  # no page can list it yet: leave nothing behind
            raise
    # From here on an HTML page may list the file, so it stays even if the update fails.
    before, _after = index.update_project(
        storage, dist.project, lambda page: _add_entry(page, dist, uploader, upload_time)
    )
    # New (or emptied) project: add it to the root. Also when the page already held this
    # very entry: an earlier attempt of this call committed it but lost S3's answer.
    if before is None or not before["files"] or _listed(before, dist, upload_time):
        _add_to_root(storage, dist)
    if status == "replaced":  # CloudFront still holds the old bytes under this name
        _invalidate(storage, [dist.filename], dist.project)
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


def _store_file(storage, dist: Distribution, put, existing: str) -> str:
    """put(key, **condition) stores the file's bytes at key."""
    key = keys.file_key(dist.project, dist.filename)
    try:
        put(key, if_none_match=True)
        return "published"
    except PreconditionFailed:
        pass
    listed = _listed_sha256(storage, dist)
    if listed == dist.sha256:
        # Already published: make sure a publish that failed after its project page still
        # ends in the root (one GET when it is there). Costs nothing on the usual path.
        _add_to_root(storage, dist)
        if existing == "refuse":
            raise ValidationError(
                f"{dist.filename} already exists in {dist.project} "
                "(use --skip-existing to skip files already published)"
            )
        return "skipped"
    if listed is None and storage.sha256(key) == dist.sha256:
        return "published"  # an earlier publish stopped after the file: finish it
    if existing != "overwrite":
        raise FileExists(
            f"{dist.filename} already exists in {dist.project} with different contents "
            "(use --overwrite to replace it)"
        )
    put(key)
    return "replaced"


def _write_file(storage, key, path: Path, progress, **condition) -> None:
    with open(path, "rb") as f:
        body = _ProgressReader(f, progress) if progress else f
        storage.write(
            key,
            body,
            content_type=keys.content_type(key),
            cache_control=keys.cache_control(key),
            **condition,
        )


def _listed_sha256(storage, dist: Distribution) -> str | None:
    try:
        page = index.read_project(storage, dist.project)
    except NotFound:
        return None
    entries = index.find_files(page, filename=dist.filename)
    return entries[0]["hashes"]["sha256"] if entries else None


def _store_metadata(storage, dist: Distribution) -> str:
    key = keys.metadata_key(dist.project, dist.filename)
    storage.write(
        key,
        dist.metadata,
        content_type=keys.content_type(key),
        cache_control=keys.cache_control(key),
    )
    return hashlib.sha256(dist.metadata).hexdigest()


def _add_entry(page: dict, dist, uploader, upload_time) -> dict:
    metadata_sha = hashlib.sha256(dist.metadata).hexdigest() if dist.kind == "wheel" else None
    entry = index.file_entry(dist, uploader, upload_time, metadata_sha)
    page["files"] = [f for f in page["files"] if f["filename"] != dist.filename] + [entry]
    return page


def _listed(page: dict, dist: Distribution, upload_time: str) -> bool:
    return any(
        f["filename"] == dist.filename
        and f["upload-time"] == upload_time
        and f["hashes"]["sha256"] == dist.sha256
        for f in page["files"]
    )


def _add_to_root(storage, dist: Distribution) -> None:
    try:
        index.update_root(storage, add=dist.project)
    except PrivpiError as e:
        raise PrivpiError(
            f"{dist.filename} is published, but adding {dist.project} to the root index "
            f"failed ({e.message}): upload it again with --skip-existing, "
            "or run `privpi reindex`"
        ) from e


def _forget(storage, dist: Distribution) -> None:
    for key in (
        keys.metadata_key(dist.project, dist.filename),
        keys.file_key(dist.project, dist.filename),
    ):
        with contextlib.suppress(PrivpiError):
            storage.delete(key)


def _invalidate(storage, filenames: list[str], project: str) -> None:
    """Drop the cached copies of files that were overwritten or deleted (docs/caching.md).
    The change is made already: a failed invalidation is a warning, not an error."""
    changed = [k for name in filenames for k in (keys.file_key(project, name),
               keys.metadata_key(project, name))]  # fmt: skip
    try:
        storage.invalidate(changed)
    except StorageError as e:
        log.warning("CloudFront may serve the old files until they expire: %s", e)


def _set_yanked(storage, project, version, value, action, actor, **details) -> list[str]:
    project = canonicalize_name(project)
    changed: list[str] = []

    def change(page):
        matches = index.find_files(page, version=version)
        if not matches:
            raise ValidationError(f"project {project} has no version {version}")
        changed[:] = [f["filename"] for f in matches]
        for entry in matches:
            entry["yanked"] = value
        return page

    _require_project(storage, project)
    index.update_project(storage, project, change)
    audit.record(storage, action, actor, project=project, version=version, **details)
    return changed


def _require_project(storage, project: str) -> None:
    if not storage.exists(keys.project_json(project)):
        raise ValidationError(f"there is no project named {project}")


def yank(storage: Storage, project: str, version: str, reason: str = "", actor=None):
    """Mark every file of a version yanked (PEP 592); pip then skips it unless pinned."""
    return _set_yanked(storage, project, version, reason or True, "yank", actor, reason=reason)


def unyank(storage: Storage, project: str, version: str, actor=None):
    return _set_yanked(storage, project, version, False, "unyank", actor)


def delete(
    storage: Storage,
    project: str,
    version: str | None = None,
    filename: str | None = None,
    actor: str | None = None,
) -> list[str]:
    """Remove files (all, a version's, or one), pages first; return the removed filenames.

    Stored files that match but no page lists (a delete interrupted after its page
    update) are removed too, so running the same delete again finishes the job.
    """
    project = canonicalize_name(project)
    wanted = index.parse_version(version)
    listed: list[str] = []

    def change(page):
        listed[:] = [f["filename"] for f in index.find_files(page, version, filename)]
        page["files"] = [f for f in page["files"] if f["filename"] not in listed]
        return page

    has_page = storage.exists(keys.project_json(project))
    if has_page:
        _before, after = index.update_project(storage, project, change)
        if not after["files"]:
            index.update_root(storage, remove=project)
            for key in (keys.project_html(project), keys.project_json(project)):
                storage.delete(key)
    removed = sorted(set(listed) | set(_stored_matches(storage, project, wanted, filename)))
    if not removed:
        _nothing_matches(project, has_page, version, filename)
    for name in removed:  # no page lists them any more
        storage.delete(keys.metadata_key(project, name))
        storage.delete(keys.file_key(project, name))
    _invalidate(storage, removed, project)  # a file deleted by mistake must stop being served
    for name in removed:
        audit.record(storage, "delete", actor, project=project, version=version, filename=name)
    return removed


def deletable(
    storage: Storage, project: str, version: str | None = None, filename: str | None = None
) -> list[str]:
    """The filenames delete() with these arguments would remove (to confirm), or its refusal."""
    project = canonicalize_name(project)
    wanted = index.parse_version(version)
    try:
        page = index.read_project(storage, project)
    except NotFound:
        page = None
    listed = [f["filename"] for f in index.find_files(page, version, filename)] if page else []
    found = sorted(set(listed) | set(_stored_matches(storage, project, wanted, filename)))
    if not found:
        _nothing_matches(project, page is not None, version, filename)
    return found


def _nothing_matches(project: str, has_page: bool, version, filename) -> None:
    if not has_page:
        raise ValidationError(f"there is no project named {project}")
    raise ValidationError(f"nothing in project {project} matches {_what(version, filename)}")


def _stored_matches(storage, project: str, wanted: Version | None, filename: str | None):
    """Names of stored distributions (or their leftover .metadata) matching the request."""
    prefix = keys.file_key(project, "")
    for info in storage.list(prefix):
        name = info.key[len(prefix) :].removesuffix(".metadata")
        try:
            file_version = parse_filename(name).version
        except ValidationError:
            continue
        if (filename is None or name == filename) and wanted in (None, file_version):
            yield name


def _what(version, filename) -> str:
    if filename:
        return f"file {filename}" + (f" of version {version}" if version else "")
    return f"version {version}"


def reindex(storage: Storage, progress=None):
    """Rebuild every page from the stored files (see privpi.reindex)."""
    return _reindex(storage, progress)
