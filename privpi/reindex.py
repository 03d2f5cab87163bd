"""Rebuild every page from the stored files: the repair path after any accident.

Hashes, sizes and metadata are recomputed from the files themselves. What the files cannot
tell (upload time, uploader, yank state) comes from the current project JSON when it still
describes the same bytes, else from replaying the audit log, else from the file's
last-modified time. So pages that were deleted come back identical to the originals
(but for their commit serials).

It is safe while others publish, yank and delete: each page changes only through the
conditional commit every writer uses (index.commit), from the page current at that moment.
A name in the page's deleted-file records is never listed again; an entry committed after
reindex looked at the files is kept; a stored file no page lists is listed only once it is
older than the grace period (index.GRACE): a younger one may be an upload in flight. An
entry built from bytes that changed under it (a racing overwrite) is built again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import audit, claims, descriptions, folding, index, keys, listing, pages, status
from .deletion import remove_leftovers
from .distributions import inspect, kind_of
from .errors import NotFound, PreconditionFailed, PrivpiError, ValidationError
from .index import Doc, Entry
from .storage import ObjectInfo, Storage

AUDITED = {"publish", "yank", "unyank", "delete", "status", "tracks"}
STATUS, TRACKS = "#status", "#tracks"  # history keys of a project's marks: no file name starts '#'
MAX_REBUILDS = 5


@dataclass
class ReindexResult:
    projects: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # young unlisted files left alone


@dataclass
class _Built:
    info: ObjectInfo  # of the bytes read (their ETag)
    entry: Entry
    metadata: bytes | None  # a wheel's, to store before it is listed
    published: bool  # the audit log has its publish: not an upload in flight
    core: bytes = b""  # its core metadata (a wheel's METADATA, an sdist's PKG-INFO)
    metadata_etag: str | None = None

    def listable(self) -> bool:
        """Not maybe an upload in flight, which lists itself when it commits."""
        return self.published or _old_enough(self.info)


def reindex(storage: Storage, progress: Callable[[int, int], None] | None = None) -> ReindexResult:
    """Rebuild all pages; progress(done, total) is called after each file."""
    start = folding.start(storage)  # every change before it is in the pages read below
    stored = _stored_files(storage)
    projects = sorted(set(stored) | _paged_projects(storage))
    history = _LazyHistory(storage)
    result, counter = ReindexResult(), _Progress(sum(map(len, stored.values())), progress)
    decided: dict[str, Doc] = {}
    for project in projects:
        page = _rebuild(storage, project, stored.get(project, []), history, result, counter)
        decided[project] = page
        if index.lists_files(page):
            result.projects += 1
            result.files += len(page["files"] + page.get("_held", []))
    claimed = claims.read(storage)
    index.commit(storage, index.ROOT, lambda root: _root(root, decided, claimed), repair=True)
    # One write for the listing summary rather than one per project (privpi.listing).
    listing.rebuild(storage, {p: page for p, page in decided.items() if "_serial" in page}, start)
    return result


class _Progress:
    def __init__(self, total: int, report: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.report = total, 0, report

    def step(self) -> None:
        self.done += 1
        if self.report:
            self.report(min(self.done, self.total), self.total)


def _root(root: Doc, decided: dict[str, Doc], claimed: list[str]) -> Doc:
    """The root with each project's listing decided by the newest page the root has heard of."""
    serials = dict(root.get("_serials", {}))
    names = {p["name"] for p in root["projects"]}
    held = set(root.get("_quarantined", []))
    for project, page in decided.items():
        if serials.get(project, -1) < index.serial(page):
            serials[project] = index.serial(page)
            names = names - {project} | ({project} if index.lists_files(page) else set())
            held = held - {project} | ({project} if index.quarantined(page) else set())
    root = index.with_quarantined(index.with_projects(root, names, serials), held)
    return (
        {**root, "_claims": claimed}
        if claimed
        else {k: v for k, v in root.items() if k != "_claims"}
    )


