"""``privpi serve`` as a real subprocess, and its WSGI adapter in process."""

from __future__ import annotations

import base64
import http.client
import json
import re
import wsgiref.util
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from edge import viewer_request
from edge.userstore import UserCache
from privpi.commands.localserver import LocalApp
from privpi.publish import publish
from privpi.readpath import ReadPath, StorageSource, cloudfront_event
from privpi.users import UserStore
from tests.support.distfactory import make_wheel
from tests.support.serve import (
    ADMIN_PASSWORD,
    cli_env,
    privpi,
    serving,
    start_server,
    stop,
)

pytestmark = pytest.mark.e2e


def request(base, method, path, user="admin", password=ADMIN_PASSWORD, headers=None):
    """A raw HTTP request: the path goes out exactly as written (no client normalization)."""
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    hdrs = dict(headers or {})
    if user:
        hdrs["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request(method, path, headers=hdrs)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.msg, body  # case-insensitive headers


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the module (module fixtures run outside the per-test env isolation)."""
    tmp = tmp_path_factory.mktemp("served")
    wheel = make_wheel(tmp / "dist", "serve-demo", "1.0")
    admin, upload = ("admin", ADMIN_PASSWORD, "admin"), ("upload", str(wheel))
    with serving(str(tmp / "repo"), cli_env(tmp), [admin], [upload]) as base:
        yield base, wheel


def test_first_start_creates_admin_with_random_password(tmp_path):
    url = str(tmp_path / "repo")
    base, proc = start_server(url, env={"PRIVPI_ADMIN_PASSWORD": ""})
    output = stop(proc)
    password = re.search(r"Created user admin with password (\S+)", output).group(1)
    assert len(password) >= 20
    assert "shown only this once" in output
    base, proc = start_server(url, env={"PRIVPI_ADMIN_PASSWORD": ""})
    try:
        status, _, body = request(base, "GET", "/simple/", "admin", password)
        assert (status, b"<a " in body) == (200, False)  # an empty index, made at start
        assert request(base, "GET", "/simple/", "admin", "not-the-password")[0] == 401
    finally:
        output = stop(proc)
    assert "Created user" not in output  # only on the first start
    r = privpi(url, "users", "list")
    assert re.search(r"^admin\s+admin\s+yes", r.stdout, re.M)


def test_admin_password_from_environment(tmp_path):
    base, proc = start_server(
        str(tmp_path / "repo"), env={"PRIVPI_ADMIN_PASSWORD": "env-pw-123456"}
    )
    try:
        assert request(base, "GET", "/simple/", "admin", "env-pw-123456")[0] == 200
    finally:
        output = stop(proc)
    assert "env-pw-123456" not in output


@pytest.mark.parametrize(
    "path",
    [
        "/simple/../config/users.json",
        "/simple/%2e%2e/config/users.json",
        "/files/serve-demo/..%2f..%2f..%2fconfig%2fusers.json",
        "/files/serve-demo/..%5c..%5c..%5cconfig%5cusers.json",
        "/simple/%252e%252e/%252e%252e/config/users.json",
        "/files/x/..//..//../config/users.json",
        "/packages/../config/users.json",
        "/config/users.json",
    ],
)
def test_user_store_never_served(served, path):
    base, _ = served
    status, _, body = request(base, "GET", path)
    assert status != 200 or b"pbkdf2" not in body
    assert b"pbkdf2" not in body


def test_read_path_answers(served):
    base, wheel = served
    status, headers, body = request(base, "GET", f"/files/serve-demo/{wheel.name}")
    assert (status, body) == (200, wheel.read_bytes())
    status, headers, body = request(base, "GET", "/simple/serve-demo/", user=None)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="privpi", charset="UTF-8"'
    status, headers, body = request(base, "HEAD", "/simple/serve-demo/", user=None)
    assert (status, body) == (401, b"")
    status, headers, _ = request(base, "POST", "/simple/serve-demo/")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
    status, _, _ = request(base, "GET", "/files/serve-demo/nothing-1.0.tar.gz")
    assert status == 404


def test_many_concurrent_requests(served):
    base, wheel = served
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(
                lambda _: request(base, "GET", f"/files/serve-demo/{wheel.name}")[::2], range(64)
            )
        )
    assert results == [(200, wheel.read_bytes())] * 64


# -- the WSGI adapter in process -------------------------------------------------------


@pytest.fixture
def app(folder_storage, tmp_path):
    UserStore(folder_storage).add("alice", "alice-password-1")
    publish(folder_storage, make_wheel(tmp_path, "inproc", "1.0"))
    viewer_request.configure(UserCache(StorageSource(folder_storage)), realm="local")
    yield ReadPath(folder_storage)
    viewer_request.configure(None)


def call(app, path, method="GET", auth=("alice", "alice-password-1"), **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "REQUEST_URI": path}
    wsgiref.util.setup_testing_defaults(environ)
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        environ["HTTP_AUTHORIZATION"] = f"Basic {token}"
    for k, v in headers.items():
        environ[f"HTTP_{k.upper()}"] = v
    out = {}

    def start_response(status, hdrs):
        out["status"], out["headers"] = status, dict(hdrs)

    body = b"".join(app(environ, start_response))
    return out["status"], out["headers"], body


def test_other_paths_are_404_without_console(app):
    assert call(app, "/")[0] == "404 Not Found"
    assert call(app, "/login")[0] == "404 Not Found"


def test_other_paths_go_to_the_console(app):
    local = LocalApp(app, lambda environ, start: start("200 OK", []) or [b"console"])
    assert call(local, "/dashboard") == ("200 OK", {}, b"console")
    assert call(local, "/simple/", auth=None)[0] == "401 Unauthorized"


def test_index_served_with_vary_and_etag(app):
    status, headers, body = call(app, "/simple/inproc/")
    assert status == "200 OK"
    assert headers["Vary"] == "Accept"
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "private, no-cache"  # as CloudFront's policy says
    status, again, body = call(app, "/simple/inproc/", IF_NONE_MATCH=headers["ETag"])
    assert (status, body) == ("304 Not Modified", b"")
    status, _, body = call(app, "/simple/inproc/", IF_NONE_MATCH='"other"')
    assert status == "200 OK"
    assert body


def test_event_is_shaped_like_cloudfront():
    environ = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/simple/x/?a=1", "QUERY_STRING": "a=1"}
    environ.update(HTTP_ACCEPT="text/html", REMOTE_ADDR="127.0.0.1", HTTP_HOST="h")
    request = cloudfront_event(environ)["Records"][0]["cf"]["request"]
    assert request == {
        "clientIp": "127.0.0.1",
        "headers": {
            "accept": [{"key": "Accept", "value": "text/html"}],
            "host": [{"key": "Host", "value": "h"}],
        },
        "method": "GET",
        "querystring": "a=1",
        "uri": "/simple/x/",
    }


@pytest.mark.parametrize(
    ("accept", "query", "status", "content_type"),
    [
        ("application/vnd.pypi.simple.v1+html", "", 200, "application/vnd.pypi.simple.v1+html"),
        ("text/html", "", 200, "text/html; charset=utf-8"),
        ("application/xml", "", 406, "text/plain; charset=utf-8"),
        (
            "text/html",
            "?format=application/vnd.pypi.simple.v1%2Bjson",
            200,
            "application/vnd.pypi.simple.v1+json",
        ),
        ("text/html", "?format=application/xml", 406, "text/plain; charset=utf-8"),
    ],
)
def test_served_pages_are_negotiated(served, accept, query, status, content_type):
    base, _ = served
    got, headers, body = request(
        base, "GET", f"/simple/serve-demo/{query}", headers={"Accept": accept}
    )
    assert (got, headers["Content-Type"]) == (status, content_type)
    if status == 406:
        assert b"application/vnd.pypi.simple.v1+json" in body


def test_empty_repository_serves_an_empty_root_in_both_formats(tmp_path):
    url = str(tmp_path / "repo")
    base, proc = start_server(url, env={"PRIVPI_ADMIN_PASSWORD": "env-pw-123456"})
    try:
        json_type = "application/vnd.pypi.simple.v1+json"
        status, headers, body = request(
            base, "GET", "/simple/", "admin", "env-pw-123456", {"Accept": json_type}
        )
        assert (status, headers["Content-Type"]) == (200, json_type)
        assert json.loads(body)["projects"] == []
    finally:
        stop(proc)
