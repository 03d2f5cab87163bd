"""The viewer-request handler against recorded CloudFront events."""

from __future__ import annotations

import base64

import pytest

from edge import viewer_request
from edge.userstore import UserCache
from tests.support.edge import (
    ALICE_PASSWORD,
    Clock,
    MemorySource,
    default_doc,
    load_event,
    request_event,
)

AUTH = "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()
MALFORMED = sorted(p.stem for p in load_event.__globals__["EVENTS"].glob("malformed_*.json"))


@pytest.fixture
def source():
    src = MemorySource(default_doc())
    viewer_request.configure(UserCache(src, clock=Clock()), realm="Team packages")
    yield src
    viewer_request.configure(None)


def headers_of(resp: dict) -> dict[str, str]:
    return {k: v[0]["value"] for k, v in resp["headers"].items()}


def assert_challenge(resp: dict) -> None:
    assert resp["status"] == "401"
    assert resp["statusDescription"] == "Unauthorized"
    assert headers_of(resp)["www-authenticate"] == 'Basic realm="Team packages", charset="UTF-8"'
    assert resp["headers"]["www-authenticate"][0]["key"] == "WWW-Authenticate"


def test_valid_credentials_rewrite_to_json_index(source):
    req = viewer_request.handler(load_event("valid"), None)
    assert req["uri"] == "/packages/simple/demo-pkg/index.json"
    assert "authorization" not in req["headers"]
    assert req["querystring"] == ""  # no S3 sub-resources (?versionId=, ?acl) pass
    assert req["headers"]["host"][0]["value"] == "d111111abcdef8.cloudfront.net"


def test_html_by_default_and_files_mapped(source):
    assert viewer_request.handler(load_event("valid_html"))["uri"] == (
        "/packages/simple/demo-pkg/index.html"
    )
    assert viewer_request.handler(load_event("head_valid"))["uri"] == (
        "/packages/simple/demo-pkg/index.html"
    )
    assert viewer_request.handler(load_event("valid_file"))["uri"] == (
        "/packages/files/demo-pkg/demo_pkg-1.0-py3-none-any.whl"
    )


def test_non_normalized_name_redirects(source):
    resp = viewer_request.handler(load_event("valid_redirect"))
    assert resp["status"] == "301"
    assert headers_of(resp)["location"] == "/simple/demo-pkg/"


@pytest.mark.parametrize("name", ["wrong_password", "disabled", "unknown_user", *MALFORMED])
def test_refused_credentials_get_a_challenge(source, name):
    assert_challenge(viewer_request.handler(load_event(name), None))


def test_every_malformed_case_is_recorded():
    assert len(MALFORMED) >= 15


@pytest.mark.parametrize("name", ["post", "options"])
def test_other_methods_get_405(source, name):
    resp = viewer_request.handler(load_event(name))
    assert resp["status"] == "405"
    assert headers_of(resp)["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("uri", "status"),
    [
        ("/simple/../config/users.json", "404"),
        ("/config/users.json", "404"),
        ("/packages/simple/index.html", "404"),
        ("/simple/%2e%2e/%2e%2e/config/users.json", "400"),
        ("/files/demo-pkg/%00.whl", "400"),
        ("/files/demo-pkg/%zz", "400"),
    ],
)
def test_paths_outside_the_index_refused_before_credentials(source, uri, status):
    resp = viewer_request.handler(request_event(uri, headers={"Authorization": AUTH}))
    assert resp["status"] == status
    resp = viewer_request.handler(request_event(uri))  # the same answer without credentials
    assert resp["status"] == status


def test_unreadable_store_on_cold_start_is_503():
    src = MemorySource(None)
    viewer_request.configure(UserCache(src, clock=Clock()))
    try:
        resp = viewer_request.handler(load_event("valid"))
    finally:
        viewer_request.configure(None)
    assert resp["status"] == "503"
    assert headers_of(resp)["retry-after"] == "5"


def test_unconfigured_handler_fails_closed():
    viewer_request.configure(None)  # no config.json beside the module in the repository
    assert viewer_request.handler(load_event("valid"))["status"] == "503"


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": [{"cf": None}]}, None])
def test_event_not_shaped_like_cloudfront_is_refused(event):
    assert viewer_request.handler(event)["status"] == "400"


def test_generated_responses_have_cloudfront_shape(source):
    resp = viewer_request.handler(load_event("wrong_password"))
    assert set(resp) == {"status", "statusDescription", "headers", "body"}
    assert isinstance(resp["status"], str)
    for name, values in resp["headers"].items():
        assert name == name.lower()
        assert values[0]["key"].lower() == name


def test_warm_request_does_not_hash(source, monkeypatch):
    viewer_request.handler(load_event("valid"))
    calls = []
    monkeypatch.setattr("edge.pbkdf2.hashlib.pbkdf2_hmac", lambda *a, **k: calls.append(a))
    assert viewer_request.handler(load_event("valid"))["uri"].startswith("/packages/")
    assert calls == []
