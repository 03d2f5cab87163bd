"""User-store writes under S3 faults (moto behind tests/support/faultproxy.py): nothing is lost.

Faults that boto3's retries absorb must be invisible; faults that exhaust them must fail
the command with one clear line and leave ``config/users.json`` as it was; running the
same command again must then complete.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

from privpi import audit
from privpi.cli import main
from privpi.errors import StorageError
from privpi.keys import USERS_KEY
from privpi.users import UserStore
from tests.support.console import login, make_console, seed_users, text
from tests.support.faultproxy import EXHAUST

# make test-fast leaves these out: every fault that exhausts boto3's retries waits out
# its backoff, seconds a test.
pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
USERS = "config/users.json"


def stored_users(storage) -> dict:
    return json.loads(storage.read(USERS_KEY).body)["users"]


def run_cli(faulty, monkeypatch, *args, stdin=None):
    for k, v in faulty.env.items():
        monkeypatch.setenv(k, v)
    return CliRunner().invoke(main, list(args), input=stdin)


def test_concurrent_adds_survive_503s_on_every_put(faulty):
    """Eight admins add users at once; every store PUT first answers 503 (boto3 retries)."""
    UserStore(faulty.storage).add("root", PASSWORD, "admin")
    rule = faulty.proxy.add_rule("PUT", USERS, action="503", first_try=True, times=1000)
    names = [f"user{i}" for i in range(8)]
    errors: list[Exception] = []

    def add(name: str) -> None:
        try:
            UserStore(faulty.storage, actor="root").add(name, PASSWORD, "publisher")
        except Exception as e:  # collected: a thread's exception would vanish
            errors.append(e)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert rule.fired >= len(names)  # each add needed at least one retry
    print(f"faults absorbed by retries: {rule.fired} on {len(names)} concurrent adds")
    users = stored_users(faulty.direct)
    assert sorted(users) == sorted(["root", *names])
    store = UserStore(faulty.direct)
    assert all(store.verify(n, PASSWORD).role == "publisher" for n in names)
    adds = audit.latest(faulty.direct, 100, actions={"user.add"})
    assert sorted(e["user"] for e in adds) == sorted(["root", *names])


@pytest.mark.parametrize("action", ["503", "500", "drop"])
def test_exhausted_retries_leave_the_store_as_it_was(faulty, action):
    store = UserStore(faulty.storage)
    store.add("alice", PASSWORD, "admin")
    before = faulty.direct.read(USERS_KEY)
    faulty.proxy.add_rule("PUT", USERS, action=action, times=EXHAUST)
    with pytest.raises(StorageError, match="users.json"):
        store.set_password("alice", "another password 1")
    after = faulty.direct.read(USERS_KEY)
    assert (after.body, after.etag) == (before.body, before.etag)
    assert len(faulty.proxy.faults()) == EXHAUST
    assert store.verify("alice", PASSWORD) is not None  # the old password still works
    store.set_password("alice", "another password 1")  # the rule is spent: it completes
    assert store.verify("alice", "another password 1") is not None


def test_failed_cli_add_is_one_clear_line_and_the_retry_completes(faulty, monkeypatch):
    UserStore(faulty.storage).add("root", PASSWORD, "admin")
    before = faulty.direct.read(USERS_KEY).body
    faulty.proxy.add_rule("PUT", USERS, action="503", times=EXHAUST)
    add = ("users", "add", "bob", "--role", "publisher", "--password-stdin")
    result = run_cli(faulty, monkeypatch, *add, stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "users.json" in lines[0]
    assert "Traceback" not in result.output
    assert faulty.direct.read(USERS_KEY).body == before
    assert "bob" not in stored_users(faulty.direct)

    result = run_cli(faulty, monkeypatch, *add, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Added bob (publisher)." in result.output
    assert UserStore(faulty.direct).verify("bob", PASSWORD).role == "publisher"


def test_faults_on_reads_fail_closed_not_empty(faulty):
    """A store that cannot be read is an error, never an empty store to write over."""
    store = UserStore(faulty.storage)
    store.add("alice", PASSWORD, "admin")
    faulty.proxy.add_rule("GET", USERS, action="503", times=EXHAUST)
    with pytest.raises(StorageError):
        store.add("bob", PASSWORD)
    assert sorted(stored_users(faulty.direct)) == ["alice"]
    faulty.proxy.add_rule("GET", USERS, action="drop", times=EXHAUST)
    with pytest.raises(StorageError):
        store.verify("alice", PASSWORD)


def test_slow_store_write_does_not_let_a_racing_admin_overwrite(faulty):
    """A PUT held for a second: the concurrent change wins its If-Match race, the slow
    one retries on the new ETag; both changes end up in the store."""
    store = UserStore(faulty.storage)
    store.add("root", PASSWORD, "admin")
    faulty.proxy.add_rule("PUT", USERS, action="delay", delay=1.0, times=1)
    slow = threading.Thread(target=lambda: store.add("slow", PASSWORD))
    slow.start()
    UserStore(faulty.direct).add("fast", PASSWORD)
    slow.join(timeout=30)
    assert sorted(stored_users(faulty.direct)) == ["fast", "root", "slow"]


def test_audit_failure_after_the_store_write_loses_no_user(faulty, caplog):
    """The store write is the commit point: if only the audit append fails, the change
    stands and is reported as done, with a warning naming the event that was lost."""
    store = UserStore(faulty.storage)
    store.add("root", PASSWORD, "admin")
    faulty.proxy.add_rule("PUT", "config/audit/", action="503", times=EXHAUST)
    assert store.add("bob", PASSWORD).name == "bob"
    assert "bob" in stored_users(faulty.direct)
    assert "its audit event" in caplog.text
    assert "'user.add'" in caplog.text
    assert [e["user"] for e in audit.latest(faulty.direct, 5)] == ["root"]


# Every change, each checked on the store as S3 holds it (faulty.direct).
NEW_PASSWORD = "a new password 7"
CHANGES = {
    "user.add": (
        lambda s: s.add("bob", PASSWORD, "publisher"),
        lambda s: s.verify("bob", PASSWORD).role == "publisher",
        "bob",
    ),
    "user.passwd": (
        lambda s: s.set_password("alice", NEW_PASSWORD),
        lambda s: s.verify("alice", NEW_PASSWORD) is not None,
        "alice",
    ),
    "user.role": (
        lambda s: s.set_role("alice", "publisher"),
        lambda s: s.get("alice").role == "publisher",
        "alice",
    ),
    "user.disable": (
        lambda s: s.set_enabled("alice", False),
        lambda s: not s.get("alice").enabled,
        "alice",
    ),
    "user.remove": (
        lambda s: s.remove("alice"),
        lambda s: [u.name for u in s.list()] == ["root"],
        "alice",
    ),
}


@pytest.fixture
def two_users(faulty):
    store = UserStore(faulty.direct, actor="tests")
    store.add("root", PASSWORD, "admin")
    store.add("alice", PASSWORD, "reader")
    return faulty


@pytest.mark.parametrize("then", ["412 on the retry", "retries exhausted"])
@pytest.mark.parametrize("action", sorted(CHANGES))
def test_applied_write_whose_answer_was_lost_is_success(two_users, action, then):
    """S3 applies the PUT but its answer is lost; boto3's retry then meets a 412 (the
    ETag moved: our own write) or three more faults. Either way the change is done: it
    returns, the store holds it, and its audit event is recorded once."""
    faulty = two_users
    change, holds, user = CHANGES[action]
    faulty.proxy.add_rule("PUT", USERS, action="drop_after", times=1)
    if then == "retries exhausted":
        faulty.proxy.add_rule("PUT", USERS, action="503", times=EXHAUST - 1)
    change(UserStore(faulty.storage, actor="root"))
    assert len(faulty.proxy.faults()) == (1 if then == "412 on the retry" else EXHAUST)
    assert holds(UserStore(faulty.direct))
    events = audit.latest(faulty.direct, 1)
    assert [(e["action"], e["actor"], e["user"]) for e in events] == [(action, "root", user)]


def test_write_that_was_not_applied_still_fails(two_users):
    """The same exhausted retries without the write having landed: an error, as before."""
    faulty = two_users
    faulty.proxy.add_rule("PUT", USERS, action="503", times=EXHAUST)
    with pytest.raises(StorageError, match="users.json"):
        UserStore(faulty.storage).set_role("alice", "publisher")
    assert UserStore(faulty.direct).get("alice").role == "reader"


def test_cli_add_applied_but_unanswered_says_added_and_is_audited(faulty, monkeypatch):
    UserStore(faulty.direct).add("root", PASSWORD, "admin")
    faulty.proxy.add_rule("PUT", USERS, action="drop_after", times=1)
    faulty.proxy.add_rule("PUT", USERS, action="503", times=EXHAUST - 1)
    add = ("users", "add", "bob", "--role", "publisher", "--password-stdin")
    result = run_cli(faulty, monkeypatch, *add, stdin=PASSWORD + "\n")
    assert (result.exit_code, result.output) == (0, "Added bob (publisher).\n")
    assert UserStore(faulty.direct).verify("bob", PASSWORD).role == "publisher"
    event = audit.latest(faulty.direct, 1)[0]
    assert (event["action"], event["actor"], event["user"]) == ("user.add", "cli", "bob")


def _timed(call):
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def test_console_sign_in_answers_503_within_the_bound_while_the_store_hangs(faulty):
    """Every read of the user store held at the proxy (a store that hangs): a sign-in
    answers 503 with a sentence after one bounded read, not after boto3's retries (4 x 60
    s) nor with a 500; a signed-in session is refused the same way (fail closed); once the
    store answers again, signing in works."""
    seed_users(faulty.direct)
    client = make_console(faulty.storage, USER_STORE_TIMEOUT=1.0).test_client()
    assert login(client, "admin").status_code == 303
    rule = faulty.proxy.add_rule("GET", USERS, action="delay", delay=120, times=1000)
    fresh = make_console(faulty.storage, USER_STORE_TIMEOUT=1.0).test_client()
    response, took = _timed(lambda: login(fresh, "reader"))
    assert response.status_code == 503
    assert "The user store cannot be read right now, so nobody can sign in" in text(response)
    assert took < 10, f"the sign-in took {took:.1f} s against a 1 s bound"
    response, took = _timed(lambda: client.get("/users"))
    assert response.status_code == 302
    assert "/login" in response.location
    assert took < 10, f"the session check took {took:.1f} s against a 1 s bound"
    assert rule.fired >= 2
    faulty.proxy.clear()  # the store answers again
    assert login(fresh, "reader").status_code == 303
    assert client.get("/users").status_code == 200
