"""The authenticator refuses a quarantined project's files (PEP 792), upstream or not."""

from __future__ import annotations

import base64

import pytest

from edge import viewer_request
from edge.upstream import NameCache
from edge.userstore import UserCache
from tests.support.edge import ALICE_PASSWORD, Clock, MemorySource, default_doc, request_event

AUTH = {"Authorization": "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()}
ROOT = {
    "meta": {"api-version": "1.4"},
    "projects": [{"name": "bad-lib"}, {"name": "good-lib"}],
    "_quarantined": ["bad-lib"],
}
BAD_FILE = "/files/bad-lib/bad_lib-1.0-py3-none-any.whl"
GOOD_FILE = "/files/good-lib/good_lib-1.0-py3-none-any.whl"


@pytest.fixture(params=[None, "https://upstream.example/simple/"], ids=["plain", "upstream"])
def root(request):
    src = MemorySource(ROOT)
    clock = Clock()
    names = NameCache(src, clock=clock, max_stale=900.0)
    viewer_request.configure(UserCache(MemorySource(default_doc())), "r", request.param, names)
    yield src, clock
    viewer_request.configure(None)


def get(uri: str, headers=AUTH) -> dict:
    return viewer_request.handler(request_event(uri, headers=headers))


def test_a_quarantined_projects_files_answer_404(root):
    assert get(BAD_FILE)["status"] == "404"
    assert get(GOOD_FILE)["uri"] == "/packages" + GOOD_FILE
    # its page is served (it lists no files, and says why)
    assert get("/simple/bad-lib/")["uri"] == "/packages/simple/bad-lib/index.html"


def test_authentication_comes_first(root):
    assert get(BAD_FILE, headers={})["status"] == "401"


def test_back_to_active_serves_the_files_at_the_next_refresh(root):
    src, clock = root
    assert get(BAD_FILE)["status"] == "404"
    src.put({**ROOT, "_quarantined": []})
    clock.now += 61
    assert get(BAD_FILE)["uri"] == "/packages" + BAD_FILE


def test_an_unreadable_root_refuses_files_503(root):
    src, clock = root
    src.etag = None  # never read: nothing to go on
    viewer_request.configure(
        UserCache(MemorySource(default_doc())), "r", None, NameCache(src, clock=clock)
    )
    assert get(GOOD_FILE)["status"] == "503"
    assert get("/simple/good-lib/")["uri"] == "/packages/simple/good-lib/index.html"


def test_an_invalid_quarantine_list_is_unreadable(root):
    src, clock = root
    src.put({**ROOT, "_quarantined": "bad-lib"})
    viewer_request.configure(
        UserCache(MemorySource(default_doc())), "r", None, NameCache(src, clock=clock)
    )
    assert get(BAD_FILE)["status"] == "503"
