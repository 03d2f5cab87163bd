"""Path normalization: a traversal corpus and a property over generated URIs."""

from __future__ import annotations

import base64
import posixpath
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge import paths, viewer_request
from edge.userstore import UserCache
from tests.support.edge import ALICE_PASSWORD, Clock, MemorySource, default_doc, request_event
from tests.support.examples import examples

AUTH = "Basic " + base64.b64encode(f"alice:{ALICE_PASSWORD}".encode()).decode()

# Each tries to reach config/users.json (or anything outside packages/) by another spelling.
TRAVERSALS = [
    "/simple/../config/users.json",
    "/simple/../../config/users.json",
    "/files/x/../../config/users.json",
    "/files/x/../../../etc/passwd",
    "/simple/%2e%2e/config/users.json",
    "/simple/%2E%2E/config/users.json",
    "/simple/.%2e/config/users.json",
    "/simple/%2e./config/users.json",
    "/simple/%2e%2e%2fconfig%2fusers.json",
    "/simple/%2E%2E%2Fconfig%2Fusers.json",
    "/simple/..%2fconfig/users.json",
    "/simple/..%2Fconfig/users.json",
    "/simple/..%5cconfig/users.json",
    "/simple/..%5Cconfig%5Cusers.json",
    "/simple/..\\config\\users.json",
    "/simple\\..\\config\\users.json",
    "/files/x\\..\\..\\config/users.json",
    "/simple/%252e%252e/config/users.json",
    "/simple/%25%32%65%25%32%65/config/users.json",
    "/simple/%%32%65%%32%65/config/users.json",
    "/simple/%c0%ae%c0%ae/config/users.json",
    "/simple/%c0%2e%c0%2e/config/users.json",
    "/simple/%e0%80%ae%e0%80%ae/config/users.json",
    "/simple/%uff0e%uff0e/config/users.json",
    "/simple/%ef%bc%8e%ef%bc%8e/config/users.json",
    "/simple/\uff0e\uff0e/config/users.json",
    "/simple/..%00/config/users.json",
    "/simple/%00/../config/users.json",
    "/files/x/y.whl%00.html",
    "/files/x/y%0a.whl",
    "/files/x/y%0d%0a.whl",
    "/files/x/%7f.whl",
    "/files/x/y\t.whl",
    "/simple//../config/users.json",
    "/simple/./../config/users.json",
    "//simple/../config/users.json",
    "///config/users.json",
    "/./config/users.json",
    "/../config/users.json",
    "/..",
    "/%2e%2e",
    "/%2e%2e/%2e%2e/config/users.json",
    "/simple/x/../../config/users.json",
    "/files/..",
    "/files/%2e%2e/%2e%2e/config/users.json",
    "/files/x/..%2f..%2fconfig%2fusers.json",
    "/files/x/%2e%2e%5c%2e%2e%5cconfig%5cusers.json",
    "/packages/simple/index.html",
    "/packages/../config/users.json",
    "/config/users.json",
    "/incoming/upload.whl",
    "/simple/../incoming/x.whl",
    "/files/x/.users.json",
    "/files/x/..users.json",
    "/simple/x/..;/..;/config/users.json",
    "/simple/;/../config/users.json",
    "/simple/x?/../../config",
    "/simple/x#/../../config",
    "/files/x/y.whl/..%252f..%252fconfig",
    "config/users.json",
    "",
    "/simple/" + "a" * 2000 + "/",
    "/simple/%",
    "/simple/%2",
    "/simple/%g0/",
    "/files/x/%ff.whl",
    "/files/x/\u00e9.whl",
]


@pytest.fixture
def alice_store():
    viewer_request.configure(UserCache(MemorySource(default_doc()), clock=Clock()))
    yield
    viewer_request.configure(None)


def test_corpus_is_large_enough():
    assert len(set(TRAVERSALS)) >= 50


@pytest.mark.parametrize("uri", TRAVERSALS)
def test_traversal_is_refused(alice_store, uri):
    resp = viewer_request.handler(request_event(uri, headers={"Authorization": AUTH}))
    assert resp.get("status") in ("400", "404"), resp.get("uri")


@pytest.mark.parametrize(
    ("uri", "normalized"),
    [
        ("/simple/", "/simple/"),
        ("/simple", "/simple"),
        ("//simple///demo//", "/simple/demo/"),
        ("/simple/./demo/", "/simple/demo/"),
        ("/simple/x/../demo/", "/simple/demo/"),
        ("/simple/%64emo/", "/simple/demo/"),
        ("\\simple\\demo\\".replace("\\", "/", 1), "/simple/demo/"),
        (
            "/files/demo/demo-1.0%2Blocal-py3-none-any.whl",
            "/files/demo/demo-1.0+local-py3-none-any.whl",
        ),
        ("/simple/demo/.", "/simple/demo/"),
    ],
)
def test_normalize(uri, normalized):
    assert paths.normalize(uri) == normalized


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("/simple/", "/packages/simple/index.html"),
        ("/simple/demo/", "/packages/simple/demo/index.html"),
        (
            "/files/demo/demo-1.0%2Blocal-py3-none-any.whl",
            "/packages/files/demo/demo-1.0%2Blocal-py3-none-any.whl",
        ),
        ("/files/demo/demo-1.0.tar.gz.metadata", "/packages/files/demo/demo-1.0.tar.gz.metadata"),
    ],
)
def test_accepted_uri_maps_into_packages(alice_store, uri, key):
    assert viewer_request.handler(request_event(uri, headers={"Authorization": AUTH}))["uri"] == key


