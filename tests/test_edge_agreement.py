"""The edge (standard library only, never importing privpi) keeps its own copies of a
few rules; these tests hold each copy to privpi's by behaviour, on the same inputs."""

from __future__ import annotations

import base64
import copy
import itertools
import json

import pytest
from packaging.utils import InvalidName, canonicalize_name
from passlib.hash import pbkdf2_sha256

from edge import basic_auth, paths, pbkdf2
from edge.userstore import OK, UserCache
from privpi import keys, users
from privpi.errors import UserStoreError
from privpi.keys import USERS_KEY
from privpi.users import User, UserStore
from tests.support.edge import MemorySource, store_doc

# Every name of up to three characters over letters, digits and the separators, plus
# real and odd names: enough to tell apart any two different rules.
NAMES = ["".join(chars) for n in (1, 2, 3) for chars in itertools.product("aZ0._-!", repeat=n)] + [
    "Django",
    "zope.interface",
    "ruamel.yaml.clib",
    "Foo__Bar",
    "foo-_-bar",
    "a..b",
    "-lead",
    "trail_",
    "with space",
    "ünïcode",
    "x" * 255,
]


def packaging_valid(name: str) -> bool:
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        return False
    return True


def test_project_names_normalize_and_validate_alike():
    for name in NAMES:
        assert paths.canonical(name) == canonicalize_name(name), name
        assert bool(paths.PROJECT.match(name)) == packaging_valid(name), name


def test_the_edge_serves_a_project_page_at_the_key_privpi_writes():
    served = [n for n in NAMES if packaging_valid(n)]
    assert len(served) > 50
    for name in served:
        page = paths.route(f"/simple/{canonicalize_name(name)}/")
        assert page.kind == "index", name
        for fmt, key in (("json", keys.project_json), ("html", keys.project_html)):
            assert paths.origin_uri(page, fmt) == "/" + key(canonicalize_name(name)), name


def test_a_file_is_fetched_from_the_key_privpi_writes():
    route = paths.route("/files/demo/demo-1.0-py3-none-any.whl")
    assert route.kind == "file"
    uri = paths.origin_uri(route, "json")
    assert uri == "/" + keys.file_key("demo", "demo-1.0-py3-none-any.whl")


def test_the_json_type_privpi_stores_is_the_one_the_edge_negotiates():
    stored = keys.content_type(keys.project_json("demo"))
    assert stored == keys.JSON_TYPE
    assert paths.negotiate(stored) == "json"
    assert paths.negotiate(f"text/html;q=0.5, {stored}") == "json"
    assert paths.negotiate(keys.content_type(keys.project_html("demo"))) == "html"


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": [{"key": "Authorization", "value": f"Basic {token}"}]}


@pytest.mark.parametrize("char", ["p", "é", "🔑"])  # 1, 2 and 4 bytes in UTF-8
def test_the_longest_password_privpi_accepts_is_the_longest_the_edge_accepts(char):
    longest = char * users.MAX_PASSWORD
    assert users.check_password(longest) == longest
    assert basic_auth.credentials(basic("alice", longest)) == ("alice", longest)
    assert pbkdf2.verify(longest, pbkdf2_sha256.using(rounds=1000).hash(longest))
    with pytest.raises(UserStoreError, match="at most"):
        users.check_password(longest + char)
    assert basic_auth.credentials(basic("alice", longest + char)) is None


def test_the_longest_username_privpi_accepts_is_the_longest_the_edge_accepts():
    longest = "u" * users.MAX_USERNAME
    assert users.check_username(longest) == longest
    assert basic_auth.credentials(basic(longest, "secret")) == (longest, "secret")
    with pytest.raises(UserStoreError, match="characters long"):
        users.check_username(longest + "u")
    assert basic_auth.credentials(basic(longest + "u", "secret")) is None


class Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING = Missing()
ENABLED_VALUES = [True, False, None, 1, 0, "true", "True", "yes", [True], {}, MISSING]


@pytest.mark.parametrize("value", ENABLED_VALUES, ids=repr)
def test_a_user_is_enabled_for_privpi_exactly_when_for_the_edge(folder_storage, value):
    password = "correct horse battery"
    doc = store_doc(alice=(password, True))
    rec = doc["users"]["alice"]
    if value is MISSING:
        del rec["enabled"]
    else:
        rec["enabled"] = value
    folder_storage.write(USERS_KEY, json.dumps(doc).encode())

    edge = UserCache(MemorySource(copy.deepcopy(doc))).check("alice", password) == OK
    cli = UserStore(folder_storage).verify("alice", password) is not None
    listed = User.from_record("alice", rec).enabled
    assert edge == cli == listed == (value is True)
