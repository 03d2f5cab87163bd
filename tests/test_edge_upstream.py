"""The authenticator's upstream decision: private, claimed, unknown, unreadable names."""

from __future__ import annotations

import base64

import pytest

from edge import upstream, viewer_request
from edge.upstream import NameCache
from edge.userstore import UserCache
from tests.support.edge import ALICE_PASSWORD, Clock, MemorySource, default_doc, request_event

UPSTREAM = "https://upstream.example/simple/"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()}
ROOT = {
    "meta": {"api-version": "1.1"},
    "projects": [{"name": "acme-tools"}, {"name": "requests"}],
    "_claims": ["acme-*", "internal-lib"],
}


@pytest.fixture
def root():
    src = MemorySource(ROOT)
    clock = Clock()
    names = NameCache(src, clock=clock, max_stale=900.0)
    viewer_request.configure(UserCache(MemorySource(default_doc())), "r", UPSTREAM, names)
    yield src, clock
    viewer_request.configure(None)


def get(uri: str, headers=AUTH) -> dict:
    return viewer_request.handler(request_event(uri, headers=headers))


def location(resp: dict) -> str:
    return resp["headers"]["location"][0]["value"]


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        # private: served from here, whatever upstream has under the name
        ("/simple/requests/", "/packages/simple/requests/index.html"),
        ("/simple/acme-tools/", "/packages/simple/acme-tools/index.html"),
        ("/files/requests/requests-99.0-py3-none-any.whl", None),
        # claimed, not (or no longer) published: served from here too (the origin 404s)
        ("/simple/acme-next/", "/packages/simple/acme-next/index.html"),
        ("/simple/internal-lib/", "/packages/simple/internal-lib/index.html"),
        ("/files/acme-next/acme_next-1.0.tar.gz", None),
        # the root lists the private projects only
        ("/simple/", "/packages/simple/index.html"),
    ],
)
def test_private_and_claimed_names_never_fall_through(root, uri, key):
    resp = get(uri)
    assert "status" not in resp, resp
    assert resp["uri"] == (key or "/packages" + uri)
    assert "authorization" not in resp["headers"]


@pytest.mark.parametrize("name", ["six", "acme", "internal-lib2", "xacme-tools"])
def test_unknown_names_redirect_upstream(root, name):
    resp = get(f"/simple/{name}/")
    assert resp["status"] == "302"
    assert location(resp) == f"{UPSTREAM}{name}/"
    assert resp["headers"]["cache-control"][0]["value"] == "no-store"


def test_unknown_names_files_are_not_served_here(root):
    assert get("/files/six/six-1.0-py3-none-any.whl")["status"] == "404"


def test_a_non_normalized_name_is_normalized_here_first(root):
    resp = get("/simple/Acme_Next/")
    assert (resp["status"], location(resp)) == ("301", "/simple/acme-next/")


def test_authentication_comes_first(root):
    assert get("/simple/six/", headers={})["status"] == "401"


def test_a_new_upload_or_claim_stops_the_fall_through_at_the_next_refresh(root):
    src, clock = root
    assert get("/simple/six/")["status"] == "302"
    src.put({**ROOT, "projects": [*ROOT["projects"], {"name": "six"}]})
    clock.now += 61
    assert get("/simple/six/")["uri"] == "/packages/simple/six/index.html"
    src.put({**ROOT, "_claims": ["*"]})
    clock.now += 61
    assert "uri" in get("/simple/anything-at-all/")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"projects": "x"}', b'{"projects": [], "_claims": [1]}'],
)
def test_an_unreadable_root_answers_503_never_a_redirect(body):
    src = MemorySource(None)
    src.body, src.etag = body, '"x"'
    names = NameCache(src, clock=Clock())
    viewer_request.configure(UserCache(MemorySource(default_doc())), "r", UPSTREAM, names)
    try:
        for uri in ("/simple/six/", "/simple/requests/", "/files/six/six-1.0.tar.gz"):
            resp = get(uri)
            assert resp["status"] == "503", uri
            assert resp["headers"]["retry-after"][0]["value"] == "5"
        assert "uri" in get("/simple/")  # the root page needs no name check
    finally:
        viewer_request.configure(None)


def test_a_missing_root_answers_503(root):
    src, clock = root
    fresh = MemorySource(None)  # S3 answers 404: nobody can tell which names are private
    viewer_request._state["names"] = NameCache(fresh, clock=clock)
    assert get("/simple/six/")["status"] == "503"


def test_a_stale_copy_is_used_then_refused(root):
    src, clock = root
    assert get("/simple/six/")["status"] == "302"
    src.failing = True
    clock.now += 120
    assert get("/simple/six/")["status"] == "302"  # the last good copy, within max_stale
    assert "uri" in get("/simple/requests/")
    clock.now += 900
    get("/simple/six/")  # the refresh that finds the copy too old
    assert get("/simple/six/")["status"] == "503"
    assert get("/simple/requests/")["status"] == "503"


def test_without_upstream_nothing_is_read_or_redirected():
    src = MemorySource(ROOT)
    viewer_request.configure(UserCache(MemorySource(default_doc())), "r")
    try:
        assert get("/simple/six/")["uri"] == "/packages/simple/six/index.html"
        assert src.calls == 0
    finally:
        viewer_request.configure(None)


@pytest.mark.parametrize(
    ("patterns", "name", "claimed"),
    [
        (["acme-*"], "acme-x", True),
        (["acme-*"], "acme-", True),
        (["acme-*"], "acme", False),
        (["Acme_*"], "acme-x", True),  # patterns are normalized like names
        (["a.b"], "a-b", True),
        (["a.b"], "axb", False),  # '.' is no wildcard
        (["*-internal"], "x-internal", True),
        (["*-internal"], "x-internal-2", False),
        (["a*b*c"], "a-x-b-y-c", True),
        ([], "x", False),
    ],
)
def test_claim_patterns(patterns, name, claimed):
    regex = upstream.claims_regex(patterns)
    assert (regex is not None and regex.match(name) is not None) is claimed