@pytest.mark.parametrize(
    ("uri", "location"),
    [
        ("/simple", "/simple/"),
        ("/simple/Demo.Pkg/", "/simple/demo-pkg/"),
        ("/simple/demo__pkg", "/simple/demo-pkg/"),
        ("/simple/demo-pkg", "/simple/demo-pkg/"),
        ("/files/Demo_Pkg/demo_pkg-1.0.tar.gz", "/files/demo-pkg/demo_pkg-1.0.tar.gz"),
    ],
)
def test_redirects(alice_store, uri, location):
    resp = viewer_request.handler(request_event(uri, headers={"Authorization": AUTH}))
    assert resp["status"] == "301"
    assert resp["headers"]["location"][0]["value"] == location


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, "html"),
        ("", "html"),
        ("*/*", "html"),
        ("text/html", "html"),
        ("application/vnd.pypi.simple.v1+json", "json"),
        ("application/vnd.pypi.simple.latest+json", "json"),
        ("application/vnd.pypi.simple.v1+html", "html"),
        (
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1,"
            " text/html; q=0.01",
            "json",
        ),
        ("application/vnd.pypi.simple.v1+json;q=0.2, text/html", "html"),
        ("application/vnd.pypi.simple.v1+json;q=0, text/html;q=0.5", "html"),
        ("application/vnd.pypi.simple.v1+json;q=nan", None),
        ("application/vnd.pypi.simple.v1+json;q=2", None),
        ("application/vnd.pypi.simple.v1+json, text/html", "json"),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", "json"),
        ("application/xml", None),  # 406: no type the index serves
        ("application/vnd.pypi.simple.v1+json;q=0", None),
        ("application/vnd.pypi.simple.v1+json" + ", x/y" * 300, None),  # over the size cap
    ],
)
def test_negotiate(accept, fmt):
    assert paths.negotiate(accept) == fmt


# Generated URIs: mixtures of the pieces traversals are built from.
PIECES = st.sampled_from(
    [
        "/",
        "//",
        "\\",
        ".",
        "..",
        "%2e",
        "%2E",
        "%2f",
        "%2F",
        "%5c",
        "%25",
        "%00",
        "%0a",
        "simple",
        "files",
        "packages",
        "config",
        "users.json",
        "demo",
        "Demo_Pkg",
        "x.whl",
        "a",
        "-",
        "_",
        "+",
        "%2b",
        "~",
        "!",
        ";",
        "?",
        "#",
        "%c0%ae",
        "\u00e9",
        "%ff",
        " ",
    ]
)
# Plausible URIs: real segments and dot segments joined by every spelling of a slash.
SEGMENTS = st.sampled_from(
    [
        "simple",
        "files",
        "packages",
        "config",
        "users.json",
        "demo",
        "demo-pkg",
        "Demo_Pkg",
        "demo-1.0.tar.gz",
        "demo-1.0-py3-none-any.whl",
        ".",
        "..",
        "%2e",
        "%2e%2e",
        ".%2E",
        "",
    ]
)
JOINED = st.lists(
    st.tuples(st.sampled_from(["/", "//", "\\", "%2f", "%5C", "/./"]), SEGMENTS), max_size=8
).map(lambda parts: "".join(sep + seg for sep, seg in parts) or "/")
URIS = st.one_of(
    JOINED,
    JOINED.map(lambda p: "/simple" + p),
    JOINED.map(lambda p: "/files/demo" + p),
    st.lists(PIECES, max_size=14).map(lambda p: "/" + "".join(p)),
    st.lists(PIECES, max_size=10).map(lambda p: "/simple/" + "".join(p)),
    st.lists(PIECES, max_size=10).map(lambda p: "/files/" + "".join(p)),
    st.text(max_size=60).map(lambda t: "/" + t),
)


@settings(max_examples=examples(2500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uri=URIS, method=st.sampled_from(["GET", "HEAD"]))
def test_no_accepted_uri_leaves_packages(uri, method):
    viewer_request.configure(_CACHE)  # one warm cache: the paths are under test, not PBKDF2
    try:
        resp = viewer_request.handler(request_event(uri, method, {"Authorization": AUTH}))
    finally:
        viewer_request.configure(None)
    if "status" in resp:
        assert resp["status"] in ("301", "400", "404")
        if resp["status"] == "301":  # a redirect stays in the public URL space
            location = resp["headers"]["location"][0]["value"]
            assert location.startswith(("/simple/", "/files/"))
            assert paths.normalize(location) == location
        return
    key = unquote(resp["uri"])  # what the origin sees after decoding once
    assert key.startswith(("/packages/simple/", "/packages/files/"))
    assert posixpath.normpath(key) == key.rstrip("/") or key.endswith("/index.html")
    assert posixpath.normpath(key).startswith("/packages/")
    assert all(ord(c) > 32 and c not in "\\%?#" for c in key)
    assert ".." not in key.split("/")


_CACHE = UserCache(MemorySource(default_doc()), clock=Clock())
