"""Every route of the console against anonymous, reader, publisher and admin.

The routes come from the app's url_map, and each endpoint must appear in ACCESS: a new
route without an entry fails here until someone decides who may use it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import url_for

from privpi import publish
from privpi.storage import FolderStorage
from tests.support.console import ROLES, csrf_token, login, make_console, seed_users, snapshot
from tests.support.distfactory import make_wheel

# endpoint -> who may use it: "public", a session role, "basic" (HTTP Basic publishers,
# never a session cookie) or "signed" (a URL signed by the console, never a session).
ACCESS = {
    "static": "public",
    "auth.login": "public",
    "auth.logout": "public",
    "dashboard.index": "reader",
    "connect.page": "reader",
    "account.page": "reader",
    "connect.token": "reader",
    "tokens.create": "reader",
    "tokens.revoke_own": "reader",
    "tokens.revoke": "admin",
    "tokens.grant": "admin",
    "tokens.ungrant": "admin",
    "projects.index": "reader",
    "projects.detail": "reader",
    "projects.yank": "publisher",
    "projects.unyank": "publisher",
    "projects.delete": "admin",
    "projects.status": "publisher",
    "users.index": "admin",
    "users.add": "admin",
    "users.detail": "admin",
    "users.role": "admin",
    "users.password": "admin",
    "users.enabled": "admin",
    "users.delete": "admin",
    # the uploads area (webadmin/upload.py)
    "upload.upload_page": "publisher",
    "upload.ticket": "publisher",
    "upload.finalize": "publisher",
    "upload.receive": "signed",
    "upload.legacy": "basic",
    # the upload API of `privpi upload --url` (webadmin/api.py)
    "api.create": "basic",
    "api.finalize": "basic",
}
ARGS = {
    "name": "demo-pkg",
    "filename": "style.css",
    "ticket_id": "no-such-ticket",
    "label": "no-such-token",
}
USER_ARGS = {"name": "reader"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes():
    app = make_console(FolderStorage("/nonexistent-privpi-route-listing"))
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - IGNORED_METHODS):
            yield pytest.param(rule.endpoint, method, id=f"{method} {rule.rule}")


ROUTES = list(_routes())


def _url(app, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = USER_ARGS if endpoint.startswith("users.") else ARGS
    with app.test_request_context():
        return url_for(endpoint, **{k: args[k] for k in rule.arguments})


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory) -> Path:
    """A repository with one user per role and demo-pkg 1.0, made once for the module."""
    tmp = tmp_path_factory.mktemp("access")
    storage = FolderStorage(tmp / "repo")
    seed_users(storage)
    publish.publish(storage, make_wheel(tmp, "demo-pkg", "1.0"), uploader="publisher")
    return tmp / "repo"


@pytest.fixture
def seeded(seeded_once, tmp_path):
    """A copy of that repository for each test (a copy costs less than publishing again)."""
    return FolderStorage(shutil.copytree(seeded_once, tmp_path / "repo"))


def test_every_endpoint_has_an_expected_access():
    endpoints = {p.values[0] for p in ROUTES}
    unknown = endpoints - set(ACCESS)
    assert not unknown, f"add these endpoints to ACCESS with who may use them: {unknown}"


def _request(client, method, url):
    data = {"csrf_token": csrf_token(client)} if method != "GET" else None
    return client.open(url, method=method, data=data)


@pytest.mark.parametrize(("endpoint", "method"), ROUTES)
@pytest.mark.parametrize("who", [None, *ROLES])
def test_route_access(seeded, endpoint, method, who):
    access = ACCESS.get(endpoint)
    assert access, f"{endpoint} is not in ACCESS"
    app = make_console(seeded)
    client = app.test_client()
    if who:
        assert login(client, who).status_code == 303
    url = _url(app, endpoint)
    before = snapshot(seeded)
    r = _request(client, method, url)
    if access == "public":
        assert r.status_code not in (401, 403, 500)
        return
    if access in ("basic", "signed"):
        # a session cookie is not a credential here, whatever the role
        assert r.status_code in (400, 401, 403), r.get_data(as_text=True)[:300]
        assert snapshot(seeded) == before
        return
    allowed = who is not None and ROLES.index(who) >= ROLES.index(access)
    if who is None:
        assert r.status_code == 302
        assert r.location.startswith("/login")
    elif not allowed:
        assert r.status_code == 403
        assert f"needs the {access} role" in r.get_data(as_text=True)
    else:
        assert r.status_code < 500
        assert r.status_code not in (302, 401, 403) or "/login" not in (r.location or "")
        assert r.status_code != 403
    if not allowed:
        assert snapshot(seeded) == before, "a refused request changed the repository"
