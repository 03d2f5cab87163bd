"""The audit log: one small JSON object per event under ``config/audit/``.

One object per event means appends never conflict. Keys start with an inverted
millisecond timestamp, so a plain prefix listing (in key order) yields the newest first
and reading the latest N events costs one list request, however long the log is.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from .errors import StorageError
from .keys import AUDIT
from .storage import Storage

log = logging.getLogger(__name__)

_MAX_MS = 10**14  # far beyond year 5000, keeps keys fixed-width


def record(storage: Storage, action: str, actor: str | None, **details: object) -> None:
    """Append one event; actor is the user (or 'cli') who did it.

    Called after the change is stored: if the event cannot be written, the change stands,
    so this warns (naming the event) instead of reporting the change as failed.
    """
    now_ms = int(time.time() * 1000)
    key = f"{AUDIT}{_MAX_MS - now_ms:014d}-{secrets.token_hex(4)}.json"
    event = {
        "time": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "action": action,
        "actor": actor or "cli",
        **details,
    }
    try:
        storage.write(
            key, json.dumps(event, sort_keys=True).encode(), content_type="application/json"
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
        try:
            event = json.loads(storage.read(info.key).body)
        except ValueError:
            continue  # a damaged event must not hide the rest of the log
        if actions is None or event.get("action") in actions:
            yield event
