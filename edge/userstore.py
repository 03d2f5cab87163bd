"""The authenticator's cached copy of the user store.

Standard library only. A source answers ``fetch(etag) -> (body, etag) | None``: None when
the store has not changed since ``etag`` (a conditional GET), an exception when it cannot
be read (``edge.s3source.S3Source`` in Lambda@Edge, ``privpi.readpath.StorageSource`` locally).

The cache refreshes at most once per ``interval``. Verified credentials are remembered by
an HMAC of user and password under a key that never leaves this process, so a warm request
costs a dictionary lookup and never runs PBKDF2; the memory is dropped whenever the store's
ETag changes, so a removed, disabled or re-passworded user is out within one interval.
Fail closed: no store on a cold start, or a store that stayed unreadable longer than
``max_stale``, makes ``check`` raise Unavailable (the handler answers 503).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import time

from edge import pbkdf2

TYPE_CHECKING = False  # typing costs cold-start time: annotations only (mypy reads this)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    Record = dict[str, Any]  # one user's JSON object as stored
    Users = dict[str, Record]

    class Source(Protocol):
        def fetch(self, etag: str | None) -> tuple[bytes, str] | None: ...


OK, DENIED = "ok", "denied"
MAX_REMEMBERED = 4096  # verified credentials kept; beyond that, start over
FAILED_RETRY = 5.0  # seconds before retrying a store read that failed


class Unavailable(Exception):
    """The user store cannot be read and no recent copy is at hand: refuse (503)."""


class UserCache:
    def __init__(
        self,
        source: Source,
        interval: float = 60.0,
        max_stale: float = 900.0,
        clock: Callable[[], float] | None = None,
        background: bool = False,
    ) -> None:
        self.source = source
        # A long-running server refreshes in a thread of its own, so no request waits for
        # a slow store; Lambda freezes between requests, so there the request refreshes.
        self.background = background
        self._refresher: threading.Thread | None = None
        self.interval = interval
        self.max_stale = max_stale
        self.clock = clock or time.monotonic
        self._users: Users | None = None
        self._etag: str | None = None
        self._good_at = 0.0  # when the store last answered (200 or 304)
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._key = os.urandom(32)
        self._verified: dict[bytes, str] = {}

    # -- the store ------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        """Conditional GET of the store; the caller holds the lock."""
        if now < self._next_check:
            return  # another thread refreshed while this one waited
        try:
            answer = self.source.fetch(self._etag if self._users is not None else None)
            if answer is not None:
                body, etag = answer
                users = parse(body)
                self._users, self._etag = users, etag
                self._verified = {}  # a new store: verify everyone again
            self._good_at = now
            self._next_check = now + self.interval
        except Exception as e:  # any failure: keep the last good copy for a while
            log(f"user store refresh failed: {type(e).__name__}: {e}")
            self._next_check = now + min(FAILED_RETRY, self.interval)
            if self._users is not None and now - self._good_at > self.max_stale:
                log(f"user store unreadable for {self.max_stale:.0f}s: refusing everyone")
                self._users, self._etag, self._verified = None, None, {}

    def prime(self) -> None:
        """Read the store now (Lambda's init phase); after a failure the first request retries."""
        with self._lock:
            self._refresh(self.clock())
            if self._users is None:
                self._next_check = 0.0

    def _start_refresher(self) -> None:
        if self._refresher is None:
            with self._lock:
                if self._refresher is None:
                    self._refresher = threading.Thread(target=self._refresh_forever, daemon=True)
                    self._refresher.start()

    def _refresh_forever(self) -> None:
        while True:
            time.sleep(max(0.0, self._next_check - self.clock()))
            with self._lock:
                self._refresh(self.clock())

    def _current(self) -> Users:
        now = self.clock()
        if self.background and self._users is not None:
            self._start_refresher()
        # With a copy at hand, a thread never waits for another one's refresh.
        elif now >= self._next_check and self._lock.acquire(blocking=self._users is None):
            try:
                self._refresh(now)
            finally:
                self._lock.release()
        users = self._users
        if users is None:
            raise Unavailable("the user store cannot be read")
        return users

    # -- credentials ----------------------------------------------------------

    def check(self, user: str, password: str) -> str:
        """OK for an enabled user with this password, DENIED otherwise; may raise Unavailable."""
        users = self._current()
        token = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if self._verified.get(token) == user:
            return OK
        rec = users.get(user)
        if rec is None:
            pbkdf2.burn(_any_hash(users))  # the same time as for a real user
            return DENIED
        if not pbkdf2.verify(password, rec.get("hash", "")) or not is_enabled(rec):
            return DENIED
        if self._users is users:  # the store did not change while hashing
            if len(self._verified) >= MAX_REMEMBERED:
                self._verified = {}
            self._verified[token] = user
        return OK


def log(message: str) -> None:
    """One line to stderr (CloudWatch in Lambda); the logging module costs cold-start time."""
    print(f"privpi-edge: {message}", file=sys.stderr, flush=True)


def parse(body: bytes) -> Users:
    """The users dict of a version-1 or -2 store; ValueError when it is anything else."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("version") not in (1, 2):
        raise ValueError("not a version 1 or 2 user store")
    users = doc.get("users")
    if not isinstance(users, dict) or not all(isinstance(r, dict) for r in users.values()):
        raise ValueError("the user store has no valid 'users' object")
    return users


def is_enabled(rec: Record) -> bool:
    """Only JSON true enables a user (privpi.users.is_enabled, held equal by a test)."""
    return rec.get("enabled") is True


def _any_hash(users: Users) -> str:
    for rec in users.values():
        if isinstance(h := rec.get("hash"), str):
            return h
    return ""
