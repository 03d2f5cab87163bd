"""Deleting files: commit the deletion to the project page first, then remove the bytes.

The page commit (the same conditional write as a publish) removes the entries and records
each name in the page's ``_deleted`` map with its sha256 and the time; that commit is the
deletion, and its audit events follow at once. Only then are the bytes removed (the
``.metadata`` first, so a stored file always means "not finished"), so no page ever lists a
missing file. The record makes the deletion stick: a publish in flight for that name is
refused at its own commit, ``privpi reindex`` never lists the name again, and the name
cannot be published again within the grace period (index.GRACE) during which a removal
request of ours may still be on its way to S3. Stored files that match but no page lists
(an upload in flight, or the leftovers of an interrupted delete) are recorded and removed
too, so running a failed delete again finishes it. An attempt whose commit reached S3 but
whose answer was lost (its retry refused by that commit) is recognised by the next attempt
from the records it wrote, whose names stay this delete's to report and remove. Any other
stored file of the project that no page lists and whose name is recorded as deleted (bytes
an upload request delivered late stored after an earlier delete) goes in the same commit,
its record renewed first: the delete lists the project's files anyway, so this costs
nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from . import audit, index, keys, listing
from .distributions import parse_filename
from .errors import NotFound, StorageError, ValidationError
from .index import Doc, Entry
from .storage import Storage

log = logging.getLogger(__name__)


class NothingToDelete(ValidationError):
    """No file of the project matches (or there is no such project)."""


def delete(
    storage: Storage,
    project: str,
    version: str | None = None,
    filename: str | None = None,
    actor: str | None = None,
) -> list[str]:
    """Remove files (all, a version's, or one), page first; return the removed filenames."""
    project = canonicalize_name(project)
    wanted = index.parse_version(version)
    every = set(_stored_names(storage, project))
    stored = {name for name in every if _matches(name, wanted, filename)}
    removed: list[str] = []
    leftovers: list[str] = []
    refused_on: list[Doc] = []  # the page a refusal found (nothing to delete)
    recorded: set[tuple[str, str]] = set()  # (name, time) of every record an attempt wrote

    def change(page: Doc) -> Doc:
        listed = {f["filename"]: f for f in index.find_files(page, version, filename)}
        records = page.setdefault("_deleted", {})
        names = sorted(set(listed) | stored | _committed(records, recorded))
        if not names:
            refused_on[:] = [page]
            raise NothingToDelete(_nothing(page, project, version, filename))
        stamp = index.now()
        kept = {f["filename"] for f in page["files"] + page.get("_held", [])}
        leftovers[:] = sorted((every & set(records)) - kept - set(names))
        for name in leftovers:  # renewed: a removal of ours may arrive for the grace period
            records[name] = {**records[name], "time": stamp}
        for name in names:
            sha256 = listed[name]["hashes"]["sha256"] if name in listed else None
            records[name] = {"sha256": sha256 or records.get(name, {}).get("sha256"), "time": stamp}
            recorded.add((name, stamp))
        page["files"] = [f for f in page["files"] if f["filename"] not in names]
        if "_held" in page:  # a quarantined project's files go too (privpi.status)
            page["_held"] = [f for f in page["_held"] if f["filename"] not in names]
        removed[:] = names
        return page

    try:
        _before, after = index.update_project(storage, project, change)
    except NothingToDelete:
        # Perhaps this runs again a delete that removed the last files but failed at the
        # root, whose HTML it may have left unlike the root JSON: finish that first.
        _finish_root(storage, project, refused_on[0])
        raise
    assert after is not None  # change() always returns a page
    if not after["files"]:  # repair: this may be such a run again, with files still stored
        index.sync_root(storage, project, after, repair=True)
    for name in removed:  # the commit is the deletion: recorded before any byte goes
        audit.record(storage, "delete", actor, project=project, version=version, filename=name)
    for name in removed + leftovers:  # no page lists them any more, and none will
        storage.delete(keys.metadata_key(project, name))
        storage.delete(keys.file_key(project, name))
    invalidate(storage, removed, project)  # a file deleted by mistake must stop being served
    return removed


def _committed(records: dict[str, Any], recorded: set[tuple[str, str]]) -> set[str]:
    """Names an earlier attempt of this delete committed although it was not told so: its
    JSON PUT reached S3 but the answer was lost, and the retry was refused (412) by that
    very commit. They are this delete's to report, audit and remove, even a file that was
    listed (published after the delete listed the stored files) and is listed no more."""
    return {name for name, record in records.items() if (name, record.get("time")) in recorded}


def _finish_root(storage: Storage, project: str, page: Doc) -> None:
    """The root's listing of project made right, its HTML too, from the page the refusal
    read (a refusal path: two GETs when nothing is left to do); and the listing summary:
    an earlier run that committed but failed before its audit events (the summary's news
    of a change) left it behind the page (one GET when it is current)."""
    # serial 0 with no files: no page (a page emptied by deletes has a serial), no root entry
    if index.serial(page) and not page["files"]:
        index.sync_root(storage, project, page, repair=True)
    if index.serial(page):
        listing.apply(storage, project, page)


def invalidate(storage: Storage, filenames: list[str], project: str) -> None:
    """Drop the cached copies of files that were overwritten or deleted (docs/caching.md).
    The change is made already: a failed invalidation is a warning, not an error."""
    changed = [k for name in filenames for k in (keys.file_key(project, name),
               keys.metadata_key(project, name))]  # fmt: skip
    try:
        storage.invalidate(changed)
    except StorageError as e:
        log.warning("CloudFront may serve the old files until they expire: %s", e)


def deletable(
    storage: Storage, project: str, version: str | None = None, filename: str | None = None
) -> list[str]:
    """The filenames delete() with these arguments would remove (to confirm), or its refusal."""
    project = canonicalize_name(project)
    wanted = index.parse_version(version)
    stored = {n for n in _stored_names(storage, project) if _matches(n, wanted, filename)}
    try:
        page = index.read_project(storage, project)
    except NotFound:
        page = index.empty_project(project)
    found = sorted({f["filename"] for f in index.find_files(page, version, filename)} | stored)
    if not found:
        raise NothingToDelete(_nothing(page, project, version, filename))
    return found


def remove_leftovers(
    storage: Storage, project: str, names: Iterable[str], summarize: bool = True
) -> list[str]:
    """Remove stored bytes of deleted names as a delete does: record them as deleted now
    first (nobody lists them for the grace period), unless a page lists them again.

    For bytes a refused upload stored, and bytes an upload request delivered late (after
    its sender gave up and retried) stored after the delete (privpi reindex finds those,
    and writes the listing summary once itself: summarize=False).
    """
    gone: list[str] = []

    def change(page: Doc) -> Doc | None:
        records = page.get("_deleted", {})
        listed = {f["filename"] for f in page["files"]}
        gone[:] = sorted(n for n in set(names) if n in records and n not in listed)
        stamp = index.now()
        for name in gone:
            records[name] = {**records[name], "time": stamp}
        return page if gone else None

    index.update_project(storage, project, change, summarize=summarize)
    for name in gone:
        storage.delete(keys.metadata_key(project, name))
        storage.delete(keys.file_key(project, name))
    return gone


def _stored_names(storage: Storage, project: str) -> Iterator[str]:
    """Names of the project's stored distributions (or their leftover .metadata)."""
    prefix = keys.file_key(project, "")
    for info in storage.list(prefix):
        yield info.key[len(prefix) :].removesuffix(".metadata")


def _matches(name: str, wanted: Version | None, filename: str | None) -> bool:
    try:
        file_version = parse_filename(name).version
    except ValidationError:
        return False
    return (filename is None or name == filename) and wanted in (None, file_version)


def _nothing(page: Doc, project: str, version: str | None, filename: str | None) -> str:
    if not page["files"] and not page.get("_deleted"):
        return f"there is no project named {project}"
    what = _what(version, filename)
    records = page.get("_deleted", {})
    deleted = [records[e["filename"]]["time"] for e in _as_entries(records, version, filename)]
    if deleted:
        return f"nothing in project {project} matches {what}: deleted at {max(deleted)[:19]} UTC"
    return f"nothing in project {project} matches {what}"


def _as_entries(records: dict[str, Any], version: str | None, filename: str | None) -> list[Entry]:
    """Deleted-file records shaped as entries, so index.find_files can match them."""
    entries: list[Entry] = []
    for name in records:
        try:
            file_version = str(parse_filename(name).version)
        except ValidationError:
            continue
        entries.append({"filename": name, "_version": file_version})
    return index.find_files({"files": entries}, version, filename)


def _what(version: str | None, filename: str | None) -> str:
    if filename:
        return f"file {filename}" + (f" of version {version}" if version else "")
    return f"version {version}" if version else "anything"
