"""The index model: PEP 691 JSON dicts (the truth) and their conditional updates.

The project JSON at ``packages/simple/<project>/index.json`` is the source of truth for
that project's files. Each update reads it, changes a copy, renders and writes the HTML from
that copy, then writes the JSON with ``If-Match`` (``If-None-Match: *`` when creating).
On a lost race it starts over after a jittered pause. Writing the HTML *before* the JSON
keeps the pages consistent without a lock: whoever commits the last JSON wrote its HTML
before committing, and every later HTML write belongs to a writer whose commit then fails
and who re-renders from the newer JSON, so the last HTML written is the last JSON's.
"""

from __future__ import annotations

import copy
import io
import json
import random
import tarfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

from packaging.version import InvalidVersion, Version

from . import keys, pages
from .distributions import SDIST_PKG_INFO
from .errors import NotFound, PreconditionFailed, PrivpiError, ValidationError
from .storage import Storage

API_VERSION = "1.1"
MAX_ATTEMPTS = 60
UPLOAD_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # PEP 700's own example format


def now() -> str:
    return datetime.now(UTC).strftime(UPLOAD_TIME_FORMAT)


def empty_project(project: str) -> dict:
    return {"meta": {"api-version": API_VERSION}, "name": project, "files": [], "versions": []}


def empty_root() -> dict:
    return {"meta": {"api-version": API_VERSION}, "projects": []}


def file_url(project: str, filename: str) -> str:
    # Relative to /simple/<project>/ (and to its index.json): works behind any host name.
    return f"../../files/{project}/{filename}"


def file_entry(dist, uploader: str | None, upload_time: str, metadata_sha256: str | None):
    """The PEP 691/700 entry for a distribution, plus our private _version/_uploader."""
    core = {"sha256": metadata_sha256} if metadata_sha256 else False
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


def normalized(page: dict) -> dict:
    """Stable order: files by version then filename; versions ascending (PEP 700)."""
    files = sorted(page["files"], key=lambda f: (version_key(f["_version"]), f["filename"]))
    versions = sorted({f["_version"] for f in files}, key=version_key)
    return {**page, "meta": {"api-version": API_VERSION}, "files": files, "versions": versions}


def dumps(page: dict) -> bytes:
    return (json.dumps(page, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _loads(body: bytes, key: str) -> dict:
    try:
        page = json.loads(body)
    except ValueError:
        raise PrivpiError(f"{key} is not valid JSON; run `privpi reindex` to rebuild it") from None
    if not isinstance(page, dict):
        raise PrivpiError(f"{key} is not a JSON object; run `privpi reindex` to rebuild it")
    return page


def read_project(storage: Storage, project: str) -> dict:
    """The project's PEP 691 JSON dict; NotFound if it has none."""
    key = keys.project_json(project)
    return _loads(storage.read(key).body, key)


def read_root(storage: Storage) -> dict:
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
                    return tf.extractfile(member).read()
    raise NotFound(f"{keys.file_key(project, filename)} PKG-INFO")


def write_page(storage: Storage, key: str, body: bytes, **condition) -> str:
    return storage.write(
        key,
        body,
        content_type=keys.content_type(key),
        cache_control=keys.cache_control(key),
        **condition,
    )


def pause(attempt: int) -> None:
    # Full jitter: racing publishers spread out instead of colliding again in lockstep.
    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))


def update_project(
    storage: Storage, project: str, change: Callable[[dict], dict | None]
) -> tuple[dict | None, dict | None]:
    """Apply change to the project JSON until it commits; return (before, after).

    change gets a copy of the current dict (an empty one when the project is new) and
    returns the new dict, or None to leave everything as it is. before is None for a new
    project. A dict with no files deletes nothing here: the caller decides (see publish).
    """
    key = keys.project_json(project)
    for attempt in range(MAX_ATTEMPTS):
        try:
            blob = storage.read(key)
            before, etag = _loads(blob.body, key), blob.etag
        except NotFound:
            before, etag = None, None
        after = change(copy.deepcopy(before) if before else empty_project(project))
        if after is None:
            return before, before
        after = normalized(after)
        if after == before:
            return before, after
        condition = {"if_match": etag} if etag else {"if_none_match": True}
        write_page(storage, keys.project_html(project), pages.project_html(after))
        try:
            write_page(storage, key, dumps(after), **condition)
        except PreconditionFailed:
            pause(attempt)
            continue
        return before, after
    raise PrivpiError(f"{key} kept changing under {MAX_ATTEMPTS} attempts to update it; try again")


def update_root(
    storage: Storage,
    add: str | None = None,
    remove: str | None = None,
    claims: Callable[[], list[str]] | None = None,
) -> dict:
    """Add or remove one project in the root pages (same protocol as update_project).

    claims: read on every attempt, the claimed names to publish (privpi.claims); without
    it the root keeps the ones it has.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            blob = storage.read(keys.ROOT_JSON)
            before, etag = _loads(blob.body, keys.ROOT_JSON), blob.etag
        except NotFound:
            before, etag = None, None
        names = {p["name"] for p in (before or empty_root())["projects"]}
        names = (names | {add}) - {None} if add else names - {remove}
        after = root_page(names, claims() if claims else (before or {}).get("_claims", []))
        if after == before:
            return after
        condition = {"if_match": etag} if etag else {"if_none_match": True}
        write_page(storage, keys.ROOT_HTML, pages.root_html(after))
        try:
            write_page(storage, keys.ROOT_JSON, dumps(after), **condition)
        except PreconditionFailed:
            pause(attempt)
            continue
        return after
    raise PrivpiError(f"{keys.ROOT_JSON} kept changing; run `privpi reindex` to repair it")


def root_page(names, claims=()) -> dict:
    """The root dict; ``_claims`` (privpi.claims) only when something is claimed."""
    root = {**empty_root(), "projects": [{"name": n} for n in sorted(names)]}
    if claims:
        root["_claims"] = sorted(claims)
    return root


def parse_version(version: str | None) -> Version | None:
    """A requested version (None: any), or ValidationError naming it."""
    try:
        return None if version is None else Version(version)
    except InvalidVersion:
        raise ValidationError(f"{version!r} is not a valid version") from None


def find_files(page: dict, version: str | None = None, filename: str | None = None) -> list:
    """The entries of page matching a version (PEP 440 equality) and/or a filename."""
    parse_version(version)  # refuse a malformed one by name
    found = []
    for entry in page["files"]:
        if filename is not None and entry["filename"] != filename:
            continue
        if version is not None and not same_version(entry["_version"], version):
            continue
        found.append(entry)
    return found
