"""The authenticator when S3 misbehaves: last good store, then fail closed.

The real viewer-request handler with the real ``S3Source`` (its own SigV4 GET, the Lambda settings)
reading ``config/users.json`` through the fault proxy; a fake clock stands in for minutes.
Then ``privpi serve`` as a subprocess over the same proxied bucket.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
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


@pytest.mark.slow  # waits for the refresh to give up on a hung read (2 s)
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


@contextlib.contextmanager
def serving(faulty, *options):
    """``privpi serve`` with these options over the bucket through the proxy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(faulty.env)
    env["PRIVPI_ADMIN_PASSWORD"] = PASSWORD
    cmd = [sys.executable, "-m", "privpi", "serve", "--port", str(port), *options]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        # The port listens before the server runs: wait for its first answer.
        urllib.request.urlopen(f"{base}/login", timeout=60).close()
        yield base
    finally:
        faulty.proxy.release()
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def served(faulty):
    """``privpi serve --refresh 0.4`` over the bucket through the proxy."""
    UserStore(faulty.direct).add("alice", PASSWORD, "admin")
    faulty.direct.write(keys.ROOT_HTML, b"<!DOCTYPE html><title>root</title>")
    with serving(faulty, "--refresh", "0.4") as base:
        yield faulty, base


@pytest.mark.slow
def test_serve_keeps_serving_while_the_store_is_unreadable(served):
    faulty, base = served
    wait_for(f"{base}/simple/", "alice", within=30)  # the first read may have timed out
    outage = faulty.proxy.add_rule("GET", USERS_KEY, action="503", times=100_000)
    UserStore(faulty.direct).add("carol", PASSWORD)
    deadline = time.monotonic() + 3  # seven refresh intervals into the outage
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
    # Until the first user-store read lands, privpi serve answers 503 by design; on a
    # loaded machine that first read may time out, so wait for it before the faults.
    wait_for(f"{base}/simple/", "alice", within=30)
    url = f"{base}/files/demo/demo-1.0.tar.gz"
    faulty.proxy.add_rule("GET", "demo-1.0.tar.gz", action="503", times=3)  # absorbed
    assert get(url) == 200
    faulty.proxy.add_rule("GET", "demo-1.0.tar.gz", action="drop", times=4)  # exhausted
    assert get(url) == 503
    assert get(url) == 200


# -- privpi serve while the user store hangs ---------------------------------------------
# Small intervals stand in for the defaults (60 s, 15 min): each store read is then
# bounded to a quarter interval (0.25 s) by privpi serve.
REFRESH, STALE = 1.0, 4.0
SLACK = 1.5  # scheduling and request time on a loaded machine


def timed_get(url: str, user="alice") -> tuple[int, float]:
    started = time.monotonic()
    code = get(url, user)
    return code, time.monotonic() - started


def wait_for(url: str, user: str, within: float) -> float:
    """Seconds until ``user`` gets a 200 on url; fails after ``within``."""
    started = time.monotonic()
    while get(url, user) != 200:
        assert time.monotonic() - started < within, f"{user} not let in within {within}s"
        time.sleep(0.05)
    return time.monotonic() - started


OPTIONS = ("--refresh", str(REFRESH), "--max-stale", str(STALE), "--threads", "4")


def seed(faulty) -> None:
    UserStore(faulty.direct).add("alice", PASSWORD, "admin")
    faulty.direct.write(keys.ROOT_HTML, b"<!DOCTYPE html><title>root</title>")


@pytest.fixture
def bounded(faulty):
    """``privpi serve --refresh 1 --max-stale 4 --threads 4``."""
    seed(faulty)
    with serving(faulty, *OPTIONS) as base:
        yield faulty, base


@pytest.mark.slow
def test_serve_refuses_a_copy_older_than_the_bound_while_the_store_hangs(bounded):
    """Store reads hang: the last good copy serves until the stale bound, counted from the
    last read that answered, then 503; back within one interval once the store answers."""
    faulty, base = bounded
    wait_for(f"{base}/simple/", "alice", within=30)
    UserStore(faulty.direct).add("carol", PASSWORD)  # a change the hang hides
    hang = faulty.proxy.add_rule("GET", USERS_KEY, action="delay", delay=600, times=100_000)
    hung = time.monotonic()
    answers = []  # (seconds into the hang, status, seconds the request took)
    while not answers or answers[-1][1] != 503:
        assert time.monotonic() - hung < STALE + SLACK, f"still serving: {answers[-3:]}"
        code, took = timed_get(f"{base}/simple/")
        answers.append((time.monotonic() - hung, code, took))
        time.sleep(0.05)
    first_503 = answers[-1][0]
    # The last good read began at most one interval (plus its own bound) before the hang.
    assert first_503 > STALE - REFRESH - 0.25 - 0.2, answers
    assert {code for _, code, _ in answers[:-1]} == {200}
    assert max(took for _, _, took in answers) < SLACK  # no request waits for the store
    assert all(timed_get(f"{base}/simple/")[0] == 503 for _ in range(5))
    # Each read gave up within its bound and the next began an interval later.
    assert hang.fired >= STALE / REFRESH - 1
    hang.times = hang.fired  # the store answers again; reads already sent stay hung
    recovered = wait_for(f"{base}/simple/", "carol", within=REFRESH + SLACK)
    print(
        f"hung store: 503 after {first_503:.2f}s (bound {STALE:g}s from the last good read), "
        f"{len(answers)} requests, slowest {max(t for _, _, t in answers):.2f}s, "
        f"{hang.fired} reads given up; "
        f"carol in {recovered:.2f}s after the store answered (interval {REFRESH:g}s)"
    )


@pytest.mark.slow
def test_serve_without_a_copy_answers_503_at_once_and_login_keeps_working(faulty):
    """The store hangs before the read path's first read: three times as many read
    requests as waitress has threads all get a 503 within the read bound, /login still
    answers, and the first read after the store is back lets everyone in."""
    seed(faulty)
    # The first read is privpi serve's own look for an admin at start; the rest hang.
    hang = faulty.proxy.add_rule("GET", USERS_KEY, "delay", delay=600, nth=2, times=100_000)
    with serving(faulty, *OPTIONS) as base:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: timed_get(f"{base}/simple/"), range(12)))
        assert [code for code, _ in answers] == [503] * 12
        assert max(took for _, took in answers) < SLACK
        with urllib.request.urlopen(f"{base}/login", timeout=SLACK) as r:
            assert r.status == 200
            assert b"Sign in" in r.read()
        hang.times = hang.fired  # the store answers again; reads already sent stay hung
        recovered = wait_for(f"{base}/simple/", "alice", within=REFRESH + SLACK)
    print(
        f"no copy, hung store: 12 requests on 4 threads, all 503, slowest "
        f"{max(t for _, t in answers):.2f}s; in {recovered:.2f}s after the store answered"
    )
