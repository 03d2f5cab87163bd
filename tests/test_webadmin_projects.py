"""Project pages: list, search, pagination, details, yank / unyank / delete, safe markup."""

from __future__ import annotations

import re

import pytest

from privpi import audit, index, keys, publish
from tests.support.console import (
    login,
    make_console,
    post,
    seed_root_index,
    snapshot,
    text,
    wheel_with_metadata,
)
from tests.support.distfactory import make_sdist, make_wheel


@pytest.fixture
def demo(repo, tmp_path):
    """demo-pkg 1.0 (wheel + sdist, Python >=3.9) and 2.0 (wheel)."""
    wheel = make_wheel(tmp_path, "Demo_Pkg", "1.0", requires_python=">=3.9")
    publish.publish(repo, wheel, uploader="publisher")
    publish.publish(repo, make_sdist(tmp_path, "demo-pkg", "1.0"), uploader="admin")
    desc = "# Demo\n\nA *demo* package.\n"
    wheel2 = make_wheel(tmp_path, "demo-pkg", "2.0", summary="Demo summary", description=desc)
    publish.publish(repo, wheel2, uploader="publisher")
    return repo


def _files(repo):
    return {f["filename"]: f for f in index.read_project(repo, "demo-pkg")["files"]}


def test_projects_page_lists_and_links(as_role, demo):
    page = text(as_role("reader").get("/projects"))
    assert '<a href="/projects/demo-pkg">demo-pkg</a>' in page
    assert "1 projects" in page or "1 project" in page


def test_search_and_pagination(as_role, repo):
    seed_root_index(repo, [f"pkg-{i:04d}" for i in range(120)] + ["Zeta_Thing"])
    c = as_role("reader")
    first = text(c.get("/projects"))
    assert "Page 1 of 3" in first
    assert "pkg-0049" in first
    assert "pkg-0050" not in first
    third = text(c.get("/projects?page=3"))
    assert "pkg-0100" in third
    assert "zeta-thing" in third
    found = text(c.get("/projects?q=Zeta.thing"))  # normalized like a project name
    assert "1 of 121 projects match" in found
    assert "/projects/zeta-thing" in found
    exact = text(c.get("/projects?q=pkg-0007"))
    assert "/projects/pkg-0007" in exact
    assert "/projects/pkg-0008" not in exact
    none = text(c.get("/projects?q=zzz"))
    assert "No project matches" in none


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5"])
def test_bad_page_number(as_role, repo, page):
    r = as_role("reader").get(f"/projects?page={page}")
    assert r.status_code == 400
    assert "is not a positive whole number" in text(r)


def test_projects_list_follows_new_publishes(as_role, repo, tmp_path):
    c = as_role("reader")
    assert "No project has been published yet" in text(c.get("/projects"))
    publish.publish(repo, make_wheel(tmp_path, "fresh", "1.0"))
    assert "/projects/fresh" in text(c.get("/projects"))


def test_project_page_shows_versions_and_files(as_role, demo):
    page = text(as_role("reader").get("/projects/demo-pkg"))
    files = _files(demo)
    for name, f in files.items():
        assert name in page
        assert f["hashes"]["sha256"] in page
    assert page.index("2.0") < page.index("demo_pkg-1.0.tar.gz")  # newest first
    assert "Python &gt;=3.9" in page
    assert "<td>publisher</td>" in page
    assert "<td>admin</td>" in page
    assert "Demo summary" in page
    assert '<h1 id="user-content-demo">' in page
    assert "<em>demo</em>" in page
    assert "pip install --index-url http://localhost/simple/ demo-pkg==2.0" in page
    assert re.search(r"\d+ bytes", page)
    assert "UTC" in page  # upload time


def test_project_page_uses_the_configured_repository_url(repo, demo):
    c = make_console(repo, REPOSITORY_URL="https://pypi.example.com/simple").test_client()
    login(c, "reader")
    assert "--index-url https://pypi.example.com/simple/ demo-pkg" in text(
        c.get("/projects/demo-pkg")
    )


def test_non_normalized_name_redirects(as_role, demo):
    r = as_role("reader").get("/projects/Demo_Pkg")
    assert r.status_code == 301
    assert r.location == "/projects/demo-pkg"


@pytest.mark.parametrize("name", ["nothing-here", "bad..name", "-x-"])
def test_unknown_project_is_404(as_role, demo, name):
    r = as_role("reader").get(f"/projects/{name}")
    assert r.status_code == 404
    assert "There is no project named" in text(r)


def test_reader_sees_no_buttons(as_role, demo):
    page = text(as_role("reader").get("/projects/demo-pkg"))
    assert "Yank" not in page
    assert "Delete" not in page


def test_publisher_sees_yank_but_not_delete(as_role, demo):
    page = text(as_role("publisher").get("/projects/demo-pkg"))
    assert ">Yank</button>" in page
    assert "Delete" not in page


