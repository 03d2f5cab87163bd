"""The authenticator's cached copies of objects in the bucket: the user store, and (with an
upstream index) the root index (``edge.upstream``).

Standard library only. ``StoreCache`` keeps the last good copy of one object; its source
answers ``fetch(etag) -> (body, etag) | None``: None when the object has not changed since
``etag`` (a conditional GET), an exception when it cannot be read (``edge.s3source.S3Source``
in Lambda@Edge, ``privpi.readpath.StorageSource`` locally).

The cache refreshes at most once per ``interval``. Verified credentials are remembered by
an HMAC of user and password under a key that never leaves this process, so a warm request
costs a dictionary lookup and never runs PBKDF2; the memory is dropped whenever the store's
ETag changes, so a removed, disabled or re-passworded user is out within one interval.

Tokens (``privpi_...``, user name ``__token__`` or the owner's) are indexed by the SHA-256
stored for them when the store is read, so checking one costs one SHA-256, a dict lookup and
a constant-time comparison: no PBKDF2 and no memory of verified tokens is needed. The
owner must be enabled and the token unexpired at each request; the index is rebuilt with
each new copy of the store, so a revoked token is out within one interval.

Fail closed: no store on a cold start, or a last good read longer than ``max_stale`` ago,
makes ``check`` raise Unavailable (the handler answers 503). That bound is checked on every
request, not when a read fails: a read that hangs cannot stretch it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
from datetime import datetime

from edge import pbkdf2

TYPE_CHECKING = False  # typing costs cold-start time: annotations only (mypy reads this)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    Record = dict[str, Any]  # one user's JSON object as stored
    Users = dict[str, Record]
    # a token by its digest: (owner, sha256 hex, projects or None for all, expiry epoch or None)
    TokenEntry = tuple[str, str, frozenset[str] | None, float | None]

    class Source(Protocol):
        def fetch(self, etag: str | None) -> tuple[bytes, str] | None: ...


OK, DENIED = "ok", "denied"
MAX_REMEMBERED = 4096  # verified credentials kept; beyond that, start over
FAILED_RETRY = 5.0  # seconds before retrying a store read that failed (at most one interval)
# privpi.tokens has the same format rules (tests/test_edge_agreement.py holds them equal).
TOKEN_USER, TOKEN_PREFIX, SCOPES = "__token__", "privpi_", ("read", "publish")
HEX64 = re.compile(r"[0-9a-f]{64}")


class _Every:
    """The projects a password or an unlimited token may read: all of them."""

    def __contains__(self, project: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "EVERY_PROJECT"


EVERY_PROJECT = _Every()


class Unavailable(Exception):
    """The user store cannot be read and no recent copy is at hand: refuse (503)."""


class StoreCache:
    """One object's last good parsed copy, refreshed every ``interval`` seconds; subclasses
    say how to parse it (``parse``) and what to forget when it changes (``changed``).

    ``max_stale``: a copy older than this (measured from the start of the last read that
    answered) is refused, whatever the refresh is doing. ``timeout``: the bound the caller
    gave the source's reads; in background mode a request without a copy waits at most
    that long for the first read, then gets Unavailable.
    """

    what = "store"  # names the object in log lines and refusals

    def __init__(
        self,
        source: Source,
        interval: float = 60.0,
        max_stale: float = 900.0,
        clock: Callable[[], float] | None = None,
        background: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self.source = source
        # A long-running server refreshes in a thread of its own, so no request waits for
        # a slow store; Lambda freezes between requests, so there the request refreshes.
        self.background = background
        self._refresher: threading.Thread | None = None
        self._first_read = threading.Event()  # set once the first read has ended
        self.interval = interval
        self.max_stale = max_stale
        self.timeout = timeout
        self.clock = clock or time.monotonic
        self._doc: Any = None  # what parse() made of the last good copy
        self._etag: str | None = None
        self._good_at = 0.0  # when the last read that answered (200 or 304) began
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()

    def parse(self, body: bytes) -> Any:
        """The document a body holds; ValueError when it is anything else."""
        raise NotImplementedError

    def changed(self) -> None:
        """A new copy arrived (its ETag changed)."""

    def _refresh(self, now: float) -> None:
        """Conditional GET of the store; the caller holds the lock."""
        if now < self._next_check:
            return  # another thread refreshed while this one waited
        try:
            answer = self.source.fetch(self._etag if self._doc is not None else None)
            if answer is not None:
                body, etag = answer
                self._doc, self._etag = self.parse(body), etag
                self.changed()
            self._good_at = now
            self._next_check = now + self.interval
        except Exception as e:  # any failure: keep the last good copy for a while
            age = f"{self.clock() - self._good_at:.0f}s old" if self._doc else "none yet"
            log(f"{self.what} refresh failed (last good copy: {age}): {type(e).__name__}: {e}")
            # From the start of this read: after a hung one, the next follows at once.
            self._next_check = now + min(FAILED_RETRY, self.interval)

    def prime(self) -> None:
        """Read the store now (Lambda's init phase); after a failure the first request retries."""
        with self._lock:
            self._refresh(self.clock())
            if self._doc is None:
                self._next_check = 0.0

    def start(self) -> None:
        """Begin refreshing in the background (once; a request does it if nobody did)."""
        with self._start_lock:  # not self._lock: the refresher holds that while reading
            if self._refresher is None:
                self._refresher = threading.Thread(target=self._refresh_forever, daemon=True)
                self._refresher.start()

    def _refresh_forever(self) -> None:
        while True:
            with self._lock:
                self._refresh(self.clock())
            self._first_read.set()
            time.sleep(max(0.0, self._next_check - self.clock()))

    def current(self) -> Any:
        """The parsed copy; Unavailable when there is none, or it is too old."""
        if self.background:
            if self._refresher is None:
                self.start()
            if self._doc is None:  # a cold start: wait for the first read, not longer
                self._first_read.wait(self.timeout)
        # With a copy at hand, a thread never waits for another one's refresh.
        elif self.clock() >= self._next_check and self._lock.acquire(blocking=self._doc is None):
            try:
                self._refresh(self.clock())
            finally:
                self._lock.release()
        doc = self._doc
        if doc is None:
            raise Unavailable(f"the {self.what} cannot be read")
        if self.clock() - self._good_at > self.max_stale:
            raise Unavailable(f"the {self.what} has not been read for {self.max_stale:.0f}s")
        return doc


class UserCache(StoreCache):
    """The user store, and the credentials verified against it."""

    what = "user store"

    def __init__(self, source: Source, *args: Any, **kwargs: Any) -> None:
        super().__init__(source, *args, **kwargs)
        self._key = os.urandom(32)
        self._verified: dict[bytes, str] = {}
        self._tokens: dict[str, TokenEntry] = {}  # every valid token by its SHA-256

    def parse(self, body: bytes) -> Users:
        return parse(body)

    def changed(self) -> None:
        self._verified = {}  # a new store: verify everyone again
        self._tokens = index_tokens(self._doc)

    def access(self, user: str, password: str) -> _Every | frozenset[str] | None:
        """The projects these credentials may read (EVERY_PROJECT, or a frozenset of
        normalized names for a token limited to projects), or None; may raise Unavailable."""
        users: Users = self.current()
        if user == TOKEN_USER or password.startswith(TOKEN_PREFIX):
            wanted = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
            found = self._tokens.get(wanted)
            if found is not None:
                return self._token_access(users, user, wanted, found)
            if user == TOKEN_USER:
                return None
        return EVERY_PROJECT if self._check_password(users, user, password) == OK else None

    @staticmethod
    def _token_access(
        users: Users, user: str, wanted: str, found: TokenEntry
    ) -> _Every | frozenset[str] | None:
        owner, digest, projects, expires = found
        if not hmac.compare_digest(digest, wanted) or user not in (TOKEN_USER, owner):
            return None
        if not is_enabled(users.get(owner, {})) or (expires is not None and time.time() >= expires):
            return None
        return EVERY_PROJECT if projects is None else projects

    def check(self, user: str, password: str) -> str:
        """OK for valid credentials (password or token), DENIED otherwise; may raise Unavailable."""
        return OK if self.access(user, password) is not None else DENIED

    def _check_password(self, users: Users, user: str, password: str) -> str:
        token = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if self._verified.get(token) == user:
            return OK
        rec = users.get(user)
        if rec is None:
            pbkdf2.burn(_any_hash(users))  # the same time as for a real user
            return DENIED
        if not pbkdf2.verify(password, rec.get("hash", "")) or not is_enabled(rec):
            return DENIED
        if self._doc is users:  # the store did not change while hashing
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


def index_tokens(users: Users) -> dict[str, TokenEntry]:
    """sha256 -> (owner, sha256, projects or None, expiry as epoch or None) of every valid
    token (privpi.tokens.valid_record and expired, held equal by tests)."""
    out: dict[str, TokenEntry] = {}
    for owner, rec in users.items():
        held = rec.get("tokens")
        for tok in held.values() if isinstance(held, dict) else ():
            entry = _token_entry(owner, tok)
            if entry is not None:
                out[entry[1]] = entry
    return out


def _token_entry(owner: str, tok: object) -> TokenEntry | None:
    if not isinstance(tok, dict) or tok.get("scope") not in SCOPES:
        return None
    digest, projects = tok.get("sha256"), tok.get("projects")
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        return None
    if projects is not None:
        if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
            return None
        projects = frozenset(projects)
    expires = tok.get("expires")
    if expires is not None:
        try:
            when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        expires = when.timestamp()
    return owner, digest, projects, expires


def is_enabled(rec: Record) -> bool:
    """Only JSON true enables a user (privpi.users.is_enabled, held equal by a test)."""
    return rec.get("enabled") is True


def _any_hash(users: Users) -> str:
    for rec in users.values():
        if isinstance(h := rec.get("hash"), str):
            return h
    return ""
