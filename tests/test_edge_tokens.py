"""Tokens at the authenticator: what a request with one gets from the viewer-request handler."""

from __future__ import annotations

import base64
import json

import pytest

from edge import viewer_request
from edge.userstore import UserCache
from privpi.keys import USERS_KEY
from privpi.users import UserStore
from tests.support.edge import Clock, MemorySource, request_event

PASSWORD = "correct horse battery"


@pytest.fixture
def edge(folder_storage):
    """(UserStore, MemorySource the edge reads, clock, publish the store to the edge)."""
    store = UserStore(folder_storage)
    store.add("alice", PASSWORD, "publisher")
    source, clock = MemorySource(None), Clock()

    def publish():
        source.put(json.loads(folder_storage.read(USERS_KEY).body))
        clock.now += 61  # past the refresh interval

    publish()
    viewer_request.configure(UserCache(source, clock=clock), realm="privpi")
    yield store, publish
    viewer_request.configure(None)


def get(uri: str, user: str, secret: str) -> dict:
    auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    return viewer_request.handler(request_event(uri, headers={"Authorization": auth}))


def status(resp: dict) -> str:
    return resp.get("status", "200 (forwarded)")


def test_a_token_reads_as_token_user_or_owner_without_pbkdf2(edge):
    store, publish = edge
    secret, _ = store.create_token("alice", "ci")
    publish()
    for user in ("__token__", "alice"):
        req = get("/simple/demo/", user, secret)
        assert req["uri"] == "/packages/simple/demo/index.html"
        assert "authorization" not in req["headers"]


def test_a_project_limited_token_gets_403_for_other_projects_but_sees_the_root_list(edge):
    store, publish = edge
    secret, _ = store.create_token("alice", "ci", projects=["acme-lib"])
    publish()
    assert get("/simple/", "__token__", secret)["uri"] == "/packages/simple/index.html"
    assert get("/simple/acme-lib/", "__token__", secret)["uri"].endswith("acme-lib/index.html")
    ok = get("/files/acme-lib/acme_lib-1.0-py3-none-any.whl", "__token__", secret)
    assert ok["uri"] == "/packages/files/acme-lib/acme_lib-1.0-py3-none-any.whl"
    for uri in ("/simple/other/", "/files/other/other-1.0.tar.gz", "/files/other/x.whl.metadata"):
        resp = get(uri, "__token__", secret)
        assert status(resp) == "403", uri
        assert "this token does not cover other" in resp["body"]
    # a non-normalized name is sent to its normalized URL first, then refused there
    assert status(get("/simple/Other/", "__token__", secret)) == "301"


def test_revoked_expired_and_disabled_owners_tokens_are_refused_after_a_refresh(edge):
    store, publish = edge
    secret, _ = store.create_token("alice", "ci")
    publish()
    assert "uri" in get("/simple/", "__token__", secret)
    store.revoke_token("alice", "ci")
    publish()
    assert status(get("/simple/", "__token__", secret)) == "401"
    secret, _ = store.create_token("alice", "ci2")
    store.set_enabled("alice", False)
    publish()
    assert status(get("/simple/", "__token__", secret)) == "401"
    store.set_enabled("alice", True)
    doc = json.loads(store.storage.read(USERS_KEY).body)
    doc["users"]["alice"]["tokens"]["ci2"]["expires"] = "2000-01-01T00:00:00Z"
    store.storage.write(USERS_KEY, json.dumps(doc).encode())
    publish()
    resp = get("/simple/", "__token__", secret)
    assert status(resp) == "401"
    challenge = resp["headers"]["www-authenticate"][0]["value"]
    assert challenge == 'Basic realm="privpi", charset="UTF-8"'


def test_a_latin_1_password_is_accepted(edge):
    store, publish = edge
    store.add("eve", "pässword-with-é", "reader")
    publish()
    raw = "eve:pässword-with-é".encode("latin-1")  # what requests sends
    auth = "Basic " + base64.b64encode(raw).decode()
    req = viewer_request.handler(request_event("/simple/", headers={"Authorization": auth}))
    assert req["uri"] == "/packages/simple/index.html"
    assert "uri" in get("/simple/", "eve", "pässword-with-é")  # and as UTF-8
