"""The listing summary: what the listings show of every project, in one object.

``privpi projects``, the console's dashboard and its ``/projects`` page read the root JSON,
this summary (``keys.LISTING``) and one page of the audit log's keys: three requests
whatever the number of projects and files, where reading every project page (or listing
every file) costs one request per project (or per 1,000 files). The summary is not served
to pip: it lives under ``console/``, which the edge never serves (``edge.paths`` maps every
URL under ``packages/``).

Per project it holds an entry computed from one committed page (:func:`entry_of`): files
(listed or held), bytes, latest version, last upload time, status, whether the root lists
it, and the page's ``_serial``.

**Writers do not touch it.** A publish, overwrite, yank, unyank, delete or status change
commits its page and then writes its audit event, whose key names the project
(privpi.audit); that event is the summary's news of the change. **Readers fold**: a listing
reads the root, the summary and the audit log's keys newer than the position the summary
has folded through (privpi.folding: one list request for up to 1,000 events, a window for
events that land late), reads the pages of the projects those events name (overlapped,
:data:`FOLD_LIMIT` at most), and writes the summary back with the new entries and position
through a conditional write (``If-Match`` the ETag read; ``If-None-Match: *`` for the
first). A lost race keeps the computed listing: the summary is a cache, and the winner's
copy is at least as new. Entries are replaced only by ones from newer pages wherever two
copies meet (:func:`record`, :func:`rebuild`).

**Safety nets.** A project the root lists with no entry, or whose root decision came from a
newer page than its entry (the root keeps that serial, ``index.sync_root``), is read from
its page too, up to ``repair_limit`` per read; beyond it the listing says how many projects
it lacks figures for. An audit event that could not be written (``audit.record`` warns; the
change stands) is replaced by a direct update of the project's entry (:func:`refresh`), and
an operation run again to finish an earlier failed run that finds its page already changed
applies the page directly (``index.update_project``). If both the event and that update
fail, the listings show the project as before the change until its next change (whose
event makes readers read the page) or ``privpi reindex``. More changes since the last look
than a look folds: the summary records that it is behind and the listings say so until
``privpi reindex``, which rebuilds it in one write from the pages it commits and the
position of the audit log at its start.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

# index imports this module (its update_project calls refresh): only module names here,
# whose attributes are looked up when called.
from . import folding, index, keys, status
from .errors import NotFound, PreconditionFailed, PrivpiError
from .folding import Position
from .storage import Storage

log = logging.getLogger(__name__)
FORMAT = 2  # 1: before the fold (no position)
CONTENT_TYPE = "application/gzip"  # gzipped JSON: about a tenth of the bytes to move
MAX_ATTEMPTS = 60
# Stale entries a console view repairs (one GET each, overlapped); more means the summary
# was lost or never built: reindex rebuilds it in one pass.
REPAIR_LIMIT = 32
# Changed projects a console view folds (one GET each, 16 at a time); more: the newest
# are folded and the summary says it is behind (privpi reindex).
FOLD_LIMIT = 2_000
# {"format": 2, "projects": {name: entry}, "folded": Position.dump(), "behind": bool}
Summary = dict[str, Any]
Entry = dict[str, Any]
Doc = dict[str, Any]  # a project's JSON page (privpi.index)


@dataclass(frozen=True)
class Row:
    """One project as the listings show it."""

    name: str
    files: int  # listed, or held by a quarantine
    bytes: int  # the distributions' sizes
    latest: str | None  # newest version not yanked (else newest)
    uploaded: str | None  # newest upload time (PEP 700 format)
    status: str  # PEP 792: active, archived, deprecated, quarantined
    known: bool = True  # False: the summary has no figures for it yet (all zero)


@dataclass(frozen=True)
class Listing:
    """The projects the root lists, by name, with the summary's figures."""

    rows: list[Row]
    missing: int = 0  # rows without figures: run privpi reindex
    repaired: int = 0  # entries this read took from the pages (missing or behind)
    folded: int = 0  # projects whose changes this read folded in from their pages
    behind: bool = False  # more changes than a look folds were skipped: run privpi reindex
    stored: bool = False  # this read wrote the summary back

    @property
    def files(self) -> int:
        return sum(r.files for r in self.rows)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.rows)

    def by_size(self) -> list[Row]:
        """Largest first (ties by name)."""
        return sorted(self.rows, key=lambda r: (-r.bytes, r.name))