def _rebuild(
    storage: Storage,
    project: str,
    files: list[ObjectInfo],
    history: _LazyHistory,
    result: ReindexResult,
    counter: _Progress,
) -> Doc:
    """Commit project's page rebuilt from its files; again if bytes changed under it."""
    for _ in range(MAX_REBUILDS):
        page = _current(storage, project)
        old = {f["filename"]: f for f in page.get("files", []) + page.get("_held", [])}
        records = page.get("_deleted", {})
        built = _build_all(storage, project, files, old, records, history, result, counter)
        try:
            _store_metadata(storage, project, built, old)
        except PreconditionFailed:
            continue  # an overwrite is writing it: read the files again
        missing = _missing(storage, project, old, {i.key for i in files})
        used: dict[str, _Built] = {}
        merge = functools.partial(_merge, built=built, missing=missing, used=used, history=history)
        _before, after = index.update_project(storage, project, merge, summarize=False)
        if after is not None:  # None: no page, and nothing to list
            _settle_html(storage, project, after)
        after = after or index.empty_project(project)
        _remove_leftovers(storage, project, after)
        if all(_unchanged(storage, project, name, b) for name, b in used.items()):
            listed = {f["filename"] for f in after["files"] + after.get("_held", [])}
            young = set(built) - listed - set(after.get("_deleted", {}))
            result.in_flight += [f"{project}/{name}" for name in sorted(young)]
            _store_descriptions(storage, project, after, built)
            return after
        files = _stored_files(storage).get(project, [])
    raise PrivpiError(f"the files of {project} kept changing while reindexing; run it again")


def _store_descriptions(
    storage: Storage, project: str, page: Doc, built: dict[str, _Built]
) -> None:
    """The console summary of each listed version, from its source file (a wheel's metadata
    if it has one), so no page view has to render it."""
    by_version: dict[str, list[Entry]] = {}
    for f in page["files"]:
        by_version.setdefault(str(f.get("_version")), []).append(f)
    for version, files in sorted(by_version.items()):
        entry = descriptions.source(files)
        b = built.get(entry["filename"]) if entry else None
        if entry is not None and b is not None:
            descriptions.store(storage, project, descriptions.render_from(version, entry, b.core))


def _current(storage: Storage, project: str) -> Doc:
    try:
        page = index.read_project(storage, project)
        return page if isinstance(page.get("files"), list) else {}
    except (NotFound, PrivpiError):
        return {}  # missing or damaged: that is what reindex is for


def _build_all(
    storage: Storage,
    project: str,
    files: list[ObjectInfo],
    old: dict[str, Entry],
    records: dict[str, Any],
    history: _LazyHistory,
    result: ReindexResult,
    counter: _Progress,
) -> dict[str, _Built]:
    built: dict[str, _Built] = {}
    for info in files:
        name = info.key.rsplit("/", 1)[1]
        try:
            if name not in records:  # a deleted name is never listed again
                built[name] = _build(storage, project, info, old, history)
        except ValidationError as e:  # an invalid file; a storage error aborts the run
            result.problems.append(f"{info.key}: {e.message}")
        counter.step()
    return built


def _store_metadata(
    storage: Storage, project: str, built: dict[str, _Built], old: dict[str, Entry]
) -> None:
    """Store each wheel's .metadata that is missing or wrong, conditionally on what is there."""
    for name, b in built.items():
        if b.metadata is None or not (name in old or b.listable()):
            continue
        key = keys.metadata_key(project, name)
        try:
            current = storage.read(key)
        except NotFound:
            b.metadata_etag = index.write_page(storage, key, b.metadata, if_none_match=True)
            continue
        if current.body == b.metadata:
            b.metadata_etag = current.etag
        else:
            b.metadata_etag = index.write_page(storage, key, b.metadata, if_match=current.etag)


