"""Tokens and grants in the user store: format version 2, authenticate, Principal."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from passlib.hash import pbkdf2_sha256

from privpi import audit, tokens
from privpi.errors import UserConflict, UserStoreError
from privpi.keys import USERS_KEY
from privpi.principal import Forbidden
from privpi.users import UserStore

PASSWORD = "correct horse battery"


@pytest.fixture
def store(folder_storage) -> UserStore:
    s = UserStore(folder_storage, actor="cli")
    s.add("admin", PASSWORD, "admin")
    s.add("alice", PASSWORD, "publisher")
    s.add("rita", PASSWORD, "reader")
    return s


def stored(storage) -> dict:
    return json.loads(storage.read(USERS_KEY).body)


def test_a_token_is_the_prefix_and_256_random_bits_and_only_its_sha256_is_kept(store):
    secret, info = store.create_token("alice", "ci", "publish", ["Acme_Lib"], 30)
    assert secret.startswith("privpi_")
    assert len(secret) >= len("privpi_") + 43
    assert (info.label, info.scope, info.projects) == ("ci", "publish", ("acme-lib",))
    doc = stored(store.storage)
    assert doc["version"] == 2
    rec = doc["users"]["alice"]["tokens"]["ci"]
    assert rec["sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in store.storage.read(USERS_KEY).body.decode()
    other, _ = store.create_token("alice", "ci2")
    assert other != secret


def test_authenticate_a_token_as_token_user_or_owner(store):
    secret, _ = store.create_token("alice", "ci", "publish", ["acme-lib"])
    for name in ("__token__", "alice"):
        p = store.authenticate(name, secret)
        assert (p.user, p.role, p.scope, p.via_token) == ("alice", "publisher", "publish", "ci")
        assert p.projects == frozenset({"acme-lib"})
    assert store.authenticate("admin", secret) is None  # someone else's name
    assert store.authenticate("__token__", secret + "x") is None
    assert store.authenticate("__token__", PASSWORD) is None
    p = store.authenticate("alice", PASSWORD)
    assert (p.user, p.role, p.scope, p.projects, p.via_token) == (
        "alice",
        "publisher",
        None,
        None,
        None,
    )
    assert store.authenticate("alice", "wrong password!") is None


def test_a_password_that_starts_like_a_token_still_works(store):
    store.add("pat", "privpi_my_password", "reader")
    assert store.authenticate("pat", "privpi_my_password").user == "pat"


def test_a_token_never_exceeds_its_users_role(store):
    with pytest.raises(UserStoreError, match="rita is a reader: a publish token needs"):
        store.create_token("rita", "ci", "publish")
    secret, _ = store.create_token("alice", "ci", "publish")
    store.set_role("alice", "reader")
    p = store.authenticate("__token__", secret)
    assert p.role == "reader"
    assert not p.may_publish("anything")
    read, _ = store.create_token("admin", "r", "read")
    p = store.authenticate("__token__", read)
    assert p.role == "reader"
    assert not p.has_role("publisher")


def test_disabled_or_removed_users_tokens_stop_at_once(store):
    secret, _ = store.create_token("alice", "ci")
    store.set_enabled("alice", False)
    assert store.authenticate("__token__", secret) is None
    store.set_enabled("alice", True)
    assert store.authenticate("__token__", secret) is not None
    store.remove("alice")
    assert store.authenticate("__token__", secret) is None


def test_revoked_and_expired_tokens_are_refused(store):
    secret, _ = store.create_token("alice", "ci", expires_days=1)
    assert store.authenticate("__token__", secret) is not None
    doc = stored(store.storage)
    past = datetime.now(UTC) - timedelta(seconds=1)
    doc["users"]["alice"]["tokens"]["ci"]["expires"] = tokens.stamp(past)
    store.storage.write(USERS_KEY, json.dumps(doc).encode())
    assert store.authenticate("__token__", secret) is None
    assert [i.expired for i in store.tokens("alice")] == [True]
    fresh, _ = store.create_token("alice", "ci2")
    store.revoke_token("alice", "ci2")
    assert store.authenticate("__token__", fresh) is None
    with pytest.raises(UserConflict, match="no token labelled 'ci2'"):
        store.revoke_token("alice", "ci2")


def test_labels_are_unique_per_user_and_checked(store):
    store.create_token("alice", "ci")
    with pytest.raises(UserConflict, match="already has a token labelled 'ci'"):
        store.create_token("alice", "ci")
    store.create_token("admin", "ci")  # another user may use the same label
    with pytest.raises(UserStoreError, match="token label"):
        store.create_token("alice", "bad label")
    with pytest.raises(UserStoreError, match="not a valid project name"):
        store.create_token("alice", "x", projects=["-bad-"])
    with pytest.raises(UserConflict, match="no user named 'nobody'"):
        store.create_token("nobody")
    with pytest.raises(UserStoreError, match="reserved"):
        store.add("__token__", PASSWORD)


def test_token_list_never_shows_a_secret(store):
    secret, _ = store.create_token("alice", "ci", "publish", ["b", "a"], 7)
    store.create_token("admin", "ops")
    infos = store.tokens()
    assert [(i.user, i.label) for i in infos] == [("admin", "ops"), ("alice", "ci")]
    assert infos[1].projects == ("a", "b")
    assert infos[1].expires
    assert not infos[1].expired
    assert secret not in repr(infos)
    assert "sha256" not in repr(infos)
    assert store.tokens("rita") == []


def test_grants_limit_publishing_to_matching_projects(store):
    assert store.grant("alice", "Acme_*") == "acme-*"
    p = store.authenticate("alice", PASSWORD)
    assert p.grants == ("acme-*",)
    assert p.may_publish("acme-lib")
    assert p.may_publish("Acme.Tools")
    assert not p.may_publish("secretpkg")
    with pytest.raises(Forbidden, match="alice may not publish to project 'secretpkg'") as e:
        p.require_publish("secretpkg")
    assert e.value.status == 403
    assert "acme-*" in e.value.message
    assert p.may_read("secretpkg")  # grants limit publishing, not reading
    store.ungrant("alice", "acme-*")
    assert store.authenticate("alice", PASSWORD).may_publish("secretpkg")
    with pytest.raises(UserConflict, match="no grant"):
        store.ungrant("alice", "acme-*")
    with pytest.raises(UserStoreError, match="grant pattern"):
        store.grant("alice", "a/b")


def test_project_limited_token_reads_and_publishes_only_its_projects(store):
    secret, _ = store.create_token("alice", "ci", "publish", ["acme-lib"])
    p = store.authenticate("__token__", secret)
    assert p.may_read("Acme-Lib")
    assert p.may_publish("acme_lib")
    assert not p.may_read("other")
    assert not p.may_publish("other")
    with pytest.raises(Forbidden, match="limited to acme-lib"):
        p.require_publish("other")
    read, _ = store.create_token("alice", "r", "read")
    with pytest.raises(Forbidden, match="'r' of alice may not publish.*read token"):
        store.authenticate("__token__", read).require_publish("acme-lib")


def test_a_token_inherits_its_owners_grants(store):
    store.grant("alice", "acme-*")
    secret, _ = store.create_token("alice", "ci", "publish")
    p = store.authenticate("__token__", secret)
    assert p.may_publish("acme-lib")
    assert not p.may_publish("secretpkg")


def test_every_create_revoke_and_grant_is_an_audit_event(store):
    store.create_token("alice", "ci", "publish", ["acme-lib"], 3)
    store.revoke_token("alice", "ci")
    store.grant("alice", "acme-*")
    store.ungrant("alice", "acme-*")
    events = audit.latest(store.storage, 4)
    assert [e["action"] for e in events] == [
        "user.ungrant",
        "user.grant",
        "token.revoke",
        "token.create",
    ]
    created = events[3]
    assert (created["user"], created["label"], created["scope"]) == ("alice", "ci", "publish")
    assert created["projects"] == ["acme-lib"]
    assert created["expires"]
    assert all("sha256" not in e for e in events)


def test_a_version_1_store_is_read_as_is_and_upgraded_without_loss(folder_storage):
    v1 = {
        "version": 1,
        "users": {
            "alice": {
                "hash": pbkdf2_sha256.using(rounds=1000).hash(PASSWORD),
                "roles": ["publisher"],
                "enabled": True,
                "created": "2025-01-01T00:00:00Z",
                "updated": "2025-02-01T00:00:00Z",
                "note": "a field this privpi does not know",
            }
        },
        "extra": {"kept": True},
    }
    v1["users"]["bob"] = dict(v1["users"]["alice"], roles=["reader"], enabled=False)
    folder_storage.write(USERS_KEY, json.dumps(v1).encode())
    s = UserStore(folder_storage)
    assert [u.name for u in s.list()] == ["alice", "bob"]
    assert s.authenticate("alice", PASSWORD).role == "publisher"  # read as is
    assert stored(folder_storage) == v1  # reading writes nothing
    secret, _ = s.create_token("alice", "ci", "publish")
    after = stored(folder_storage)
    assert after["version"] == 2
    assert after["extra"] == v1["extra"]
    assert after["users"]["bob"] == v1["users"]["bob"]
    alice = dict(after["users"]["alice"])
    assert set(alice.pop("tokens")) == {"ci"}
    assert alice == v1["users"]["alice"]
    assert s.authenticate("alice", PASSWORD)
    assert s.authenticate("__token__", secret)


def test_an_unknown_version_or_bad_tokens_are_refused_as_corrupt(folder_storage):
    s = UserStore(folder_storage)
    s.add("alice", PASSWORD)
    doc = stored(folder_storage)
    folder_storage.write(USERS_KEY, json.dumps(dict(doc, version=3)).encode())
    with pytest.raises(UserStoreError, match="format version 3"):
        s.list()
    doc["users"]["alice"]["tokens"] = ["not", "a", "dict"]
    folder_storage.write(USERS_KEY, json.dumps(doc).encode())
    with pytest.raises(UserStoreError, match="bad tokens or grants for 'alice'"):
        s.list()


@pytest.mark.parametrize(
    "broken",
    [
        {"scope": "admin"},
        {"sha256": "XYZ"},
        {"projects": "acme-lib"},
        {"expires": "tomorrow"},
        {"expires": "2999-01-01T00:00:00"},  # no time zone: unreadable, so refused
    ],
)
def test_a_hand_edited_token_record_fails_closed(store, broken):
    secret, _ = store.create_token("alice", "ci")
    doc = stored(store.storage)
    doc["users"]["alice"]["tokens"]["ci"].update(broken)
    store.storage.write(USERS_KEY, json.dumps(doc).encode())
    assert store.authenticate("__token__", secret) is None