def entry_of(page: Doc) -> Entry:
    """What the listings show of a project page, with the serial it came from."""
    files = page.get("files", []) + page.get("_held", [])
    versions = sorted({str(f.get("_version")) for f in files}, key=index.version_key)
    kept = {str(f.get("_version")) for f in files if not f.get("yanked")}
    latest = next((v for v in reversed(versions) if v in kept), versions[-1] if versions else None)
    times = [str(f["upload-time"]) for f in files if f.get("upload-time")]
    return {
        "serial": index.serial(page),
        "listed": index.lists_files(page),
        "files": len(files),
        "bytes": sum(int(f.get("size") or 0) for f in files),
        "latest": latest,
        "uploaded": max(times) if times else None,
        "status": status.status_of(page),
    }


def empty() -> Summary:
    return {"format": FORMAT, "projects": {}}


def position(summary: Summary | None) -> Position | None:
    """How far the summary has folded the audit log (None: it has no position)."""
    return Position.load((summary or {}).get("folded"))


def dumps(summary: Summary) -> bytes:
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def loads(body: bytes) -> Summary | None:
    """The summary; None when it is damaged (then it is rebuilt, never trusted)."""
    try:
        summary = json.loads(gzip.decompress(body))
    except (OSError, EOFError, ValueError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("projects"), dict):
        return None
    projects = {n: e for n, e in summary["projects"].items() if _valid(e)}
    loaded = {"format": FORMAT, "projects": projects}
    folded = Position.load(summary.get("folded"))
    if folded is not None:  # a format 1 summary has none: readers fold from the newest keys
        loaded["folded"] = folded.dump()
    if summary.get("behind") is True:
        loaded["behind"] = True
    return loaded


def _valid(entry: object) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), int) for k in ("serial", "files", "bytes")
    )


def read(storage: Storage) -> tuple[Summary | None, str | None]:
    """(summary, ETag): (None, None) when there is none, (None, ETag) when it is damaged."""
    try:
        blob = storage.read(keys.LISTING)
    except NotFound:
        return None, None
    return loads(blob.body), blob.etag


def _newer(entries: dict[str, Entry], project: str, entry: Entry) -> bool:
    current = entries.get(project)
    return current is None or current["serial"] < entry["serial"]


def _copy(summary: Summary | None) -> Summary:
    # Entries are replaced whole, never edited: a copy of the mapping is enough.
    return {**summary, "projects": dict(summary["projects"])} if summary else empty()


def _write(storage: Storage, summary: Summary, etag: str | None) -> None:
    condition: index.Condition = {"if_match": etag} if etag else {"if_none_match": True}
    storage.write(keys.LISTING, dumps(summary), content_type=CONTENT_TYPE, **condition)


def commit(storage: Storage, change: Callable[[Summary], bool]) -> Summary:
    """Apply change (it edits the summary in place; False: nothing changed) until a
    conditional write of the result succeeds; return the summary written or read."""
    for attempt in range(MAX_ATTEMPTS):
        current, etag = read(storage)
        summary = _copy(current)
        if not change(summary) and current is not None:
            return summary
        try:
            _write(storage, summary, etag)
        except PreconditionFailed:
            index.pause(attempt)
            continue
        return summary
    raise PrivpiError(f"{keys.LISTING} kept changing under {MAX_ATTEMPTS} attempts; try again")


def record(storage: Storage, pages: dict[str, Doc]) -> Summary:
    """Apply committed project pages (name -> page); an entry only gives way to a newer one."""
    entries = {name: entry_of(page) for name, page in pages.items()}

    def change(summary: Summary) -> bool:
        projects = summary["projects"]
        newer = {n: e for n, e in entries.items() if _newer(projects, n, e)}
        projects.update(newer)
        return bool(newer)

    return commit(storage, change)


def apply(storage: Storage, project: str, page: Doc) -> None:
    """Apply project's page to the summary, best effort: a change no audit event tells
    readers of (an earlier failed run finished). The summary is a cache: when this fails,
    the project's next change or privpi reindex brings it right."""
    try:
        record(storage, {project: page})
    except PrivpiError as e:
        log.warning("the listing summary could not be updated for %s: %s", project, e)


def refresh(storage: Storage, project: str) -> None:
    """Apply project's page as it is now to the summary (a change whose audit event could
    not be written, or an earlier failed run finished: no event tells readers of it)."""
    page = _page(storage, project)
    if page is not None:
        record(storage, {project: page})