def _remove_leftovers(storage: Storage, project: str, page: Doc) -> None:
    """Finish deletions: stored bytes of names the page records as deleted go."""
    if not page.get("_deleted"):
        return
    prefix = keys.file_key(project, "")
    names = {i.key[len(prefix) :].removesuffix(".metadata") for i in storage.list(prefix)}
    remove_leftovers(storage, project, names & set(page["_deleted"]), summarize=False)


def _merge(
    page: Doc,
    built: dict[str, _Built],
    missing: dict[str, Entry],
    used: dict[str, _Built],
    history: _LazyHistory,
) -> Doc | None:
    """The current page with entries rebuilt from the files, deleted names left out; a
    quarantined page's held entries are rebuilt and held again (privpi.status)."""
    records = page.get("_deleted", {})
    if "_serial" not in page:  # no page (lost): its status and tracks from the audit log
        page = _marks_from_history(page, history)
    entries = page["files"] + page.pop("_held", [])
    files = {f["filename"]: f for f in entries if f != missing.get(f["filename"])}
    used.clear()
    for name, b in built.items():
        if name in records:
            continue  # deleted: never resurrected
        current = files.get(name)
        unstored = b.metadata is not None and b.metadata_etag is None
        if current is None and (not b.listable() or unstored):
            continue  # maybe an upload in flight: it lists itself
        rebuilt = b.entry if current is None else _rebased(current, b.entry)
        if current != rebuilt:
            files[name] = rebuilt
            used[name] = b
    if not files and not entries and "_serial" not in page:
        return None  # no page and nothing to list: none is made
    page["files"] = list(files.values())
    return status.as_marked(page)


def _marks_from_history(page: Doc, history: _LazyHistory) -> Doc:
    """page with the last status and tracks the audit log has for it."""
    marked = history.get((page["name"], STATUS))
    if marked and marked["status"] != "active":
        page = status.with_status(page, marked["status"], marked["reason"])
    tracks = history.get((page["name"], TRACKS))
    return status.with_tracks(page, tracks["url"] if tracks else None)


# What the bytes decide; the rest (yank state, upload time, uploader) is the page's.
FROM_BYTES = (
    "filename", "url", "hashes", "requires-python", "core-metadata", "dist-info-metadata",
    "size", "_version",
)  # fmt: skip


def _rebased(current: Entry, built: Entry) -> Entry:
    """The current entry with what the bytes decide taken from them (a yank made after
    reindex read the page stays); the upload time too when the bytes are other bytes."""
    entry = {**current, **{k: built[k] for k in FROM_BYTES}}
    if current.get("hashes") != built["hashes"]:
        entry["upload-time"], entry["_uploader"] = built["upload-time"], built["_uploader"]
    return entry


def _old_enough(info: ObjectInfo) -> bool:
    return info.last_modified < datetime.now(UTC) - timedelta(seconds=index.GRACE)


def _missing(
    storage: Storage, project: str, old: dict[str, Entry], stored_keys: set[str]
) -> dict[str, Entry]:
    """Entries of the page whose file is not stored (checked one by one: the listing may be
    older than a publish)."""
    missing: dict[str, Entry] = {}
    for name, entry in old.items():
        key = keys.file_key(project, name)
        if key not in stored_keys and not storage.exists(key):
            missing[name] = entry
    return missing


def _unchanged(storage: Storage, project: str, name: str, b: _Built) -> bool:
    """The bytes (and .metadata) an entry was built from are still the stored ones."""
    try:
        if storage.head(b.info.key).etag != b.info.etag:
            return False
        meta = keys.metadata_key(project, name)
        return b.metadata_etag is None or storage.head(meta).etag == b.metadata_etag
    except NotFound:
        return False


def _settle_html(storage: Storage, project: str, page: Doc) -> None:
    """Repair an HTML page that is not the rendering of its JSON (a reader-repair)."""
    try:
        html = storage.read(keys.project_html(project)).body
    except NotFound:
        html = b""  # never a rendering
    if html != pages.project_html(page):
        index.commit(storage, index.project_pages(project), lambda p: p, force=True)


