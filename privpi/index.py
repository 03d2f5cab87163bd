"""The index model: PEP 691 JSON dicts (the truth) and the one way they change.

The project JSON at ``packages/simple/<project>/index.json`` is the source of truth for that
project's files; the HTML page beside it is its rendering; the root pages list the projects
whose JSON lists files. The protocol (docs/protocol.md has the whole argument):

1. **One commit for every change.** Publish, overwrite, yank, unyank, delete and reindex all
   change a page through :func:`commit`: read the JSON and its ETag, apply the change to a
   copy, write the HTML rendered from the new dict, then write the JSON with ``If-Match``
   (``If-None-Match: *`` when creating) and a ``_serial`` one higher; on 412 start over after
   a jittered pause. Pages are never removed: a project whose files are all deleted keeps an
   empty page.
2. **The last HTML is the last JSON's.** Whoever commits the last JSON wrote its HTML before
   committing, and any HTML written after that belongs to a writer whose own commit then
   fails. Such a writer either writes again and commits, or - when its retry finds nothing
   left to do, refuses, or storage fails - *settles*: it commits the current JSON once more
   (serial + 1), its HTML first. So the last HTML written is always the rendering of the
   last JSON committed, even after lost races, refusals and faults (a settle that storage
   refuses too is repaired by running the same operation again, or by reindex).
3. **The root follows the newest page.** The root JSON keeps, per project, the serial of
   the project page its listing decision came from (``_serials``); a decision from an older
   page is ignored, so a publish and a delete racing over a project's last file end with the
   newest page's answer, without anyone reading the project page again.
4. **Deleted names are recorded, bytes go last.** A delete commits the removal and a record
   per name (``_deleted``: sha256 and time) before removing any byte, so no page lists a
   missing file, a publish in flight for the name is refused at its commit, reindex never
   lists it again, and the name is refused for :data:`GRACE` seconds (a removal request may
   still be on its way) - after that only the same bytes (or ``--overwrite``) may return.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import random
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from packaging.version import InvalidVersion, Version

from . import keys, listing, pages
from .distributions import SDIST_PKG_INFO
from .errors import NotFound, PreconditionFailed, PrivpiError, ValidationError
from .storage import Blob, Storage

if TYPE_CHECKING:
    from .distributions import Distribution

API_VERSION = "1.4"  # PEP 792 (project status); 1.2-1.3's optional fields are omitted
MAX_ATTEMPTS = 60
UPLOAD_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # PEP 700's own example format
# A JSON page as parsed (a project's PEP 691 page or the root), and one file entry of a
# project page: JSON objects whose shapes the functions below keep.
Doc = dict[str, Any]
Entry = dict[str, Any]
# The longest a step of an operation may take, a request still on its way to S3 included:
# a stored file younger than this may be an upload in flight (never listed by reindex), and
# a deleted file name is refused for this long (a removal of ours may still arrive).
GRACE = 3600
PAUSE_FLOOR = 0.005  # seconds: the shortest scale of a pause after a lost race (pause)
# seconds: the longest pause after a lost race. A commit is a few requests, so racing writers
# pass in turn within fractions of a second; a longer pause leaves the page idle while its
# writer sleeps. 20 publishers of one project (bench/concurrent_publish.py, 2 cores, moto):
# 5.9-8.3 s with a 1 s cap, 3.8-5.3 s with 0.25 s, 4.0-4.5 s with 0.4 s (and the least CPU).
PAUSE_CAP = 0.4


def now() -> str:
    return datetime.now(UTC).strftime(UPLOAD_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, UPLOAD_TIME_FORMAT).replace(tzinfo=UTC)


def empty_project(project: str) -> Doc:
    return {"meta": {"api-version": API_VERSION}, "name": project, "files": [], "versions": []}


def empty_root() -> Doc:
    return {"meta": {"api-version": API_VERSION}, "projects": []}


def file_url(project: str, filename: str) -> str:
    # Relative to /simple/<project>/ (and to its index.json): works behind any host name.
    return f"../../files/{project}/{filename}"


def file_entry(
    dist: Distribution, uploader: str | None, upload_time: str, metadata_sha256: str | None
) -> Entry:
    """The PEP 691/700 entry for a distribution, plus our private _version/_uploader."""
    core: dict[str, str] | bool = {"sha256": metadata_sha256} if metadata_sha256 else False
    return {
        "filename": dist.filename,
        "url": file_url(dist.project, dist.filename),
        "hashes": {"sha256": dist.sha256},
        "requires-python": dist.requires_python,
        "core-metadata": core,
        "dist-info-metadata": core,  # PEP 658's original name, read by pip < 23.3
        "yanked": False,
        "size": dist.size,
        "upload-time": upload_time,
        "_version": dist.version,
        "_uploader": uploader,
    }


def version_key(text: str) -> tuple[int, Version, str]:
    """The one version order: PEP 440's; a string that is not a version sorts below all
    versions (as pip's old LegacyVersion did), so newest-first lists show it last."""
    try:
        return (1, Version(text), text)
    except InvalidVersion:
        return (0, Version("0"), text)


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality ("1.0" is "1.0.0"); strings that are not versions must be equal."""
    try:
        return Version(str(a)) == Version(str(b))
    except InvalidVersion:
        return str(a) == str(b)


def normalized(page: Doc) -> Doc:
    """Stable order: files by version then filename; versions ascending (PEP 700)."""
    files = sorted(page["files"], key=lambda f: (version_key(f["_version"]), f["filename"]))
    versions = sorted({f["_version"] for f in files}, key=version_key)
    meta = {**page.get("meta", {}), "api-version": API_VERSION}  # PEP 708 tracks stay
    return {**page, "meta": meta, "files": files, "versions": versions}


def dumps(page: Doc) -> bytes:
    return (json.dumps(page, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _loads(body: bytes, key: str) -> Doc:
    try:
        page = json.loads(body)
    except ValueError:
        raise PrivpiError(f"{key} is not valid JSON; run `privpi reindex` to rebuild it") from None
    if not isinstance(page, dict):
        raise PrivpiError(f"{key} is not a JSON object; run `privpi reindex` to rebuild it")
    return page


def read_project(storage: Storage, project: str) -> Doc:
    """The project's PEP 691 JSON dict; NotFound if it has none."""
    key = keys.project_json(project)
    return _loads(storage.read(key).body, key)


def read_root(storage: Storage) -> Doc:
    """The root PEP 691 JSON dict (an empty one if nothing was published yet)."""
    try:
        return _loads(storage.read(keys.ROOT_JSON).body, keys.ROOT_JSON)
    except NotFound:
        return empty_root()


def core_metadata(storage: Storage, project: str, filename: str) -> bytes:
    """A file's core metadata: the wheel's .metadata file, or PKG-INFO from a stored sdist."""
    if filename.endswith(".whl"):
        return storage.read(keys.metadata_key(project, filename)).body
    body = storage.read(keys.file_key(project, filename)).body
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            names = [n for n in zf.namelist() if SDIST_PKG_INFO.match(n)]
            if names:
                return zf.read(names[0])
    else:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tf:
            for member in tf:
                if SDIST_PKG_INFO.match(member.name) and member.isfile():
                    f = tf.extractfile(member)
                    if f is not None:  # always a file object for a regular file
                        return f.read()
    raise NotFound(f"{keys.file_key(project, filename)} PKG-INFO")


class Condition(TypedDict, total=False):
    """A conditional write: over this ETag, or only where nothing is."""

    if_match: str
    if_none_match: bool


def write_page(storage: Storage, key: str, body: bytes, **condition: Unpack[Condition]) -> str:
    return storage.write(
        key,
        body,
        content_type=keys.content_type(key),
        cache_control=keys.cache_control(key),
        **condition,
    )


def pause(attempt: int, scale: float = 0.02) -> None:
    """Full jitter: racing writers spread out instead of colliding again in lockstep.

    scale: about how long one attempt takes (a commit passes the one it just lost), so the
    pauses fit the storage's speed: tens of milliseconds on a quick one, longer under load;
    never below PAUSE_FLOOR (a test on a folder, whose attempts take a millisecond, lowers it).
    """
    time.sleep(random.uniform(0, min(PAUSE_CAP, max(PAUSE_FLOOR, scale) * 2**attempt)))


def serial(page: Doc | None) -> int:
    """How many commits a page has seen (0 for none, or a page from before serials)."""
    return int((page or {}).get("_serial", 0))


@dataclass(frozen=True)
class Page:
    """One JSON page and the HTML rendered from it: the unit a commit changes."""

    json_key: str
    html_key: str
    render: Callable[[Doc], bytes]
    empty: Callable[[], Doc]
    normalize: Callable[[Doc], Doc]


def project_pages(project: str) -> Page:
    return Page(
        keys.project_json(project),
        keys.project_html(project),
        pages.project_html,
        lambda: empty_project(project),
        normalized,
    )


ROOT = Page(keys.ROOT_JSON, keys.ROOT_HTML, pages.root_html, empty_root, lambda page: page)


def _read(storage: Storage, key: str) -> tuple[Doc | None, str | None]:
    try:
        blob = storage.read(key)
    except NotFound:
        return None, None
    return _loads(blob.body, key), blob.etag


class _Moved(Exception):
    """Our HTML was refused and the JSON is no longer the one we read: a lost race, found
    before writing anything more. Carries the JSON as it is now, for the next attempt."""

    def __init__(self, blob: Blob):
        super().__init__()
        self.blob = blob


class _Busy(Exception):
    """Our HTML was refused but the JSON is still the one we read: most likely another
    writer between its HTML and its JSON. Worth one pause before writing over its HTML."""


def commit(
    storage: Storage,
    page: Page,
    change: Callable[[Doc], Doc | None],
    force: bool = False,
    repair: bool = False,
) -> tuple[Doc | None, Doc | None]:
    """Apply change to a JSON page until it commits; return (before, after).

    change gets a copy of the current dict (an empty one when there is none) and returns
    the new dict, or None to leave everything as it is; it may raise to refuse. The HTML
    is written from the new dict first, then the JSON with If-Match (If-None-Match when
    creating), with a serial one higher. A call that wrote an HTML but ends without
    committing it (a lost race, then nothing left to do or a refusal; or a storage error)
    settles: it commits the current JSON again, so the last HTML written is always the
    last committed JSON's (see the module docstring). force commits an unchanged dict.
    repair: when there is nothing to change, check the HTML is the JSON's rendering and
    settle if not (one GET; for operations that may be finishing an earlier failed run).
    """
    wrote_html = False
    fresh: Blob | None = None  # the JSON as a lost race found it: no need to read it again
    waited: list[str | None] = []  # the JSON ETags a busy HTML made us wait on once
    try:
        for attempt in range(MAX_ATTEMPTS):
            started = time.monotonic()
            if fresh is None:
                before, etag = _read(storage, page.json_key)
            else:
                before, etag, fresh = _loads(fresh.body, page.json_key), fresh.etag, None
            try:
                after = change(copy.deepcopy(before) if before else page.empty())
            except ValidationError:
                if not wrote_html and before is not None:
                    check_rendering(storage, page, before)
                raise
            after = before if after is None else page.normalize(after)
            if _unchanged(before, after) and not force:
                if wrote_html:  # our HTML lost to a newer JSON: make the newest the last
                    wrote_html = False
                    return before, _settle(storage, page)
                if repair and before is not None and not _html_matches(storage, page, before):
                    return before, _settle(storage, page)
                return before, before
            after = {**(after or page.empty()), "_serial": serial(before) + 1}
            wrote_html = True
            try:
                _write_html(storage, page, before, after, etag, wait=etag not in waited)
                _write_json(storage, page.json_key, after, etag)
            except _Moved as moved:  # the newest JSON is in hand: no need to read it again
                fresh = moved.blob
                pause(attempt, time.monotonic() - started)
                continue
            except _Busy:
                waited.append(etag)
                pause(attempt, time.monotonic() - started)
                continue
            except PreconditionFailed:
                pause(attempt, time.monotonic() - started)
                continue
            wrote_html = False
            return before, after
        raise PrivpiError(
            f"{page.json_key} kept changing under {MAX_ATTEMPTS} attempts to update it; try again"
        )
    except BaseException as error:
        if wrote_html and not force:  # a run of the same command again repairs
            _settle_after(storage, page, error)
        raise


def _settle_after(storage: Storage, page: Page, error: BaseException) -> None:
    """Settle after a commit that wrote an HTML ends without committing it. If the settle
    fails too, the HTML may be stale: a refusal must then not be the answer (nobody runs
    a refused command again), so it becomes a failure that says to run it again."""
    try:
        _settle(storage, page)
    except PrivpiError as e:
        if isinstance(error, ValidationError):
            raise PrivpiError(
                f"{error.message}; setting {page.html_key} right after that failed "
                f"({e.message}): run the same command again to finish"
            ) from error


def check_rendering(storage: Storage, page: Page, current: Doc) -> None:
    """On a refusal: the HTML must be the rendering of current, the JSON the refusal read
    (one GET), else settle. A refusal never ends with a stale HTML another run of it (or
    any writer that failed to settle) left, so a command run again after a failure ends
    with pages that agree, even when its second run is refused."""
    if not _html_matches(storage, page, current):
        _settle(storage, page)


def _write_html(
    storage: Storage,
    page: Page,
    before: Doc | None,
    after: Doc,
    json_etag: str | None,
    wait: bool = True,
) -> None:
    """Write after's HTML over the one expected there, never blindly.

    A write held up in the network can arrive after its sender gave up and retried, even
    after later commits: made conditional on the ETag of the HTML it replaces, it then finds
    another HTML and fails. The serial in every HTML makes each commit's bytes (and S3's MD5
    ETag) unique. The expected ETag is the MD5 of before's rendering, which costs nothing;
    when the HTML is not that (a stray HTML, or ETags that are not MD5s, as with SSE-KMS)
    one HEAD learns the real one. PreconditionFailed: another writer wrote meanwhile.

    Before that HEAD, a conditional GET of the JSON (json_etag: the one we read) tells a
    lost race from a stray HTML: when the JSON moved on, our commit is bound to fail, so
    _Moved hands the new JSON to the next attempt instead (under 20 racing publishers this
    saves a HEAD, an HTML PUT, a failing JSON PUT, the pause and the GET). When it has not,
    another writer is most likely about to commit: with wait, _Busy asks for one pause
    first; the HTML is written over only when the same JSON is still there after it (a
    stray HTML, left by a writer that stopped half way).
    """
    body = page.render(after)
    mine = _md5_etag(body)
    expected: Condition = (
        {"if_match": _md5_etag(page.render(before))} if before else {"if_none_match": True}
    )
    try:
        write_page(storage, page.html_key, body, **expected)
        return
    except PreconditionFailed:
        pass
    try:
        moved = storage.read_if_changed(page.json_key, json_etag)
    except NotFound:  # still no JSON: a stray HTML, or a creator's HTML not committed yet
        moved = None
    if moved is not None:
        raise _Moved(moved)
    if wait:
        raise _Busy()
    try:
        current: Condition = {"if_match": storage.head(page.html_key).etag}
    except NotFound:
        current = {"if_none_match": True}
    if current.get("if_match") == mine:
        return  # ours, written by an attempt whose answer was lost
    write_page(storage, page.html_key, body, **current)


def _html_matches(storage: Storage, page: Page, current: Doc) -> bool:
    try:
        return storage.read(page.html_key).body == page.render(current)
    except NotFound:
        return False


def _md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def _unchanged(before: Doc | None, after: Doc | None) -> bool:
    """The same page but for its serial (a change may rebuild the dict without it)."""
    strip = ("_serial",)
    if before is None or after is None:
        return before is after
    return {k: v for k, v in before.items() if k not in strip} == {
        k: v for k, v in after.items() if k not in strip
    }


def _write_json(storage: Storage, key: str, page: Doc, etag: str | None) -> None:
    condition: Condition = {"if_match": etag} if etag else {"if_none_match": True}
    write_page(storage, key, dumps(page), **condition)


def _settle(storage: Storage, page: Page) -> Doc | None:
    """Commit the current JSON again (serial + 1), its HTML written first."""
    return commit(storage, page, lambda current: current, force=True)[1]


def update_project(
    storage: Storage,
    project: str,
    change: Callable[[Doc], Doc | None],
    repair: bool = False,
    summarize: bool = True,
) -> tuple[Doc | None, Doc | None]:
    """Apply change to the project JSON until it commits; return (before, after).

    before is None for a new project. A page is never removed: a project whose files
    are all deleted keeps a page with no files (and its deleted-file records).
    summarize: when the commit changed nothing (this may be an earlier run, whose audit
    event was never written, run again to finish), apply the page to the listing summary
    directly (privpi.listing.apply; one GET when it is current): otherwise readers learn
    of a change from its audit event (privpi.listing). reindex rebuilds the summary itself.
    """
    before, after = commit(storage, project_pages(project), change, repair=repair)
    if summarize and after is not None and _unchanged(before, after):
        listing.apply(storage, project, after)
    return before, after


def sync_root(storage: Storage, project: str, page: Doc | None, repair: bool = False) -> Doc | None:
    """Make the root list project exactly when page lists files, unless it knows a newer page.

    The root remembers the serial of the project page each listing decision came from, so
    decisions applied out of order (a publish and a delete of the last file racing) end
    with the newest page's, and nobody has to read the project page again. A quarantined
    project's held files count as files (it stays private), and the same decision puts it
    in the root's ``_quarantined`` list, whose files the authenticator refuses.
    """
    listed, number = lists_files(page), serial(page)

    def change(root: Doc) -> Doc | None:
        serials = root.get("_serials", {})
        if serials.get(project, -1) >= number:
            return None
        names = {p["name"] for p in root["projects"]} - {project}
        names |= {project} if listed else set()
        held = set(root.get("_quarantined", [])) - {project}
        held |= {project} if quarantined(page) else set()
        new = with_projects(root, names, {**serials, project: number})
        return with_quarantined(new, held)

    return commit(storage, ROOT, change, repair=repair)[1]


def root_page(
    names: Iterable[str], serials: dict[str, int] | None = None, claims: Iterable[str] = ()
) -> Doc:
    """The root dict; ``_serials`` (see sync_root) and ``_claims`` (privpi.claims) only when
    there are any."""
    root = {**empty_root(), "projects": [{"name": n} for n in sorted(names)]}
    if serials:
        root["_serials"] = dict(sorted(serials.items()))
    if claims:
        root["_claims"] = sorted(claims)
    return root


def with_projects(root: Doc, names: Iterable[str], serials: dict[str, int]) -> Doc:
    """root listing names, its other keys (claims, and what later features add) kept."""
    new = {**root, "projects": [{"name": n} for n in sorted(names)]}
    if serials:
        new["_serials"] = dict(sorted(serials.items()))
    return new


def with_quarantined(root: Doc, held: Iterable[str]) -> Doc:
    """root with the quarantined projects (privpi.status); none: no ``_quarantined``."""
    new = {k: v for k, v in root.items() if k != "_quarantined"}
    return {**new, "_quarantined": sorted(held)} if held else new


def quarantined(page: Doc | None) -> bool:
    """A quarantined page keeps its files' entries in ``_held`` (privpi.status)."""
    return bool(page) and "_held" in (page or {})


def lists_files(page: Doc | None) -> bool:
    """Whether the root lists the project: it has files, listed or held."""
    return bool(page) and bool((page or {}).get("files") or (page or {}).get("_held"))


def with_claims(root: Doc, claimed: Iterable[str]) -> Doc:
    """root with the claimed names (privpi.claims); no ``_claims`` when there are none."""
    new = {k: v for k, v in root.items() if k != "_claims"}
    return {**new, "_claims": sorted(claimed)} if claimed else new


def update_root(
    storage: Storage,
    add: str | None = None,
    remove: str | None = None,
    claims: Callable[[], list[str]] | None = None,
) -> Doc:
    """Add or remove one project in the root, or only make sure it exists, in one commit.

    claims: read on every attempt, the claimed names to publish (privpi.claims); without
    it the root keeps the ones it has. Publish and delete use sync_root instead.
    """

    def change(root: Doc) -> Doc:
        names = {p["name"] for p in root["projects"]}
        names = (names | {add}) if add else names - {remove}
        new = with_projects(root, names, root.get("_serials", {}))
        return with_claims(new, claims()) if claims else new

    return commit(storage, ROOT, change)[1] or empty_root()


def parse_version(version: str | None) -> Version | None:
    """A requested version (None: any), or ValidationError naming it."""
    try:
        return None if version is None else Version(version)
    except InvalidVersion:
        raise ValidationError(f"{version!r} is not a valid version") from None


def find_files(page: Doc, version: str | None = None, filename: str | None = None) -> list[Entry]:
    """The entries of page matching a version (PEP 440 equality) and/or a filename."""
    parse_version(version)  # refuse a malformed one by name
    found: list[Entry] = []
    for entry in page["files"]:
        if filename is not None and entry["filename"] != filename:
            continue
        if version is not None and not same_version(entry["_version"], version):
            continue
        found.append(entry)
    return found
