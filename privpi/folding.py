"""Which projects changed since the listing summary last looked: read from the audit log's keys.

Every change of a project page is followed by an audit event whose key names the project
(privpi.audit: ``<inverted ms>-<random>-<action>-<project>.json``, newest first in a plain
listing). The summary remembers how far it has folded the log (:class:`Position`), so a
reader lists the log from its newest key down to that position - one list request for up
to 1,000 events - and reads the pages of the projects the newer events name. The cost grows
with the changes since the last look, never with the number of projects.

**Events that land late.** An event's key time is taken before its PUT reaches S3, so a
slow writer can land a key older than one a reader already folded. The position therefore
keeps the ids of every event within :data:`WINDOW_MS` before the newest folded one, and a
reader lists down to that window, folding any event in it that it does not remember. An
event is folded as long as its PUT lands within WINDOW_MS of its key time (writers' clocks
agreeing within a minute, :data:`SKEW_MS`: the position never runs further ahead of the
reader's clock): S3 refuses a request whose signing time is too far from
its own clock ("RequestTimeTooSkewed",
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; the error's body gives
MaxAllowedSkewMilliseconds 900000, 15 minutes), and
the S3 client signs each of its few attempts as it sends it, so a PUT lands well inside 30 minutes
of the event's time or never.

**Bounds.** A look lists at most :data:`MAX_EVENTS` keys (a ListObjectsV2 request returns up
to 1,000: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). More
changes than that since the last look: the newest are folded, the summary says it may be
behind, and the listings say so until ``privpi reindex`` rebuilds it.

**No position** (a summary from before this fold, or none): events of the older key formats
were applied to the summary by their writers themselves, so a reader folds the newer keys
down to the first older one (or the bound).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from . import audit
from .keys import AUDIT
from .storage import Storage

WINDOW_MS = 30 * 60 * 1000
SKEW_MS = 60_000  # how far ahead of the reader's clock a writer's may run
MAX_EVENTS = 20_000  # keys listed per look: 20 list requests at most
# The actions whose events concern a project page: a key of one of them that names no
# project is from before the fold (its writer updated the summary itself).
PAGE_ACTIONS = frozenset({"publish", "yank", "unyank", "delete", "status", "tracks"})


@dataclass(frozen=True)
class Position:
    """How far the summary has folded the audit log."""

    through: int  # ms of the newest event folded
    recent: frozenset[str]  # ids of the events folded within WINDOW_MS before it

    def dump(self) -> dict[str, Any]:
        return {"through": self.through, "recent": sorted(self.recent)}

    @classmethod
    def load(cls, data: object) -> Position | None:
        """The position a summary stored; None when it has none (or a damaged one)."""
        if not isinstance(data, dict) or not isinstance(data.get("through"), int):
            return None
        recent = data.get("recent")
        if not isinstance(recent, list) or not all(isinstance(i, str) for i in recent):
            return None
        return cls(data["through"], frozenset(recent))


@dataclass(frozen=True)
class Changes:
    """What a look at the audit log found."""

    projects: list[str]  # named by events not folded yet, newest first, each once
    position: Position | None  # how far this look folded (None: no event yet)
    complete: bool  # False: MAX_EVENTS stopped the look before the old position


def since(storage: Storage, position: Position | None, max_events: int = MAX_EVENTS) -> Changes:
    """The projects named by events the position has not folded, and the position after
    folding them; one list request per 1,000 events listed."""
    floor = position.through - WINDOW_MS if position else None
    known = position.recent if position else frozenset()
    projects: dict[str, None] = {}  # ordered, each once
    seen: list[audit.Key] = []
    complete = True
    for info in storage.list(AUDIT):
        key = audit.parse_key(info.key)
        if key is None:
            continue  # not an event
        if floor is not None and key.ms < floor:
            break
        if floor is None and _older_format(key):
            break  # applied to the summary by its writer
        seen.append(key)
        if key.project and key.id not in known:
            projects.setdefault(key.project)
        if len(seen) >= max_events:
            complete = False  # stop before asking for another page
            break
    return Changes(list(projects), _after(position, seen), complete)


def _older_format(key: audit.Key) -> bool:
    return key.action is None or (key.project is None and key.action in PAGE_ACTIONS)


def _after(position: Position | None, seen: list[audit.Key]) -> Position | None:
    if not seen:
        return position
    # A writer whose clock runs ahead must not carry the position (and the window with it)
    # past the events of writers with good clocks: never further than a minute from now.
    through = min(max(k.ms for k in seen), int(time.time() * 1000) + SKEW_MS)
    if position is not None:
        through = max(through, position.through)
    return Position(through, frozenset(k.id for k in seen if k.ms >= through - WINDOW_MS))


def start(storage: Storage) -> Position | None:
    """The position of the log as it is now (privpi reindex, before it reads any page):
    everything before it is in the pages it then reads. One list request (or more, when
    more than 1,000 events fall in the window)."""
    seen: list[audit.Key] = []
    for info in storage.list(AUDIT):
        key = audit.parse_key(info.key)
        if key is None:
            continue
        if seen and key.ms < seen[0].ms - WINDOW_MS:
            break
        seen.append(key)
    return _after(None, seen)
