"""The authenticator when S3 misbehaves: last good store, then fail closed.

The real viewer-request handler with the real ``S3Source`` (its own SigV4 GET, the Lambda settings)
reading ``config/users.json`` through the fault proxy; a fake clock stands in for minutes.
Then ``privpi serve`` as a subprocess over the same proxied bucket.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from edge import viewer_request
from edge.s3source import S3Source
from edge.userstore import UserCache
from privpi import keys
from privpi.keys import USERS_KEY
from privpi.users import UserStore
from tests.support.edge import Clock, request_event
from tests.support.net import free_port, wait_for_port

PASSWORD = "correct horse battery"
INTERVAL, MAX_STALE = 60.0, 900.0


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ask(user: str = "alice", password: str = PASSWORD, uri: str = "/simple/") -> str:
    """The handler's verdict: 'ok' (request passed on) or the generated status."""
    event = request_event(uri, headers={"Authorization": basic(user, password)})
    result = viewer_request.handler(event)
    return result.get("status", "ok")


@pytest.fixture
def edge(faulty):
    """The handler configured with an S3Source on the proxied bucket and a fake clock."""
    UserStore(faulty.direct).add("alice", PASSWORD)
    clock = Clock()
    source = S3Source(faulty.bucket, "us-east-1", USERS_KEY)
    viewer_request.configure(UserCache(source, INTERVAL, MAX_STALE, clock=clock))
    yield faulty, clock
    viewer_request.configure(None)


@pytest.mark.parametrize("action", ["503", "500", "drop"])
def test_refresh_failure_keeps_last_good_store_then_fails_closed(edge, action):
    faulty, clock = edge
    assert ask() == "ok"  # cold start: the store is read
    outage = faulty.proxy.add_rule("GET", USERS_KEY, action=action, times=10_000)
    UserStore(faulty.direct).add("bob", PASSWORD)  # a change the outage hides

    for step in (INTERVAL + 1, 300, 300, 200):  # up to 861 s into the outage
        clock.now += step
        assert ask() == "ok", f"{clock.now}: the last good copy must keep serving"
        assert ask("alice", "wrong password 1") == "401"
        assert ask("bob") == "401"  # not seen yet, and not let in
    assert outage.fired > 0

    clock.now += 60  # 921 s since the store last answered: beyond the 900 s bound
    assert ask() == "503"
    assert ask("alice", "wrong password 1") == "503"

    faulty.proxy.clear()  # S3 is back: the next check (after 5 s) reads it again
    clock.now += 6
    assert ask() == "ok"
    assert ask("bob") == "ok"
    print(f"{action}: {outage.fired} faults injected on store reads, none let anyone in")


def test_absorbed_faults_are_invisible(edge):
    faulty, clock = edge
    assert ask() == "ok"
    UserStore(faulty.direct).set_password("alice", "new password 12")
    faulty.proxy.add_rule("GET", USERS_KEY, action="503", times=1)  # one retry absorbs it
    clock.now += INTERVAL + 1
    assert ask() == "401"  # the new store was read despite the fault
    assert ask("alice", "new password 12") == "ok"
    assert len(faulty.proxy.faults()) == 1


def test_slow_store_refresh_stays_inside_the_viewer_timeout(edge):
    """A hung S3 read: Lambda@Edge gives a viewer-request function 5 s in all."""
    faulty, clock = edge
    assert ask() == "ok"
    faulty.proxy.add_rule("GET", USERS_KEY, action="delay", delay=30, times=10_000)
    clock.now += INTERVAL + 1
    started = time.monotonic()
    verdict = ask()
    took = time.monotonic() - started
    faulty.proxy.release()
    print(f"hung store: refresh gave up after {took:.1f}s, verdict {verdict}")
    assert verdict == "ok"  # the last good copy answered
    assert took < 5.0


# -- privpi serve over the proxied bucket ------------------------------------------------


def get(url: str, user="alice", password=PASSWORD) -> int:
    req = urllib.request.Request(url, headers={"Authorization": basic(user, password)})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def served(faulty):
    """``privpi serve --refresh 0.3`` over the bucket through the proxy."""
    UserStore(faulty.direct).add("alice", PASSWORD, "admin")
    faulty.direct.write(keys.ROOT_HTML, b"<!DOCTYPE html><title>root</title>")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(faulty.env)
    env["PRIVPI_ADMIN_PASSWORD"] = PASSWORD
    cmd = [sys.executable, "-m", "privpi", "serve", "--port", str(port), "--refresh", "0.3"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        yield faulty, f"http://127.0.0.1:{port}"
    finally:
        faulty.proxy.release()
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.slow
def test_serve_keeps_serving_while_the_store_is_unreadable(served):
    faulty, base = served
    assert get(f"{base}/simple/") == 200
    outage = faulty.proxy.add_rule("GET", USERS_KEY, action="503", times=100_000)
    UserStore(faulty.direct).add("carol", PASSWORD)
    deadline = time.monotonic() + 3  # ten refresh intervals into the outage
    codes, slowest = [], 0.0
    while time.monotonic() < deadline:
        started = time.monotonic()
        codes.append(get(f"{base}/simple/"))
        codes.append(get(f"{base}/simple/", "carol"))
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.1)
    assert outage.fired > 0
    assert set(codes[0::2]) == {200}
    assert set(codes[1::2]) == {401}
    assert slowest < 1.0  # the refresh runs beside the requests, not in one of them
    faulty.proxy.clear()
    # Once S3 is back, the background refresh (its boto3 retries included) lets carol in.
    deadline = time.monotonic() + 15
    while get(f"{base}/simple/", "carol") != 200:
        assert time.monotonic() < deadline, "carol never got in after the outage"
        time.sleep(0.2)
    print(
        f"serve: {len(codes)} requests during the outage, {outage.fired} faults injected, "
        f"slowest pair {slowest:.2f}s (the refresh and its boto3 retries run in the background)"
    )


@pytest.mark.slow
def test_serve_answers_503_not_500_when_a_file_cannot_be_read(served):
    faulty, base = served
    faulty.direct.write(keys.file_key("demo", "demo-1.0.tar.gz"), b"bytes")
    url = f"{base}/files/demo/demo-1.0.tar.gz"
    faulty.proxy.add_rule("GET", "demo-1.0.tar.gz", action="503", times=3)  # absorbed
    assert get(url) == 200
    faulty.proxy.add_rule("GET", "demo-1.0.tar.gz", action="drop", times=4)  # exhausted
    assert get(url) == 503
    assert get(url) == 200
