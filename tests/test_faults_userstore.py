"""User-store writes under S3 faults (moto behind tests/faultproxy.py): nothing is lost.

Faults that boto3's retries absorb must be invisible; faults that exhaust them must fail
the command with one clear line and leave ``config/users.json`` as it was; running the
same command again must then complete.
"""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from faultproxy import EXHAUST

from privpi import audit
from privpi.cli import main
from privpi.errors import StorageError
from privpi.users import USERS_KEY, UserStore

pytest_plugins = ("fault_fixtures",)  # the faulty and fault_proxy fixtures

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
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "users.json" in lines[0]
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
    assert "its audit event" in caplog.text and "'user.add'" in caplog.text
    assert [e["user"] for e in audit.latest(faulty.direct, 5)] == ["root"]


def test_lost_answer_to_an_applied_write_loses_nothing(faulty):
    """S3 applies the PUT but the answer never arrives (dropped after forwarding)."""
    store = UserStore(faulty.storage, actor="root")
    store.add("root", PASSWORD, "admin")
    faulty.proxy.add_rule("PUT", USERS, action="drop_after", times=1)
    store.add("bob", PASSWORD)
    assert UserStore(faulty.direct).verify("bob", PASSWORD).name == "bob"


def test_lost_answer_to_an_applied_write_is_not_reported_as_a_conflict(faulty):
    store = UserStore(faulty.storage, actor="root")
    store.add("root", PASSWORD, "admin")
    faulty.proxy.add_rule("PUT", USERS, action="drop_after", times=1)
    store.add("bob", PASSWORD)
    assert [e["user"] for e in audit.latest(faulty.direct, 1)] == ["bob"]
