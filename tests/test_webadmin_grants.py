"""Publishing grants in the console: a publisher with grants yanks, deletes and uploads
only matching projects (403 naming the project otherwise); without grants, every project."""

from __future__ import annotations

import html

import pytest

from privpi import index, publish
from privpi.users import UserStore
from tests.support.console import post
from tests.support.console import text as html_text
from tests.support.distfactory import make_wheel
from tests.support.upload import Browser


@pytest.fixture
def two_teams(repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "secretpkg", "1.0"), uploader="publisher")
    publish.publish(repo, make_wheel(tmp_path, "acme-lib", "1.0"), uploader="publisher")
    UserStore(repo).grant("publisher", "acme-*")
    return repo


def text(response) -> str:
    return html.unescape(html_text(response))


def yanked(repo, project: str) -> bool:
    return any(f.get("yanked") for f in index.read_project(repo, project)["files"])


def test_yank_and_unyank_only_granted_projects(as_role, two_teams):
    c = as_role("publisher")
    r = post(c, "/projects/secretpkg/yank", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 403
    assert "publisher may not publish to project 'secretpkg'" in text(r)
    assert not yanked(two_teams, "secretpkg")
    r = post(c, "/projects/secretpkg/unyank", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 403
    r = post(c, "/projects/acme-lib/yank", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 303
    assert yanked(two_teams, "acme-lib")


def test_delete_only_granted_projects(as_role, two_teams):
    UserStore(two_teams).grant("admin", "acme-*")
    c = as_role("admin")
    r = post(c, "/projects/secretpkg/delete", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 403
    assert "admin may publish only projects matching acme-*" in text(r)
    assert index.read_project(two_teams, "secretpkg")["files"]
    r = post(c, "/projects/acme-lib/delete", {"confirm": "yes"})
    assert r.status_code == 303


def test_without_grants_every_project_as_before(as_role, two_teams):
    UserStore(two_teams).ungrant("publisher", "acme-*")
    r = post(as_role("publisher"), "/projects/secretpkg/yank", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 303
    assert yanked(two_teams, "secretpkg")


def test_upload_of_a_build_tagged_wheel_to_another_teams_project_is_refused(two_teams, tmp_path):
    browser = Browser(two_teams)
    evil = make_wheel(
        tmp_path / "evil", "secretpkg", "1.0", filename="secretpkg-1.0-1-py3-none-any.whl"
    )
    r = browser.ticket(evil.name, evil.stat().st_size)
    assert r.status_code == 403
    assert "publisher may not publish to project 'secretpkg'" in r.get_json()["error"]
    result = browser.upload(make_wheel(tmp_path / "ok", "acme-tools", "1.0"))
    assert result["status"] == "published"


def test_finalize_checks_the_grants_again(two_teams, tmp_path):
    browser = Browser(two_teams)
    wheel = make_wheel(tmp_path, "acme-late", "1.0")
    ticket = browser.ticket(wheel.name, wheel.stat().st_size).get_json()
    status, body = browser.send(ticket["upload"], wheel)
    assert status in (200, 201), body
    UserStore(two_teams).ungrant("publisher", "acme-*")
    UserStore(two_teams).grant("publisher", "other-*")
    r = browser.finalize(ticket)
    assert r.status_code == 403
    assert "acme-late" in r.get_json()["error"]