def test_yank_confirm_then_unyank(as_role, demo):
    c = as_role("publisher")
    r = post(c, "/projects/demo-pkg/yank", {"version": "1.0", "reason": "broken <b>build</b>"})
    assert r.status_code == 200
    assert "Yank demo-pkg 1.0?" in text(r)
    assert not any(f["yanked"] for f in _files(demo).values())
    r = post(
        c, "/projects/demo-pkg/yank", {"version": "1.0", "reason": "broken build", "confirm": "yes"}
    )
    assert r.status_code == 303
    files = _files(demo)
    assert files["demo_pkg-1.0-py3-none-any.whl"]["yanked"] == "broken build"
    assert files["demo_pkg-2.0-py3-none-any.whl"]["yanked"] is False
    page = text(c.get("/projects/demo-pkg"))
    assert "yanked</span>" in page
    assert "Reason: broken build" in page
    event = audit.latest(demo, 1)[0]
    assert event["action"] == "yank"
    assert event["actor"] == "publisher"
    r = post(c, "/projects/demo-pkg/unyank", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 303
    assert not any(f["yanked"] for f in _files(demo).values())


def test_yank_unknown_version_is_404(as_role, demo):
    before = snapshot(demo)
    r = post(as_role("publisher"), "/projects/demo-pkg/yank", {"version": "9.9", "confirm": "yes"})
    assert r.status_code == 404
    assert "has no version" in text(r)
    assert snapshot(demo) == before


def test_yank_without_version_is_400(as_role, demo):
    before = snapshot(demo)
    r = post(as_role("publisher"), "/projects/demo-pkg/yank", {"confirm": "yes"})
    assert r.status_code == 400
    assert "Nothing was changed" in text(r)
    assert snapshot(demo) == before


def test_yank_reason_too_long_is_400(as_role, demo):
    before = snapshot(demo)
    data = {"version": "1.0", "reason": "x" * 301, "confirm": "yes"}
    r = post(as_role("publisher"), "/projects/demo-pkg/yank", data)
    assert r.status_code == 400
    assert snapshot(demo) == before


def test_publisher_cannot_delete(as_role, demo):
    before = snapshot(demo)
    data = {"version": "1.0", "confirm": "yes"}
    r = post(as_role("publisher"), "/projects/demo-pkg/delete", data)
    assert r.status_code == 403
    assert snapshot(demo) == before


def test_delete_file_version_and_project(as_role, demo):
    c = as_role("admin")
    r = post(c, "/projects/demo-pkg/delete", {"filename": "demo_pkg-1.0.tar.gz"})
    assert r.status_code == 200
    assert "Delete demo_pkg-1.0.tar.gz?" in text(r)
    assert "demo_pkg-1.0.tar.gz" in _files(demo)
    post(c, "/projects/demo-pkg/delete", {"filename": "demo_pkg-1.0.tar.gz", "confirm": "yes"})
    assert "demo_pkg-1.0.tar.gz" not in _files(demo)
    post(c, "/projects/demo-pkg/delete", {"version": "1.0", "confirm": "yes"})
    assert set(_files(demo)) == {"demo_pkg-2.0-py3-none-any.whl"}
    r = post(c, "/projects/demo-pkg/delete", {"confirm": "yes"})
    assert r.status_code == 303
    assert r.location == "/projects"
    assert "Deleted the whole project demo-pkg" in text(c.get("/projects"))
    assert c.get("/projects/demo-pkg").status_code == 404


def test_delete_unknown_file_is_404(as_role, demo):
    before = snapshot(demo)
    r = post(as_role("admin"), "/projects/demo-pkg/delete", {"filename": "x.whl", "confirm": "yes"})
    assert r.status_code == 404
    assert "nothing in project demo-pkg matches file x.whl" in text(r)
    assert snapshot(demo) == before


def test_delete_removes_stored_files_whose_pages_are_gone(as_role, demo):
    for key in (keys.project_json("demo-pkg"), keys.project_html("demo-pkg")):
        demo.delete(key)
    c = as_role("admin")
    r = post(c, "/projects/demo-pkg/delete", {"version": "1.0", "confirm": "yes"})
    assert r.status_code == 303
    assert not demo.exists(keys.file_key("demo-pkg", "demo_pkg-1.0.tar.gz"))
    assert demo.exists(keys.file_key("demo-pkg", "demo_pkg-2.0-py3-none-any.whl"))
    r = post(c, "/projects/demo-pkg/delete", {"confirm": "yes"})
    assert r.status_code == 303
    assert r.location == "/projects"
    assert not demo.exists(keys.file_key("demo-pkg", "demo_pkg-2.0-py3-none-any.whl"))
    r = post(c, "/projects/demo-pkg/delete", {"confirm": "yes"})
    assert r.status_code == 404  # the page stays, empty, with the record of the deletion
    assert "nothing in project demo-pkg matches anything: deleted at" in text(r)


HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.mark.parametrize(
    ("content_type", "description"),
    [
        ("text/markdown", f"# Title\n\n{HOSTILE}\n\n[link](javascript:alert(2))\n"),
        ("text/x-rst", f"Title\n=====\n\n{HOSTILE}\n\n`x <javascript:alert(2)>`_\n"),
        ("text/x-rst", f"Title\n=====\n\n.. raw:: html\n\n   {HOSTILE}\n"),
        ("text/plain", HOSTILE),
        (None, HOSTILE),
    ],
)
def test_metadata_markup_is_rendered_harmlessly(as_role, repo, tmp_path, content_type, description):
    headers = {
        "Summary": HOSTILE,
        "Author": "<b onmouseover=alert(3)>Mallory</b>",
        "Home-page": "javascript:alert(4)",
        "Project-URL": "Docs, javascript:alert(5)",
    }
    if content_type:
        headers["Description-Content-Type"] = content_type
    wheel = wheel_with_metadata(tmp_path, "evil", "1.0", headers, description)
    publish.publish(repo, wheel, uploader="publisher")
    page = text(as_role("reader").get("/projects/evil"))
    main = page[page.index("<main>") :]
    assert "<script" not in main
    assert not re.search(r"<[^>]+\son\w+\s*=", main), "an event handler attribute got through"
    assert 'href="javascript:' not in main.lower()
    assert 'class="readme"' in main  # the description is shown
    assert "Title" in main or "Title" not in description
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in main  # the summary, as text
    assert "&lt;b onmouseover=alert(3)&gt;Mallory&lt;/b&gt;" in main  # the author, as text
