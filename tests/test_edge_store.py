"""The authenticator's user store cache: refresh, invalidation, failing closed."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from edge import pbkdf2
from edge.s3source import S3Source
from edge.userstore import DENIED, OK, Unavailable, UserCache
from privpi.keys import USERS_KEY
from privpi.readpath import StorageSource
from privpi.users import UserStore
from tests.support.edge import (
    ALICE_PASSWORD,
    BOB_PASSWORD,
    Clock,
    MemorySource,
    default_doc,
    store_doc,
)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def source():
    return MemorySource(default_doc())


@pytest.fixture
def hashing(monkeypatch):
    """Counts PBKDF2 runs (the real function still runs)."""
    calls = []
    real = pbkdf2.hashlib.pbkdf2_hmac
    monkeypatch.setattr(
        pbkdf2.hashlib, "pbkdf2_hmac", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    return calls


def test_verdicts(source, clock):
    cache = UserCache(source, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK
    assert cache.check("alice", ALICE_PASSWORD + " ") == DENIED
    assert cache.check("bob", BOB_PASSWORD) == DENIED  # disabled
    assert cache.check("carol", ALICE_PASSWORD) == DENIED  # unknown


def test_warm_request_skips_pbkdf2_and_store(source, clock, hashing):
    cache = UserCache(source, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK
    assert len(hashing) == 1
    for _ in range(5):
        clock.now += 5
        assert cache.check("alice", ALICE_PASSWORD) == OK
    assert len(hashing) == 1
    assert source.calls == 1  # no refresh inside the minute


def test_wrong_password_is_never_remembered(source, clock, hashing):
    cache = UserCache(source, clock=clock)
    assert cache.check("alice", "guess") == DENIED
    assert cache.check("alice", "guess") == DENIED
    assert len(hashing) == 2


def test_unknown_user_costs_a_hash(source, clock, hashing):
    assert UserCache(source, clock=clock).check("nobody", "x") == DENIED
    assert len(hashing) == 1


def test_refresh_once_a_minute_with_conditional_get(source, clock):
    cache = UserCache(source, clock=clock)
    cache.check("alice", ALICE_PASSWORD)
    clock.now += 59
    cache.check("alice", ALICE_PASSWORD)
    assert source.calls == 1
    clock.now += 2
    cache.check("alice", ALICE_PASSWORD)
    assert source.calls == 2  # answered "not modified": the copy is kept


def test_etag_change_invalidates_verified_credentials(source, clock, hashing):
    cache = UserCache(source, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK
    doc = default_doc()
    doc["users"]["alice"]["enabled"] = False
    source.put(doc)
    clock.now += 30
    assert cache.check("alice", ALICE_PASSWORD) == OK  # not yet re-read
    clock.now += 31
    assert cache.check("alice", ALICE_PASSWORD) == DENIED
    source.put(store_doc(alice=("a new password!", True)))
    clock.now += 61
    assert cache.check("alice", ALICE_PASSWORD) == DENIED
    assert cache.check("alice", "a new password!") == OK


def test_unreadable_store_on_cold_start_fails_closed(clock):
    source = MemorySource(None)
    cache = UserCache(source, clock=clock)
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)
    clock.now += 1
    with pytest.raises(Unavailable):  # no hammering: the retry waits a few seconds
        cache.check("alice", ALICE_PASSWORD)
    assert source.calls == 1
    source.put(default_doc())
    clock.now += 5
    assert cache.check("alice", ALICE_PASSWORD) == OK


@pytest.mark.parametrize("body", [b"not json", b'{"version": 3, "users": {}}', b'{"users": []}'])
def test_corrupt_store_on_cold_start_fails_closed(clock, body):
    source = MemorySource(None)
    source.body, source.etag = body, '"x"'
    with pytest.raises(Unavailable):
        UserCache(source, clock=clock).check("alice", ALICE_PASSWORD)


def test_last_good_copy_kept_for_a_bounded_time(source, clock):
    cache = UserCache(source, interval=60, max_stale=900, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK
    source.failing = True
    clock.now += 600
    assert cache.check("alice", ALICE_PASSWORD) == OK  # refresh failed, copy still good
    clock.now += 301
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)
    source.failing = False
    clock.now += 5
    assert cache.check("alice", ALICE_PASSWORD) == OK


def test_corrupt_refresh_keeps_last_good_copy(source, clock):
    cache = UserCache(source, clock=clock)
    cache.check("alice", ALICE_PASSWORD)
    source.body, source.etag = b"{", '"broken"'
    clock.now += 61
    assert cache.check("alice", ALICE_PASSWORD) == OK


def test_storage_source_sees_cli_changes(storage, monkeypatch):
    """Against both real backends: the conditional GET and a disabled user."""
    monkeypatch.setenv("PRIVPI_PBKDF2_ROUNDS", "1000")
    users = UserStore(storage)
    users.add("admin", "admin-password-1", "admin")
    users.add("carol", "carol-password-1")
    clock = Clock()
    cache = UserCache(StorageSource(storage), clock=clock)
    assert cache.check("carol", "carol-password-1") == OK
    source = StorageSource(storage)
    body, etag = source.fetch(None)
    assert source.fetch(etag) is None
    users.set_enabled("carol", False)
    clock.now += 61
    assert cache.check("carol", "carol-password-1") == DENIED


def test_s3_source_reads_bucket_with_prefix(s3_bucket, moto_endpoint):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = f"team/{USERS_KEY}"
    client.put_object(Bucket=s3_bucket, Key=key, Body=json.dumps(default_doc()).encode())
    source = S3Source(s3_bucket, "us-east-1", key)  # AWS_ENDPOINT_URL: the moto server
    body, etag = source.fetch(None)
    assert json.loads(body)["version"] == 1
    assert source.fetch(etag) is None
    cache = UserCache(source, clock=Clock())
    assert cache.check("alice", ALICE_PASSWORD) == OK


def test_s3_source_missing_store_fails_closed(s3_bucket):
    cache = UserCache(S3Source(s3_bucket, "us-east-1", USERS_KEY), clock=Clock())
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)


def test_requests_do_not_wait_for_another_threads_refresh(source, clock):
    """privpi serve has many threads: one refreshes, the others answer from the copy."""
    cache = UserCache(source, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK
    entered, release = threading.Event(), threading.Event()
    real_fetch = source.fetch

    def slow_fetch(etag):
        entered.set()
        release.wait(10)
        return real_fetch(etag)

    source.fetch = slow_fetch
    clock.now += 61
    refresher = threading.Thread(target=cache.check, args=("alice", ALICE_PASSWORD))
    refresher.start()
    assert entered.wait(10)
    assert cache.check("alice", ALICE_PASSWORD) == OK  # while the refresh is stuck
    release.set()
    refresher.join(10)
    assert source.calls == 2


def test_stale_bound_counts_from_the_last_good_read_not_the_failed_one(source, clock):
    """Reads that take minutes to fail cannot stretch the bound: the age of the copy is
    checked on every request, after the refresh, from when the last good read began."""
    cache = UserCache(source, interval=60, max_stale=900, clock=clock)
    assert cache.check("alice", ALICE_PASSWORD) == OK  # the good read, at 1000
    real_fetch = source.fetch

    def slow_failure(etag):
        clock.now += 250  # each read hangs for 250 s, then fails
        source.failing = True
        return real_fetch(etag)

    source.fetch = slow_failure
    clock.now += 550  # the read starts 550 s after the good one and ends at 800 s
    assert cache.check("alice", ALICE_PASSWORD) == OK
    clock.now += 100  # 900 s: the next read starts inside the bound, ends beyond it
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)
    assert clock.now - 1000 == 1150


# privpi serve's background mode with short figures: a read bounded to a quarter interval;
# SLACK for thread scheduling (and the test's PBKDF2 check) on a loaded 2-core machine.
INTERVAL, STALE, TIMEOUT, SLACK = 1.0, 3.0, 0.25, 0.5
SHORT = {"interval": INTERVAL, "max_stale": STALE, "background": True, "timeout": TIMEOUT}


class HangingSource(MemorySource):
    """A store whose reads hang until released, like a bucket that stops answering."""

    def __init__(self, doc):
        super().__init__(doc)
        self.hanging = threading.Event()
        self.released = threading.Event()

    def fetch(self, etag):
        if self.hanging.is_set():
            self.released.wait(30)
        return super().fetch(etag)


def wait_until(cache: UserCache, expected: str, within: float) -> float:
    """Seconds until check answers OK (expected "ok") or raises Unavailable ("503")."""
    started = time.monotonic()
    while True:
        try:
            verdict = cache.check("alice", ALICE_PASSWORD)
        except Unavailable:
            verdict = "503"
        took = time.monotonic() - started
        if verdict == expected:
            return took
        assert took < within, f"still {verdict} after {within}s"
        time.sleep(0.01)


@pytest.mark.slow  # waits out max_stale and a refresh interval in real time (3 s)
def test_background_refresh_refuses_a_stale_copy_while_the_read_hangs():
    """privpi serve's mode: a read that hangs holds the refresher, not the requests; the
    copy is refused once older than max_stale, and the first read that answers brings it
    back within an interval."""
    source = HangingSource(default_doc())
    cache = UserCache(source, **SHORT)
    assert wait_until(cache, "ok", within=5) < 1
    source.hanging.set()
    hung = time.monotonic()
    wait_until(cache, "503", within=10)
    # the last good read came up to one interval before the hang
    assert STALE - INTERVAL <= time.monotonic() - hung <= STALE + SLACK
    source.released.set()
    source.hanging.clear()
    assert wait_until(cache, "ok", within=5) < INTERVAL + SLACK


def test_background_cold_start_waits_for_the_first_read_at_most_its_bound():
    source = HangingSource(default_doc())
    source.hanging.set()
    cache = UserCache(source, **SHORT)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        cache.check("alice", ALICE_PASSWORD)
    assert time.monotonic() - started < TIMEOUT + SLACK
    source.released.set()
    source.hanging.clear()
    assert wait_until(cache, "ok", within=5) < INTERVAL + SLACK
