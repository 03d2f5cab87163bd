"""Rebuild every page from the stored files: the repair path after any accident.

Hashes, sizes and metadata are recomputed from the files themselves. What the files cannot
tell (upload time, uploader, yank state) comes from the current project JSON when it still
describes the same bytes, else from replaying the audit log, else from the file's
last-modified time. So pages that were deleted come back identical to the originals.
Run it while nobody publishes: it writes the pages unconditionally.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from . import audit, claims, index, keys, pages
from .distributions import inspect, kind_of
from .errors import NotFound, PrivpiError, ValidationError
from .storage import ObjectInfo, Storage

AUDITED = {"publish", "yank", "unyank", "delete"}


@dataclass
class ReindexResult:
    projects: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)


def reindex(storage: Storage, progress: Callable[[int, int], None] | None = None):
    """Rebuild all pages; progress(done, total) is called after each file."""
    stored = _stored_files(storage)
    history = _LazyHistory(storage)
    total = sum(len(files) for files in stored.values())
    result, done, names = ReindexResult(), 0, []
    for project, files in sorted(stored.items()):
        old = _old_entries(storage, project)
        entries = []
        for info in files:
            try:
                entries.append(_entry(storage, project, info, old, history))
            except ValidationError as e:  # an invalid file; a storage error aborts the run
                result.problems.append(f"{info.key}: {e.message}")
            done += 1
            if progress:
                progress(done, total)
        if entries:
            page = index.normalized({**index.empty_project(project), "files": entries})
            index.write_page(storage, keys.project_html(project), pages.project_html(page))
            index.write_page(storage, keys.project_json(project), index.dumps(page))
            names.append(project)
            result.files += len(entries)
    _drop_stale_pages(storage, set(names))
    root = index.root_page(names, claims.read(storage))
    index.write_page(storage, keys.ROOT_HTML, pages.root_html(root))
    index.write_page(storage, keys.ROOT_JSON, index.dumps(root))
    result.projects = len(names)
    return result


def _stored_files(storage: Storage) -> dict[str, list[ObjectInfo]]:
    stored: dict[str, list[ObjectInfo]] = defaultdict(list)
    for info in storage.list(keys.FILES):
        project, _, filename = info.key[len(keys.FILES) :].partition("/")
        if "/" not in filename and kind_of(filename):
            stored[project].append(info)
    return stored


def _old_entries(storage: Storage, project: str) -> dict[str, dict]:
    try:
        page = index.read_project(storage, project)
        return {f["filename"]: f for f in page.get("files", [])}
    except (NotFound, PrivpiError, KeyError, TypeError):
        return {}  # missing or damaged: that is what reindex is for


class _LazyHistory:
    """The audit replay, read only if some file is missing from its project JSON."""

    def __init__(self, storage: Storage):
        self._storage, self._state = storage, None

    def get(self, key: tuple[str, str]) -> dict | None:
        if self._state is None:
            self._state = _history(self._storage)
        return self._state.get(key)


def _history(storage: Storage) -> dict[tuple[str, str], dict]:
    """Replay the audit log (oldest first) into the last known state of each file."""
    state: dict[tuple[str, str], dict] = {}
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
        elif action in ("yank", "unyank"):
            value = (event.get("reason") or True) if action == "yank" else False
            for (p, _fn), file_state in state.items():
                if p == project and index.same_version(file_state["version"], event.get("version")):
                    file_state["yanked"] = value
    return state


def _entry(storage, project: str, info: ObjectInfo, old: dict, history: dict) -> dict:
    filename = info.key.rsplit("/", 1)[1]
    with tempfile.TemporaryDirectory(prefix="privpi-reindex-") as tmp:
        path = Path(tmp) / filename
        _download(storage, info.key, path)
        dist = inspect(path)
    if dist.project != project:
        raise ValidationError(f"{filename} belongs to project {dist.project}, not {project}")
    metadata_sha = None
    if dist.kind == "wheel":
        key = keys.metadata_key(project, filename)
        index.write_page(storage, key, dist.metadata)
        metadata_sha = hashlib.sha256(dist.metadata).hexdigest()
    known = _known(old.get(filename), dist.sha256) or _known(
        history.get((project, filename)), dist.sha256
    )
    upload_time = known.get("upload-time") or _upload_time(info)
    entry = index.file_entry(dist, known.get("_uploader"), upload_time, metadata_sha)
    entry["yanked"] = known.get("yanked", False)
    return entry


def _known(candidate: dict | None, sha256: str) -> dict:
    """What an old entry or replayed event says, if it describes these very bytes."""
    with contextlib.suppress(KeyError, TypeError):
        digest = candidate["hashes"]["sha256"] if "hashes" in candidate else candidate["sha256"]
        if digest == sha256:
            return candidate
    return {}


def _upload_time(info: ObjectInfo) -> str:
    return info.last_modified.astimezone(UTC).strftime(index.UPLOAD_TIME_FORMAT)


def _download(storage: Storage, key: str, path: Path) -> None:
    _info, chunks = storage.open(key)
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)


def _drop_stale_pages(storage: Storage, keep: set[str]) -> None:
    for info in storage.list(keys.SIMPLE):
        project, _, rest = info.key[len(keys.SIMPLE) :].partition("/")
        if rest and project not in keep:
            storage.delete(info.key)
