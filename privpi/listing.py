"""The listing summary: what the listings show of every project, in one object.

``privpi projects``, the console's dashboard and its ``/projects`` page read the root JSON
and this summary (``keys.LISTING``): two GETs whatever the number of projects and files,
where reading every project page (or listing every file) costs one request per project (or
per 1,000 files). The summary is not served to pip: it lives under ``console/``, which the
edge never serves (``edge.paths`` maps every URL under ``packages/``).

Per project it holds an entry computed from one committed page (:func:`entry_of`): files
(listed or held), bytes, latest version, last upload time, status, whether the root lists
it, and the page's ``_serial``. Every page commit (``index.update_project``: publish,
overwrite, yank, unyank, delete, status, tracks) then applies its page here through a
conditional write (``If-Match`` on the ETag read, ``If-None-Match: *`` for the first; on
412, read again and retry), and an entry is only replaced by one from a newer page. So
updates applied late, twice or out of order end with the newest page's figures, and two
writers never lose each other's entries. ``privpi reindex`` rebuilds it from the pages it
commits, in one write.

A crash (or a storage fault that outlasts the retries) between a page commit and the
summary update leaves that project's entry behind: the operation fails and says so, and
running it again, the next change of the project, or a reindex brings the entry up to
date. Readers also repair what they can see cheaply: a project the root lists with no
entry, or whose root decision came from a newer page than its entry (the root keeps that
serial, ``index.sync_root``), is read from its page and written back, up to a bound per
read; beyond it the listing says how many projects it lacks figures for.
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

# index imports this module (its update_project calls after_commit): only module names
# here, whose attributes are looked up when called.
from . import index, keys, status
from .errors import NotFound, PreconditionFailed, PrivpiError
from .storage import Storage

log = logging.getLogger(__name__)
FORMAT = 1
CONTENT_TYPE = "application/gzip"  # gzipped JSON: about a tenth of the bytes to move
MAX_ATTEMPTS = 60
# Stale entries a console view repairs (one GET each, overlapped); more means the summary
# was lost or never built: reindex rebuilds it in one pass.
REPAIR_LIMIT = 32
Summary = dict[str, Any]  # {"format": 1, "projects": {name: entry}}
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
    return {"format": FORMAT, "projects": projects}


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


def commit(storage: Storage, change: Callable[[Summary], bool]) -> Summary:
    """Apply change (it edits the summary in place; False: nothing changed) until a
    conditional write of the result succeeds; return the summary written or read."""
    for attempt in range(MAX_ATTEMPTS):
        current, etag = read(storage)
        # Entries are replaced whole, never edited: a copy of the mapping is enough.
        summary = {**current, "projects": dict(current["projects"])} if current else empty()
        if not change(summary) and current is not None:
            return summary
        condition: index.Condition = {"if_match": etag} if etag else {"if_none_match": True}
        try:
            storage.write(keys.LISTING, dumps(summary), content_type=CONTENT_TYPE, **condition)
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


def after_commit(storage: Storage, project: str, page: Doc) -> None:
    """The summary update that follows every page commit (index.update_project)."""
    try:
        record(storage, {project: page})
    except PrivpiError as e:
        raise PrivpiError(
            f"{project}'s page changed, but the listing summary was not updated ({e.message}); "
            "run the same command again to finish"
        ) from e


def rebuild(storage: Storage, decided: dict[str, Doc]) -> Summary:
    """The summary exactly as the pages say, after privpi reindex committed them.

    decided: every project's page as reindex committed it. An entry from a newer page (a
    commit after reindex's) stays; an entry newer than the page has any right to be (a
    page lost and made anew restarts its serial), or of a project with no page, is
    replaced by what the page says now.
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
        return True

    return commit(storage, change)


def _page(storage: Storage, project: str) -> Doc | None:
    try:
        return index.read_project(storage, project)
    except NotFound:
        return None


def load(storage: Storage, repair_limit: int | None = REPAIR_LIMIT) -> Listing:
    """The listing: the root and the summary (two GETs), plus at most repair_limit page
    reads (None: no limit) for projects whose entry is missing or behind the root's."""
    root = index.read_root(storage)
    summary, _ = read(storage)
    return listing(storage, root, summary, repair_limit)


def listing(
    storage: Storage, root: Doc, summary: Summary | None, repair_limit: int | None = REPAIR_LIMIT
) -> Listing:
    """The listing from a root and a summary already read (the console caches both)."""
    entries = dict((summary or empty())["projects"])
    names = sorted({canonicalize_name(str(p["name"])) for p in root.get("projects", [])})
    stale = _stale(names, root.get("_serials", {}), entries)
    repaired: dict[str, Entry] = {}
    if stale and (repair_limit is None or len(stale) <= repair_limit):
        repaired = _repair(storage, stale)
        entries.update(repaired)
    rows = [_row(n, entries.get(n)) for n in names]
    return Listing(rows, sum(not r.known for r in rows), len(repaired))


def _stale(names: Iterable[str], serials: dict[str, int], entries: dict[str, Entry]) -> list[str]:
    return [n for n in names if n not in entries or entries[n]["serial"] < serials.get(n, 0)]


def _repair(storage: Storage, stale: list[str]) -> dict[str, Entry]:
    """Read the stale projects' pages and write them into the summary (best effort: the
    figures are shown either way)."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        pages = dict(zip(stale, pool.map(lambda n: _page(storage, n), stale), strict=True))
    found = {n: p for n, p in pages.items() if p is not None}
    try:
        if found:
            record(storage, found)
    except PrivpiError as e:  # read-only credentials, a fault: the next reader tries again
        log.warning("the listing summary could not be repaired: %s", e)
    return {n: entry_of(p) for n, p in found.items()}


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
