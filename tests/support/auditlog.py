"""Audit events at chosen times, in today's key format or in the format before it."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from privpi import audit, keys


def write_event(storage, when: datetime, action: str, legacy: bool = False) -> None:
    """An event at ``when``; legacy: keyed ``<inverted ms>-<random>.json``, without the
    action, as events were written before the action joined the key."""
    ms = int(when.timestamp() * 1000)
    key = audit.key_for(ms, action)
    if legacy:
        key = f"{keys.AUDIT}{10**14 - ms:014d}-{secrets.token_hex(4)}.json"
    body = {"time": when.isoformat(), "action": action, "actor": "tests"}
    storage.write(key, json.dumps(body).encode(), content_type="application/json")
