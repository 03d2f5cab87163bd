"""The console's project status form (PEP 792): publishers of the project and admins, with
confirmation and CSRF; readers and publishers outside their grants cannot."""

from __future__ import annotations

import html

from privpi import audit, index, publish
from privpi.users import UserStore
from tests.support.console import post, snapshot
from tests.support.console import text as html_text
from tests.support.distfactory import make_wheel


def text(response) -> str:
    return html.unescape(html_text(response))


def status(repo, project: str = "demo-lib") -> dict | None:
    return index.read_project(repo, project).get("project-status")


def test_publisher_quarantines_then_restores(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "demo-lib", "1.0"), uploader="publisher")
    c = as_role("publisher")
    page = text(c.get("/projects/demo-lib"))
    assert 'action="/projects/demo-lib/status"' in page
    assert ">active</span>" in page
    data = {"status": "quarantined", "reason": "malware <b>found</b>"}
    r = post(c, "/projects/demo-lib/status", data)
    assert r.status_code == 200
    assert "Mark demo-lib quarantined? It accepts no uploads, lists no files" in text(r)
    assert status(repo) is None  # nothing on one click
    r = post(c, "/projects/demo-lib/status", {**data, "confirm": "yes"})
    assert r.status_code == 303
    assert status(repo) == {"status": "quarantined", "reason": "malware <b>found</b>"}
    page = text(c.get("/projects/demo-lib"))
    assert ">quarantined</span> Reason: malware <b>found</b>" in page
    assert "1 file(s) held back while quarantined" in page
    event = audit.latest(repo, 1)[0]
    assert (event["action"], event["actor"], event["status"]) == (
        "status",
        "publisher",
        "quarantined",
    )
    r = post(c, "/projects/demo-lib/status", {"status": "active", "confirm": "yes"})
    assert r.status_code == 303
    assert status(repo) is None
    assert len(index.read_project(repo, "demo-lib")["files"]) == 1


def test_readers_see_the_status_but_cannot_change_it(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "demo-lib", "1.0"))
    c = as_role("reader")
    assert "/projects/demo-lib/status" not in text(c.get("/projects/demo-lib"))
    before = snapshot(repo)
    r = post(c, "/projects/demo-lib/status", {"status": "archived", "confirm": "yes"})
    assert r.status_code == 403
    assert snapshot(repo) == before


def test_grants_apply(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "secretpkg", "1.0"))
    UserStore(repo).grant("publisher", "acme-*")
    r = post(
        as_role("publisher"), "/projects/secretpkg/status", {"status": "archived", "confirm": "yes"}
    )
    assert r.status_code == 403
    assert "publisher may not publish to project 'secretpkg'" in text(r)
    assert status(repo, "secretpkg") is None


def test_bad_status_and_missing_csrf_change_nothing(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "demo-lib", "1.0"))
    c = as_role("admin")
    before = snapshot(repo)
    r = post(c, "/projects/demo-lib/status", {"status": "retired", "confirm": "yes"})
    assert r.status_code == 400
    assert "Nothing was changed" in text(r)
    r = c.post("/projects/demo-lib/status", data={"status": "archived", "confirm": "yes"})
    assert r.status_code == 400
    assert snapshot(repo) == before
