"""Faults injected at the storage interface: a wrapper Storage for any real backend.

The fault proxy (tests/support/faultproxy.py) faults S3's HTTP requests; this does the same
for a backend with no HTTP under it (privpi serve's folder), per call of the Storage verbs,
grouped as the S3 requests they stand for:

    GET: read, read_if_changed, open, read_range, sha256    PUT: write, copy
    HEAD: head, exists    DELETE: delete    LIST: list

A rule (shared by every FaultyStorage of one :class:`Faults`) matches a verb group (or
"*") and a substring of the key ("" matches every key; a LIST matches its prefix) and
fires on its nth matching call, then on the next ``times - 1``, like the proxy's:

- "error": the call fails before it is applied (the proxy's 503 or dropped connection);
- "lost": the call is applied, then fails (the proxy's drop_after: an answer lost);
- "late": the call fails at once and is applied later, when released or after ``delay``
  (the proxy's late: a request delivered after its sender gave up and retried);
- "hold": the caller waits until released or ``delay``, then the call is applied.

Like an S3 client, each call is tried ``1 + retries`` times before the failure reaches
privpi (as StorageError): a lost or late conditional write is retried and refused by its
own effect (PreconditionFailed), as boto3's retry is. ``jitter`` sleeps before a share of
the calls, so racing threads interleave at every storage call.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from privpi.errors import PrivpiError, StorageError
from privpi.storage import Storage

ACTIONS = ("error", "lost", "late", "hold")
GROUPS = {
    "read": "GET",
    "read_if_changed": "GET",
    "open": "GET",
    "read_range": "GET",
    "sha256": "GET",
    "write": "PUT",
    "copy": "PUT",
    "head": "HEAD",
    "exists": "HEAD",
    "delete": "DELETE",
    "list": "LIST",
}


@dataclass
class StoreRule:
    method: str  # a verb group of GROUPS, or "*"
    key: str
    action: str
    nth: int = 1
    times: int = 1
    delay: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(8))
    seen: int = 0
    fired: int = 0

    def take(self, method: str, key: str) -> bool:
        if self.method not in ("*", method) or self.key not in key:
            return False
        self.seen += 1
        if self.seen >= self.nth and self.fired < self.times:
            self.fired += 1
            return True
        return False


class Faults:
    """The rules and held calls of a set of FaultyStorage (one scenario's workers)."""

    def __init__(self) -> None:
        self.rules: list[StoreRule] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._late: list[threading.Thread] = []

    def add_rule(self, method: str, key: str, action: str, **kw: Any) -> StoreRule:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: choose one of {ACTIONS}")
        rule = StoreRule(method, key, action, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def decide(self, method: str, key: str) -> StoreRule | None:
        with self._lock:
            return next((r for r in self.rules if r.take(method, key)), None)

    def rearm(self) -> None:
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def clear(self) -> None:
        """Remove every rule and let held and late calls go."""
        with self._lock:
            self.rules.clear()
        self.release()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every late call has been applied."""
        with self._lock:
            late, self._late = self._late, []
        for thread in late:
            thread.join(timeout)

    def hold(self, delay: float) -> None:
        self._release.wait(delay)

    def later(self, apply: Callable[[], object], delay: float) -> None:
        def deliver() -> None:
            self._release.wait(delay)
            with contextlib.suppress(PrivpiError):  # nobody waits for a late call's answer
                apply()

        thread = threading.Thread(target=deliver, daemon=True)
        with self._lock:
            self._late.append(thread)
        thread.start()


class FaultyStorage(Storage):
    """inner, its calls faulted by faults' rules, each tried 1 + retries times."""

    def __init__(
        self,
        inner: Storage,
        faults: Faults,
        retries: int = 1,
        jitter: float = 0.0,
        chance: float = 0.3,
        rng: random.Random | None = None,
    ) -> None:
        self.inner, self.faults, self.retries = inner, faults, retries
        self.jitter, self.chance = jitter, chance
        self.rng = rng or random.Random(8)
        self.url = inner.url
        self.calls = 0

    def _call(self, name: str, key: str, apply: Callable[[], Any]) -> Any:
        method = GROUPS[name]
        for _attempt in range(1 + self.retries):
            self.calls += 1
            if self.jitter and self.rng.random() < self.chance:
                time.sleep(self.rng.uniform(0, self.jitter))
            else:
                time.sleep(0)  # let a racing thread run here too
            rule = self.faults.decide(method, key)
            action = rule.action if rule else None
            if action == "error":
                continue
            if action == "late":
                self.faults.later(apply, rule.delay)
                continue
            if action == "hold":
                self.faults.hold(rule.delay)
            result = apply()
            if action != "lost":
                return result
        raise StorageError(f"{method} {key}: injected fault, retries exhausted")

    # -- the verbs ----------------------------------------------------------------------

    def read(self, key):
        return self._call("read", key, lambda: self.inner.read(key))

    def read_if_changed(self, key, etag):
        return self._call("read_if_changed", key, lambda: self.inner.read_if_changed(key, etag))

    def write(self, key, body, **kw):
        data = body if isinstance(body, bytes) else body.read()  # each attempt sends it all
        return self._call("write", key, lambda: self.inner.write(key, data, **kw))

    def delete(self, key):
        return self._call("delete", key, lambda: self.inner.delete(key))

    def list(self, prefix=""):
        return iter(self._call("list", prefix, lambda: list(self.inner.list(prefix))))

    def head(self, key):
        return self._call("head", key, lambda: self.inner.head(key))

    def exists(self, key):
        return self._call("exists", key, lambda: self.inner.exists(key))

    def copy(self, src, dst, **kw):
        return self._call("copy", dst, lambda: self.inner.copy(src, dst, **kw))

    def open(self, key) -> tuple[Any, Iterator[bytes]]:
        def whole():
            info, chunks = self.inner.open(key)
            return info, b"".join(chunks)

        info, body = self._call("open", key, whole)
        return info, iter([body])

    def read_range(self, key, start, length):
        return self._call("read_range", key, lambda: self.inner.read_range(key, start, length))

    def sha256(self, key):
        return self._call("sha256", key, lambda: self.inner.sha256(key))
