"""Project status (PEP 792) and tracks (PEP 708): the commands, the pages, uploads, reindex."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from privpi import audit, index, keys, publish, reindex
from privpi.cli import main
from tests.support.distfactory import make_wheel
from tests.support.publish import parse_links


@pytest.fixture
def run(storage_url):
    def invoke(*args):
        return CliRunner().invoke(main, ["--storage", storage_url, *args])

    return invoke


@pytest.fixture
def published(storage, tmp_path):
    for version in ("1.0", "1.1"):
        publish.publish(storage, make_wheel(tmp_path, "demo-lib", version), uploader="alice")
    return storage


def page(storage) -> dict:
    return json.loads(storage.read(keys.project_json("demo-lib")).body)


def html(storage) -> str:
    return storage.read(keys.project_html("demo-lib")).body.decode()


def unserialed(text: str) -> str:
    """An HTML page without its commit serial (every commit has its own)."""
    return re.sub(r'<meta name="privpi:serial" content="\d+">', "", text)


def root(storage) -> dict:
    return json.loads(storage.read(keys.ROOT_JSON).body)


def test_archived_is_marked_on_both_pages_and_refuses_uploads(run, published, tmp_path):
    r = run("status", "Demo_Lib", "archived", "--reason", "use new-lib")
    assert (r.exit_code, r.output) == (0, "demo-lib is now archived: use new-lib\n")
    data = page(published)
    assert data["project-status"] == {"status": "archived", "reason": "use new-lib"}
    assert data["meta"]["api-version"] == "1.4"
    assert len(data["files"]) == 2  # archived: still served
    text = html(published)
    assert '<meta name="pypi:project-status" content="archived">' in text
    assert '<meta name="pypi:project-status-reason" content="use new-lib">' in text
    assert '<meta name="pypi:repository-version" content="1.4">' in text
    wheel = make_wheel(tmp_path, "demo-lib", "1.2")
    r = run("upload", str(wheel))
    assert r.exit_code == 1
    assert "Error: project demo-lib is archived: it accepts no new uploads\n" in r.output
    assert not published.exists(keys.file_key("demo-lib", wheel.name))  # nothing left behind
    assert [f["_version"] for f in page(published)["files"]] == ["1.0", "1.1"]
    event = audit.latest(published, 1)[0]
    assert (event["action"], event["status"]) == ("status", "archived")
    assert event["reason"] == "use new-lib"


def test_quarantine_lists_no_files_and_active_restores_them(run, published, tmp_path):
    before = page(published)
    before_html = html(published)
    assert run("status", "demo-lib", "quarantined", "--reason", "malware").exit_code == 0
    data = page(published)
    assert (data["files"], data["versions"]) == ([], [])
    assert parse_links(html(published).encode()).links == []
    assert root(published)["_quarantined"] == ["demo-lib"]
    assert {"name": "demo-lib"} in root(published)["projects"]  # still private: no fall-through
    r = run("upload", str(make_wheel(tmp_path, "demo-lib", "1.2")))
    assert "Error: project demo-lib is quarantined: it accepts no new uploads\n" in r.output
    r = run("upload", "--overwrite", str(make_wheel(tmp_path, "demo-lib", "1.0")))
    assert "is quarantined: it accepts no new uploads" in r.output  # held bytes untouched

    assert run("status", "demo-lib", "active").exit_code == 0
    after = page(published)
    assert "project-status" not in after
    assert "_held" not in after
    # the refused upload's bytes were removed as a delete removes them (recorded first)
    assert set(after.pop("_deleted")) == {"demo_lib-1.2-py3-none-any.whl"}
    strip = lambda p: {k: v for k, v in p.items() if k != "_serial"}  # noqa: E731
    assert strip(after) == strip(before)
    assert unserialed(html(published)) == unserialed(before_html)
    assert "_quarantined" not in root(published)
    assert fetch_ok(published)
    assert run("upload", str(make_wheel(tmp_path, "demo-lib", "1.3"))).exit_code == 0


def fetch_ok(storage) -> bool:
    """Every listed file is stored (the held ones were never touched)."""
    return all(
        storage.exists(keys.file_key("demo-lib", f["filename"])) for f in page(storage)["files"]
    )


def test_deprecated_changes_nothing_but_the_marker(run, published, tmp_path):
    assert run("status", "demo-lib", "deprecated").exit_code == 0
    assert page(published)["project-status"] == {"status": "deprecated"}
    assert "pypi:project-status-reason" not in html(published)
    assert run("upload", str(make_wheel(tmp_path, "demo-lib", "1.2"))).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["status", "nope", "archived"], 1, "Error: there is no project named nope\n"),
        (["status", "demo-lib", "retired"], 2, "'retired' is not one of"),
        (["status", "demo-lib", "active", "--reason", "x"], 1, "an active project has no"),
        (["status", "demo-lib", "archived", "--reason", "a\nb"], 1, "one printable line"),
        (["tracks", "demo-lib", "ftp://x/simple/demo-lib/"], 1, "invalid tracks URL"),
        (["tracks", "demo-lib", "https://u:p@x/simple/demo-lib/"], 1, "invalid tracks URL"),
        (["tracks", "demo-lib"], 2, "give either URL or --clear"),
    ],
)
def test_bad_input_is_refused_by_name_and_changes_nothing(run, published, args, code, message):
    serial = page(published)["_serial"]
    r = run(*args)
    assert r.exit_code == code, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert page(published)["_serial"] == serial


def test_tracks_is_set_and_cleared(run, published):
    url = "https://pypi.org/simple/demo-lib/"
    assert run("tracks", "demo-lib", url).output == f"demo-lib tracks {url}.\n"
    assert page(published)["meta"]["tracks"] == [url]
    assert f'<meta name="pypi:tracks" content="{url}">' in html(published)
    assert run("tracks", "demo-lib", "--clear").exit_code == 0
    assert "tracks" not in page(published)["meta"]
    assert "pypi:tracks" not in html(published)
    assert [e["action"] for e in audit.latest(published, 2)] == ["tracks", "tracks"]


def test_no_optional_fields_of_the_versions_between(published):
    """1.2-1.3 fields are optional: no alternate-locations, no provenance (PEP 708, 740)."""
    data = page(published)
    assert "alternate-locations" not in data
    assert "tracks" not in data["meta"]
    assert all("provenance" not in f for f in data["files"])


@pytest.mark.parametrize("lost", [False, True], ids=["kept", "pages-lost"])
def test_reindex_rebuilds_status_and_tracks_byte_for_byte(run, published, lost):
    run("tracks", "demo-lib", "https://pypi.org/simple/demo-lib/")
    run("status", "demo-lib", "quarantined", "--reason", "malware")
    before, before_html = page(published), html(published)
    if lost:
        for key in (keys.project_json("demo-lib"), keys.project_html("demo-lib")):
            published.delete(key)
    reindex.reindex(published)
    after = page(published)
    strip = lambda p: {k: v for k, v in p.items() if k != "_serial"}  # noqa: E731
    assert strip(after) == strip(before)
    assert unserialed(html(published)) == unserialed(before_html)
    assert root(published)["_quarantined"] == ["demo-lib"]
    assert index.read_project(published, "demo-lib")["files"] == []
