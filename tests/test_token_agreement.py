"""The edge's token check and Basic decoding (standard library only) against privpi's:
the same store and the same credentials get the same answers from both."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from edge import basic_auth
from edge.userstore import EVERY_PROJECT, UserCache
from privpi import basicauth, tokens
from privpi.keys import USERS_KEY
from privpi.users import UserStore
from tests.support.edge import MemorySource

PASSWORD = "correct horse battery"
PAST = tokens.stamp(datetime.now(UTC) - timedelta(minutes=1))
FUTURE = tokens.stamp(datetime.now(UTC) + timedelta(days=1))


@pytest.fixture
def world(folder_storage):
    """A store with users and tokens of every kind; (store, {label: secret})."""
    s = UserStore(folder_storage)
    s.add("alice", PASSWORD, "publisher")
    s.add("bob", PASSWORD, "reader")
    s.add("carol", "privpi_password_of_carol", "admin")
    secrets = {}
    for owner, label, scope, projects, days in [
        ("alice", "all", "publish", (), None),
        ("alice", "one", "publish", ("acme-lib",), 30),
        ("alice", "two", "read", ("acme-lib", "other"), None),
        ("alice", "old", "read", (), 1),
        ("alice", "gone", "read", (), None),
        ("bob", "bob", "read", (), None),
        ("carol", "carol", "read", (), None),
    ]:
        secrets[label] = s.create_token(owner, label, scope, projects, days)[0]
    s.revoke_token("alice", "gone")
    s.set_enabled("bob", False)
    doc = json.loads(folder_storage.read(USERS_KEY).body)
    doc["users"]["alice"]["tokens"]["old"]["expires"] = PAST
    folder_storage.write(USERS_KEY, json.dumps(doc).encode())
    return s, secrets


def answers(store: UserStore, name: str, secret: str):
    doc = json.loads(store.storage.read(USERS_KEY).body)
    edge = UserCache(MemorySource(copy.deepcopy(doc))).access(name, secret)
    core = store.authenticate(name, secret)
    core_answer = None if core is None else core.projects
    if core is not None and core.projects is None:
        core_answer = EVERY_PROJECT
    return edge, core_answer


NAMES = ["__token__", "alice", "bob", "carol", "nobody"]


@pytest.mark.parametrize("label", ["all", "one", "two", "old", "gone", "bob", "carol"])
@pytest.mark.parametrize("name", NAMES)
def test_every_token_gets_the_same_answer(world, label, name):
    store, secrets = world
    edge, core = answers(store, name, secrets[label])
    assert edge == core


def test_the_answers_are_the_expected_ones(world):
    store, secrets = world
    assert answers(store, "__token__", secrets["all"]) == (EVERY_PROJECT, EVERY_PROJECT)
    limited = frozenset({"acme-lib", "other"})
    assert answers(store, "alice", secrets["two"]) == (limited, limited)
    for name, label in [
        ("bob", "all"),  # not the owner's name
        ("__token__", "old"),  # expired
        ("__token__", "gone"),  # revoked
        ("__token__", "bob"),  # owner disabled
    ]:
        assert answers(store, name, secrets[label]) == (None, None), (name, label)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("alice", PASSWORD),
        ("alice", "privpi_" + "x" * 43),
        ("carol", "privpi_password_of_carol"),  # a password that starts like a token
        ("__token__", PASSWORD),
        ("__token__", ""),
        ("bob", PASSWORD),  # disabled
    ],
)
def test_passwords_and_non_tokens_get_the_same_answer(world, name, secret):
    store, _ = world
    edge, core = answers(store, name, secret)
    assert edge == core


@pytest.mark.parametrize(
    "broken",
    [
        {"scope": "admin"},
        {"scope": None},
        {"sha256": "A" * 64},
        {"sha256": 5},
        {"projects": "acme-lib"},
        {"projects": [1]},
        {"expires": "tomorrow"},
        {"expires": "2999-01-01T00:00:00"},
        pytest.param({"expires": FUTURE}, id="future"),
        pytest.param({"expires": PAST}, id="past"),
        {"projects": []},
    ],
    ids=repr,
)
def test_hand_edited_token_records_get_the_same_answer(world, broken):
    store, secrets = world
    doc = json.loads(store.storage.read(USERS_KEY).body)
    doc["users"]["alice"]["tokens"]["all"].update(broken)
    store.storage.write(USERS_KEY, json.dumps(doc).encode())
    edge, core = answers(store, "__token__", secrets["all"])
    assert edge == core


def test_a_token_record_that_is_not_an_object_is_skipped_alike(world):
    store, secrets = world
    doc = json.loads(store.storage.read(USERS_KEY).body)
    doc["users"]["alice"]["tokens"]["junk"] = "privpi_x"
    store.storage.write(USERS_KEY, json.dumps(doc).encode())
    assert answers(store, "__token__", secrets["one"]) == ({"acme-lib"}, {"acme-lib"})


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


HEADERS = [
    header("alice:pässword".encode()),
    header("alice:pässword".encode("latin-1")),  # what requests sends
    header("ålice:secret".encode("latin-1")),
    header(b"alice:\xff\xfe\x80"),
    header(b"alice:"),
    header(b":pw"),
    header(b"nocolon"),
    header(b"a\x01b:pw"),
    header("alice:🔑".encode()),
    header(b"u" * 65 + b":pw"),
    header(b"alice:" + b"p" * 1025),
    "Basic",
    "Basic !!!!",
    "Basic YWxpY2U6cHc",  # unpadded
    "Bearer abc",
    "basic " + base64.b64encode(b"alice:pw").decode(),
    "",
]


@pytest.mark.parametrize("value", HEADERS)
def test_basic_credentials_are_decoded_alike(value):
    cf = {"authorization": [{"key": "Authorization", "value": value}]}
    assert basic_auth.credentials(cf) == basicauth.credentials(value)


def test_latin_1_credentials_are_read_as_latin_1():
    value = header("alice:pässword".encode("latin-1"))
    assert basicauth.credentials(value) == ("alice", "pässword")
    assert basicauth.credentials(header("alice:pässword".encode())) == ("alice", "pässword")