def rebuild(storage: Storage, decided: dict[str, Doc], start: Position | None) -> Summary:
    """The summary exactly as the pages say, after privpi reindex committed them.

    decided: every project's page as reindex committed it; start: the audit log's position
    before reindex read any page (every change before it is in those pages; readers fold
    the later ones). An entry from a newer page (a commit after reindex's) stays; an entry
    newer than the page has any right to be (a page lost and made anew restarts its
    serial), or of a project with no page, is replaced by what the page says now.
    """
    current, _ = read(storage)
    seen = dict((current or empty())["projects"])
    built = {name: entry_of(page) for name, page in decided.items()}
    doubtful = [n for n, e in seen.items() if n not in built or e["serial"] > built[n]["serial"]]
    now = {n: _page(storage, n) for n in doubtful}

    def change(summary: Summary) -> bool:
        projects = summary["projects"]
        for name, entry in built.items():
            if name not in projects or projects[name]["serial"] <= entry["serial"]:
                projects[name] = entry  # the same serial too: a damaged entry is mended
        for name, page in now.items():
            if projects.get(name) != seen[name]:
                continue  # changed since we looked: that writer knew better
            if page is None:
                projects.pop(name, None)
            else:
                projects[name] = entry_of(page)
        summary.pop("behind", None)
        summary.pop("folded", None)
        if start is not None:  # events after it are folded again: harmless, never skipped
            summary["folded"] = start.dump()
        return True

    return commit(storage, change)


def _page(storage: Storage, project: str) -> Doc | None:
    try:
        return index.read_project(storage, project)
    except NotFound:
        return None


def load(storage: Storage, repair_limit: int | None = REPAIR_LIMIT) -> Listing:
    """The listing: the root, the summary and the audit log's newest keys (three requests
    when nothing changed), plus a page read per project changed since the summary's
    position or whose entry is missing or behind the root's (repair_limit: at most that
    many of the latter; None: no limit, to the changed ones either)."""
    root = index.read_root(storage)
    summary, etag = read(storage)
    return listing(storage, root, summary, etag, repair_limit)


def changes(storage: Storage, summary: Summary | None) -> folding.Changes:
    """What the audit log says changed since the summary's position (one list request)."""
    return folding.since(storage, position(summary))


def listing(
    storage: Storage,
    root: Doc,
    summary: Summary | None,
    etag: str | None,
    repair_limit: int | None = REPAIR_LIMIT,
    changed: folding.Changes | None = None,
) -> Listing:
    """The listing from a root and a summary (and its ETag) already read (the console
    caches both), with the changes since the summary's position folded in and the summary
    written back when they changed it; changed: those changes when already looked up."""
    changed = changed or changes(storage, summary)
    fold_limit = None if repair_limit is None else FOLD_LIMIT
    folded = changed.projects[:fold_limit]
    entries = dict((summary or empty())["projects"])
    names = sorted({canonicalize_name(str(p["name"])) for p in root.get("projects", [])})
    stale = [n for n in _stale(names, root.get("_serials", {}), entries) if n not in folded]
    if repair_limit is not None and len(stale) > repair_limit:
        stale = []
    pages = _read_pages(storage, folded + stale)
    for name, page in pages.items():
        if page is None:
            entries.pop(name, None)  # no page: nothing to show (the root lists none)
        else:
            entries[name] = entry_of(page)
    behind = bool((summary or {}).get("behind")) or not changed.complete
    behind = behind or len(folded) < len(changed.projects)
    new = {**_copy(summary), "projects": entries}
    if changed.position is not None:
        new["folded"] = changed.position.dump()
    if behind:
        new["behind"] = True
    stored = (pages or changed.position != position(summary)) and _store(storage, new, etag)
    rows = [_row(n, entries.get(n)) for n in names]
    return Listing(
        rows, sum(not r.known for r in rows), len(stale), len(folded), behind, bool(stored)
    )


def _stale(names: Iterable[str], serials: dict[str, int], entries: dict[str, Entry]) -> list[str]:
    return [n for n in names if n not in entries or entries[n]["serial"] < serials.get(n, 0)]


def _read_pages(storage: Storage, names: list[str]) -> dict[str, Doc | None]:
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
        return dict(zip(names, pool.map(lambda n: _page(storage, n), names), strict=True))


def _store(storage: Storage, summary: Summary, etag: str | None) -> bool:
    """Write the folded summary over the one read (best effort: the figures are shown
    either way, and a lost race means another reader stored a copy as new)."""
    try:
        _write(storage, summary, etag)
    except PreconditionFailed:
        return False
    except PrivpiError as e:  # read-only credentials, a fault: the next reader folds again
        log.warning("the listing summary could not be stored: %s", e)
        return False
    return True


def _row(name: str, entry: Entry | None) -> Row:
    if entry is None:
        return Row(name, 0, 0, None, None, "active", known=False)
    return Row(
        name,
        entry["files"],
        entry["bytes"],
        entry.get("latest"),
        entry.get("uploaded"),
        str(entry.get("status") or "active"),
    )
