"""The user store: validation, roles, constant-time verify, conflicts, corruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from privpi import audit
from privpi.errors import UserStoreError
from privpi.keys import USERS_KEY
from privpi.storage import open_storage
from privpi.users import UserStore

PASSWORD = "correct horse battery"


def test_add_and_verify(storage):
    s = UserStore(storage)
    user = s.add("alice", PASSWORD, "publisher")
    assert (user.name, user.role, user.enabled) == ("alice", "publisher", True)
    assert s.verify("alice", PASSWORD).name == "alice"
    assert s.verify("alice", PASSWORD + "x") is None
    assert s.verify("nobody", PASSWORD) is None
    doc = json.loads(storage.read(USERS_KEY).body)
    assert doc["version"] == 2
    assert doc["users"]["alice"]["hash"].startswith("$pbkdf2-sha256$1000$")
    assert PASSWORD not in storage.read(USERS_KEY).body.decode()


def test_roles_are_ordered(storage):
    s = UserStore(storage)
    s.add("r", PASSWORD)
    s.add("a", PASSWORD, "admin")
    r, a = s.get("r"), s.get("a")
    assert r.has_role("reader")
    assert not r.has_role("publisher")
    assert a.has_role("reader")
    assert a.has_role("publisher")
    assert a.has_role("admin")


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("", PASSWORD, "reader", "1 to 64 characters"),
        ("x" * 65, PASSWORD, "reader", "1 to 64 characters"),
        ("a:b", PASSWORD, "reader", "may not contain ':'"),
        ("a\nb", PASSWORD, "reader", "control characters"),
        ("bob", "short", "reader", "at least 12 characters"),
        ("bob", PASSWORD, "root", "unknown role 'root'"),
    ],
)
def test_bad_values_are_refused(storage, name, password, role, message):
    with pytest.raises(UserStoreError, match=message):
        UserStore(storage).add(name, password, role)
    assert not storage.exists(USERS_KEY)


def test_duplicate_and_unknown_users(storage):
    s = UserStore(storage)
    s.add("alice", PASSWORD)
    before = storage.read(USERS_KEY).body
    with pytest.raises(UserStoreError, match="already exists"):
        s.add("alice", PASSWORD)
    for change in (
        lambda: s.remove("bob"),
        lambda: s.set_password("bob", PASSWORD),
        lambda: s.set_enabled("bob", False),
        lambda: s.set_role("bob", "admin"),
    ):
        with pytest.raises(UserStoreError, match="no user named 'bob'"):
            change()
    assert storage.read(USERS_KEY).body == before


def test_disabled_user_cannot_verify(storage):
    s = UserStore(storage)
    s.add("alice", PASSWORD)
    s.set_enabled("alice", False)
    assert s.verify("alice", PASSWORD) is None
    s.set_enabled("alice", True)
    assert s.verify("alice", PASSWORD) is not None


def test_password_change(storage):
    s = UserStore(storage)
    s.add("alice", PASSWORD)
    s.set_password("alice", "another long password")
    assert s.verify("alice", PASSWORD) is None
    assert s.verify("alice", "another long password") is not None


def test_last_admin_is_protected(storage):
    s = UserStore(storage)
    s.add("root", PASSWORD, "admin")
    for change in (
        lambda: s.remove("root"),
        lambda: s.set_role("root", "reader"),
        lambda: s.set_enabled("root", False),
    ):
        with pytest.raises(UserStoreError, match="last enabled admin"):
            change()
    s.add("second", PASSWORD, "admin")
    s.set_role("root", "reader")
    assert s.get("root").role == "reader"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "no 'users' object"),
        (b'{"version": 7, "users": {}}', "format version 7"),
        (b'{"version": 1, "users": {"a": 3}}', "bad record for 'a'"),
    ],
)
def test_corrupt_store_is_reported_not_overwritten(storage, body, message):
    storage.write(USERS_KEY, body)
    s = UserStore(storage)
    with pytest.raises(UserStoreError, match=message):
        s.add("alice", PASSWORD)
    with pytest.raises(UserStoreError, match="corrupt|format version"):
        s.list()
    assert storage.read(USERS_KEY).body == body


def test_changes_are_audited(storage):
    s = UserStore(storage, actor="root")
    s.add("alice", PASSWORD, "publisher")
    s.set_enabled("alice", False)
    events = audit.latest(storage, 10)
    assert [(e["action"], e["actor"], e["user"]) for e in events] == [
        ("user.disable", "root", "alice"),
        ("user.add", "root", "alice"),
    ]
    assert all("hash" not in e for e in events)


ADD_USER = """
import sys
from privpi.storage import open_storage
from privpi.users import UserStore
UserStore(open_storage(sys.argv[1])).add(sys.argv[2], "a password long enough")
"""


@pytest.mark.slow
def test_concurrent_processes_all_keep_their_user(storage_url):
    """12 processes add a user each at the same moment: every one of them survives."""
    names = [f"user{i}" for i in range(12)]
    procs = [
        subprocess.Popen([sys.executable, "-c", ADD_USER, storage_url, n], env=dict(os.environ))
        for n in names
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(names)
    assert sorted(u.name for u in UserStore(open_storage(storage_url)).list()) == sorted(names)