def _paged_projects(storage: Storage) -> set[str]:
    names: set[str] = set()
    for info in storage.list(keys.SIMPLE):
        project, _, rest = info.key[len(keys.SIMPLE) :].partition("/")
        if rest:
            names.add(project)
    return names


def _stored_files(storage: Storage) -> dict[str, list[ObjectInfo]]:
    stored: dict[str, list[ObjectInfo]] = defaultdict(list)
    for info in storage.list(keys.FILES):
        project, _, filename = info.key[len(keys.FILES) :].partition("/")
        if "/" not in filename and kind_of(filename):
            stored[project].append(info)
    return stored


class _LazyHistory:
    """The audit replay, read only if some file is missing from its project JSON."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._state: dict[tuple[str, str], Entry] | None = None

    def get(self, key: tuple[str, str]) -> Entry | None:
        if self._state is None:
            self._state = _history(self._storage)
        return self._state.get(key)


def _history(storage: Storage) -> dict[tuple[str, str], Entry]:
    """Replay the audit log (oldest first) into the last known state of each file, and of
    each project's status and tracks (under the names STATUS and TRACKS)."""
    state: dict[tuple[str, str], Entry] = {}
    events = audit.latest(storage, limit=10**9, actions=AUDITED)
    for event in reversed(events):
        project, action = event.get("project"), event.get("action")
        if action == "publish":
            state[(project, event.get("filename"))] = {
                "sha256": event.get("sha256"),
                "upload-time": event.get("upload_time"),
                "_uploader": event.get("uploader"),
                "version": event.get("version"),
                "yanked": False,
            }
        elif action == "delete":
            state.pop((project, event.get("filename")), None)
        elif action == "status":
            state[(project, STATUS)] = {
                "status": event.get("status"),
                "reason": event.get("reason") or "",
            }
        elif action == "tracks":
            state[(project, TRACKS)] = {"url": event.get("url")}
        elif action in ("yank", "unyank"):
            value = (event.get("reason") or True) if action == "yank" else False
            for (p, fn), file_state in state.items():
                if fn in (STATUS, TRACKS):
                    continue
                if p == project and index.same_version(file_state["version"], event.get("version")):
                    file_state["yanked"] = value
    return state


def _build(
    storage: Storage, project: str, info: ObjectInfo, old: dict[str, Entry], history: _LazyHistory
) -> _Built:
    filename = info.key.rsplit("/", 1)[1]
    with tempfile.TemporaryDirectory(prefix="privpi-reindex-") as tmp:
        path = Path(tmp) / filename
        read = _download(storage, info.key, path)
        dist = inspect(path)
    if dist.project != project:
        raise ValidationError(f"{filename} belongs to project {dist.project}, not {project}")
    metadata = dist.metadata if dist.kind == "wheel" else None
    metadata_sha = hashlib.sha256(metadata).hexdigest() if metadata else None
    listed = _known(old.get(filename), dist.sha256)
    known = listed or _known(history.get((project, filename)), dist.sha256)
    upload_time = known.get("upload-time") or _upload_time(read)
    entry = index.file_entry(dist, known.get("_uploader"), upload_time, metadata_sha)
    entry["yanked"] = known.get("yanked", False)
    return _Built(read, entry, metadata, bool(known), dist.metadata)


def _known(candidate: Entry | None, sha256: str) -> Entry:
    """What an old entry or replayed event says, if it describes these very bytes."""
    if candidate is None:
        return {}
    with contextlib.suppress(KeyError, TypeError):  # a damaged old entry tells nothing
        digest = candidate["hashes"]["sha256"] if "hashes" in candidate else candidate["sha256"]
        if digest == sha256:
            return candidate
    return {}


def _upload_time(info: ObjectInfo) -> str:
    return info.last_modified.astimezone(UTC).strftime(index.UPLOAD_TIME_FORMAT)


def _download(storage: Storage, key: str, path: Path) -> ObjectInfo:
    info, chunks = storage.open(key)
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return info
