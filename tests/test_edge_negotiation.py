"""PEP 691 negotiation at the edge: Accept, ?format=, 406 and the HTML alias."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import negotiation, viewer_request
from edge.userstore import UserCache
from tests.support.edge import ALICE_PASSWORD, Clock, MemorySource, default_doc, request_event

AUTH = "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()
JSON, ALIAS, HTML = negotiation.JSON_V1, negotiation.HTML_V1, negotiation.TEXT_HTML


@pytest.fixture
def source():
    src = MemorySource(default_doc())
    viewer_request.configure(UserCache(src, clock=Clock()))
    yield src
    viewer_request.configure(None)


@pytest.mark.parametrize(
    ("accept", "query", "served"),
    [
        (None, "", HTML),
        ("*/*", "", HTML),
        (ALIAS, "", ALIAS),  # the alias is answered as itself, not as text/html
        ("application/vnd.pypi.simple.latest+html", "", ALIAS),
        (f"{ALIAS};q=0.5, text/html", "", HTML),
        (f"{JSON}, {ALIAS};q=0.2, text/html;q=0.01", "", JSON),  # what uv sends
        ("application/xml", "", None),
        ("image/png, application/json", "", None),
        (None, f"format={JSON}", JSON),  # ?format= wins over Accept
        ("text/html", "format=application/vnd.pypi.simple.v1%2Bjson", JSON),
        (JSON, f"format={ALIAS}", ALIAS),
        (JSON, "format=text/html", HTML),
        (None, "format=application/xml", None),
        (None, "format=*/*", None),  # format names one type: no wildcards
        ("application/xml", "other=1", None),
    ],
)
def test_choose(accept, query, served):
    assert negotiation.choose(accept, query) == served


@given(st.text(max_size=300), st.text(max_size=300))
def test_choose_never_raises_and_answers_a_served_type(accept, query):
    assert negotiation.choose(accept, query) in (*negotiation.SERVED, None)


def test_unacceptable_index_page_is_406_listing_the_types(source):
    headers = {"Authorization": AUTH, "Accept": "application/xml"}
    resp = viewer_request.handler(request_event("/simple/demo-pkg/", headers=headers))
    assert resp["status"] == "406"
    assert resp["statusDescription"] == "Not Acceptable"
    for media_type in negotiation.SERVED:
        assert media_type in resp["body"]


def test_406_only_after_credentials(source):
    resp = viewer_request.handler(request_event("/simple/", headers={"Accept": "x/y"}))
    assert resp["status"] == "401"


def test_files_are_not_negotiated(source):
    headers = {"Authorization": AUTH, "Accept": "application/xml"}
    uri = "/files/demo-pkg/demo_pkg-1.0-py3-none-any.whl"
    assert viewer_request.handler(request_event(uri, headers=headers))["uri"] == "/packages" + uri


def test_format_parameter_picks_the_page(source):
    event = request_event("/simple/demo-pkg/", headers={"Authorization": AUTH})
    event["Records"][0]["cf"]["request"]["querystring"] = f"format={JSON}"
    req = viewer_request.handler(event)
    assert req["uri"] == "/packages/simple/demo-pkg/index.json"
    assert req["querystring"] == ""
