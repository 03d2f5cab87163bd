"""The audit log: one small JSON object per event under ``config/audit/``.

One object per event means appends never conflict. Keys start with an inverted
millisecond timestamp, so a plain prefix listing (in key order) yields the newest first
and reading the latest N events costs one list request, however long the log is. Keys end
with the event's action (``config/audit/<inverted ms>-<random>-<action>.json``), so
counting one kind of event over a period costs one list request per 1,000 events and no
reads (``times_since``); events written before the action was in the key are read.
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

from .errors import StorageError
from .keys import AUDIT
from .storage import Storage

log = logging.getLogger(__name__)

_MAX_MS = 10**14  # far beyond year 5000, keeps keys fixed-width
_ACTION = re.compile(r"[a-z][a-z.]*")
# <inverted ms>-<random>[-<action>].json; the action part is absent in older events
_KEY = re.compile(r"(\d{14})-[0-9a-f]+(?:-([a-z][a-z.]*))?\.json")
# Bounds of times_since: at most this many keys listed (a ListObjectsV2 request returns up to
# 1,000 keys, in ascending key order: https://docs.aws.amazon.com/AmazonS3/latest/API/
# API_ListObjectsV2.html, so 20 requests) and this many older-format events read (a GET each).
MAX_LISTED = 20_000
MAX_READS = 200


def key_for(ms: int, action: str) -> str:
    """The key of an event of ``action`` at ``ms`` milliseconds since the epoch."""
    if not _ACTION.fullmatch(action):
        raise ValueError(f"invalid audit action {action!r}")
    return f"{AUDIT}{_MAX_MS - ms:014d}-{secrets.token_hex(4)}-{action}.json"


def record(storage: Storage, action: str, actor: str | None, **details: object) -> None:
    """Append one event; actor is the user (or 'cli') who did it.

    Called after the change is stored: if the event cannot be written, the change stands,
    so this warns (naming the event) instead of reporting the change as failed.
    """
    now_ms = int(time.time() * 1000)
    event = {
        "time": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "action": action,
        "actor": actor or "cli",
        **details,
    }
    try:
        storage.write(
            key_for(now_ms, action),
            json.dumps(event, sort_keys=True).encode(),
            content_type="application/json",
        )
    except StorageError as e:
        log.warning(
            "the change was made, but its audit event %s could not be written: %s", event, e
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
        match = _KEY.fullmatch(info.key[len(AUDIT) :])
        if not match:
            continue  # not an event (a stray object): it counts for nothing
        ms = _MAX_MS - int(match[1])
        if ms < since_ms:
            return Window(times, True, since)
        kind = match[2]
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
