"""The audit log: one small JSON object per event under ``config/audit/``.

One object per event means appends never conflict. Keys start with an inverted
millisecond timestamp, so a plain prefix listing (in key order) yields the newest first
and reading the latest N events costs one list request, however long the log is. Keys end
with the event's action and, for an event about a project, the project's canonical name
(``config/audit/<inverted ms>-<random>-<action>[-<project>].json``; actions are ``[a-z.]``
and canonical names ``[a-z0-9-]``, so the key parses one way). So counting one kind of
event over a period costs one list request per 1,000 events and no reads (``times_since``),
and the listing summary learns which projects changed since it last looked from the keys
alone (privpi.listing); events written before the action was in the key are read.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from .errors import PrivpiError, StorageError
from .keys import AUDIT
from .storage import Storage

log = logging.getLogger(__name__)

_MAX_MS = 10**14  # far beyond year 5000, keeps keys fixed-width
_ACTION = re.compile(r"[a-z][a-z.]*")
_PROJECT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a canonical name (packaging)
# <inverted ms>-<random>[-<action>[-<project>]].json; older events lack the project part
# (and the oldest the action part)
_KEY = re.compile(r"(\d{14})-([0-9a-f]+)(?:-([a-z][a-z.]*)(?:-([a-z0-9-]+))?)?\.json")
# Bounds of times_since: at most this many keys listed (a ListObjectsV2 request returns up to
# 1,000 keys, in ascending key order: https://docs.aws.amazon.com/AmazonS3/latest/API/
# API_ListObjectsV2.html, so 20 requests) and this many older-format events read (a GET each).
MAX_LISTED = 20_000
MAX_READS = 200


def key_for(ms: int, action: str, project: str | None = None) -> str:
    """The key of an event of ``action`` at ``ms`` milliseconds since the epoch, about
    ``project`` (its canonical name goes in the key) or about no project."""
    if not _ACTION.fullmatch(action):
        raise ValueError(f"invalid audit action {action!r}")
    name = "" if project is None else _canonical(project)
    if project is not None and not _PROJECT.fullmatch(name):
        raise ValueError(f"invalid project name {project!r} for an audit key")
    suffix = f"-{name}" if name else ""
    return f"{AUDIT}{_MAX_MS - ms:014d}-{secrets.token_hex(4)}-{action}{suffix}.json"


def _canonical(project: str) -> str:
    if _PROJECT.fullmatch(project):
        return project  # as privpi passes them: no need to load packaging (the users
    # commands import this module and start fast without it)
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    return canonicalize_name(project)


@dataclass(frozen=True)
class Key:
    """What an event's key says: when (ms since the epoch), its id (``<inverted ms>-<random>``,
    unique), and the action and project when the key names them (older keys do not)."""

    ms: int
    id: str
    action: str | None
    project: str | None


def parse_key(key: str) -> Key | None:
    """The parts of an audit event's key; None for anything else under the prefix."""
    match = _KEY.fullmatch(key[len(AUDIT) :]) if key.startswith(AUDIT) else None
    if match is None:
        return None
    return Key(_MAX_MS - int(match[1]), f"{match[1]}-{match[2]}", match[3], match[4])


def record(storage: Storage, action: str, actor: str | None, **details: object) -> None:
    """Append one event; actor is the user (or 'cli') who did it.

    Called after the change is stored: if the event cannot be written, the change stands,
    so this warns (naming the event) instead of reporting the change as failed. An event
    about a project (``project=`` among the details) names it in its key: that is how the
    listing summary learns of the change; when the event cannot be written, the project's
    page is applied to the summary directly instead (privpi.listing.refresh), so the
    listings still show the change.
    """
    now_ms = int(time.time() * 1000)
    project = details.get("project")
    project = str(project) if project is not None else None
    event = {
        "time": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "action": action,
        "actor": actor or "cli",
        **details,
    }
    try:
        storage.write(
            key_for(now_ms, action, project),
            json.dumps(event, sort_keys=True).encode(),
            content_type="application/json",
        )
    except StorageError as e:
        log.warning(
            "the change was made, but its audit event %s could not be written: %s", event, e
        )
        if project is not None:
            _refresh_listing(storage, project)


def _refresh_listing(storage: Storage, project: str) -> None:
    # Imported on this rare path only: the fast users commands import this module.
    from . import listing  # noqa: PLC0415

    try:
        listing.refresh(storage, _canonical(project))
    except PrivpiError as e:
        log.warning(
            "the listings may show %s as it was before this change until its next change "
            "or privpi reindex: the listing summary could not be updated either: %s",
            project,
            e,
        )


def latest(
    storage: Storage, limit: int = 50, actions: set[str] | None = None
) -> list[dict[str, Any]]:
    """The newest events first, optionally only the given actions."""
    return list(islice(_events(storage, actions), limit))


def _events(storage: Storage, actions: set[str] | None) -> Iterator[dict[str, Any]]:
    for info in storage.list(AUDIT):
        event = _read(storage, info.key)
        if event is not None and (actions is None or event.get("action") in actions):
            yield event


def _read(storage: Storage, key: str) -> dict[str, Any] | None:
    try:
        event = json.loads(storage.read(key).body)
    except ValueError:
        return None  # a damaged event must not hide the rest of the log
    return event if isinstance(event, dict) else None


@dataclass(frozen=True)
class Window:
    """The times of one action's events back to ``since``, newest first.

    ``complete`` is False when a bound (MAX_LISTED keys, MAX_READS older-format events)
    stopped the reading early: then only the events at or after ``reached`` were counted.
    """

    times: list[datetime]
    complete: bool
    reached: datetime


def times_since(
    storage: Storage,
    action: str,
    since: datetime,
    max_listed: int = MAX_LISTED,
    max_reads: int = MAX_READS,
) -> Window:
    """When the events of ``action`` at or after ``since`` happened: from the keys alone,
    reading only events of the older format (no action in their key), within the bounds."""
    since_ms = int(since.timestamp() * 1000)
    times: list[datetime] = []
    listed = reads = 0
    reached_ms = int(time.time() * 1000)
    # islice: the listing stops at the bound, so S3 is never asked for a page past it
    for info in islice(storage.list(AUDIT), max_listed):
        listed += 1
        parsed = parse_key(info.key)
        if parsed is None:
            continue  # not an event (a stray object): it counts for nothing
        ms = parsed.ms
        if ms < since_ms:
            return Window(times, True, since)
        kind = parsed.action
        if kind is None:
            if reads >= max_reads:
                return Window(times, False, _at(reached_ms))
            reads += 1
            kind = (_read(storage, info.key) or {}).get("action")
        if kind == action:
            times.append(_at(ms))
        reached_ms = ms
    if listed < max_listed:  # the whole log is younger than since
        return Window(times, True, since)
    return Window(times, False, _at(reached_ms))


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
