"""Concurrent publishers lose nothing; reindex rebuilds pages identical to the originals;
publishing costs a fixed number of S3 requests and never lists the bucket."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from privpi import index, keys, publish
from privpi.errors import PrivpiError
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.publish import RequestCounter, parse_links, publish_at_once


def page_files(storage, project) -> tuple[list[str], list[str]]:
    """Filenames listed in the JSON and in the HTML page."""
    json_names = [f["filename"] for f in index.read_project(storage, project)["files"]]
    html = parse_links(storage.read(keys.project_html(project)).body)
    return json_names, [text for _, text in html.links]


@pytest.mark.slow  # 16 publishers retry their conflicting commits, with backoff
def test_concurrent_publishers_in_threads(storage, tmp_path):
    count = 16
    wheels = [make_wheel(tmp_path, "busy", f"1.{i}") for i in range(count)]
    assert publish_at_once(storage, wheels) == []
    expected = sorted(w.name for w in wheels)
    json_names, html_names = page_files(storage, "busy")
    assert (sorted(json_names), sorted(html_names)) == (expected, expected)
    assert index.read_root(storage)["projects"] == [{"name": "busy"}]


@pytest.mark.slow
def test_concurrent_publishers_as_processes(storage, tmp_path):
    count = 6
    files = [make_sdist(tmp_path, "Busy", f"2.{i}") for i in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "privpi", "--storage", storage.url, "upload", str(f)],
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * count, outputs
    expected = sorted(f.name for f in files)
    json_names, html_names = page_files(storage, "busy")
    assert (sorted(json_names), sorted(html_names)) == (expected, expected)


def _pages(storage, *without: str) -> dict[str, object]:
    """Every page but those of the projects without, the JSON ones without commit serials."""
    found = {}
    for info in storage.list(keys.SIMPLE):
        if info.key.split("/")[2] in without:
            continue
        body = storage.read(info.key).body
        if info.key.endswith(".json"):
            body = {k: v for k, v in json.loads(body).items() if k not in ("_serial", "_serials")}
        else:
            body = re.sub(rb'\n *<meta name="privpi:serial"[^>]*>', b"", body)
        found[info.key] = body
    return found


def test_reindex_restores_deleted_pages_identically(storage, tmp_path):
    publish.publish(storage, make_wheel(tmp_path, "demo", "1.0", requires_python=">=3.8,<4"))
    publish.publish(storage, make_sdist(tmp_path, "demo", "1.0"), uploader="alice")
    publish.publish(storage, make_wheel(tmp_path, "demo", "2.0"), uploader="bob")
    publish.publish(storage, make_wheel(tmp_path, "other", "0.1"), uploader="carol")
    publish.yank(storage, "demo", "1.0", reason="use 2.0")
    publish.publish(storage, make_wheel(tmp_path, "gone", "1.0"))
    publish.delete(storage, "gone")
    assert index.read_project(storage, "gone")["files"] == []  # emptied, not removed
    original = _pages(storage, "gone")
    metadata_key = keys.metadata_key("demo", "demo-2.0-py3-none-any.whl")
    original_metadata = storage.read(metadata_key).body
    assert set(original) == {
        keys.ROOT_HTML,
        keys.ROOT_JSON,
        *(k(p) for p in ("demo", "other") for k in (keys.project_html, keys.project_json)),
    }

    for info in list(storage.list(keys.SIMPLE)):
        storage.delete(info.key)
    storage.delete(metadata_key)
    result = publish.reindex(storage)
    assert (result.projects, result.files, result.problems) == (2, 4, [])
    assert _pages(storage) == original
    assert storage.read(metadata_key).body == original_metadata

    # Only the HTML lost, and an empty page of a project without files: repaired, kept.
    storage.delete(keys.project_html("demo"))
    storage.write(keys.project_json("ghost"), index.dumps(index.empty_project("ghost")))
    publish.reindex(storage)
    assert _pages(storage, "ghost") == original
    assert index.read_root(storage)["projects"] == [{"name": "demo"}, {"name": "other"}]


def test_reindex_lists_files_the_pages_missed(storage, tmp_path, monkeypatch):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    young = make_wheel(tmp_path, "demo", "2.0")
    storage.write(keys.file_key("demo", young.name), young.read_bytes())
    result = publish.reindex(storage)  # a file younger than the grace period: an upload?
    assert result.in_flight == [f"demo/{young.name}"]
    assert not storage.exists(keys.project_json("demo"))
    storage.delete(keys.file_key("demo", young.name))
    monkeypatch.setattr(index, "GRACE", 0)
    storage.write(keys.file_key("demo", wheel.name), wheel.read_bytes())
    progress = []
    publish.reindex(storage, lambda done, total: progress.append((done, total)))
    assert progress == [(1, 1)]
    assert page_files(storage, "demo") == ([wheel.name], [wheel.name])
    assert index.read_root(storage)["projects"] == [{"name": "demo"}]
    assert storage.exists(keys.metadata_key("demo", wheel.name))


def test_s3_requests_per_publish_are_few_and_never_list(s3_storage, tmp_path):
    counter = RequestCounter(s3_storage.client)
    publish.publish(s3_storage, make_wheel(tmp_path, "demo", "1.0"))
    new_project = counter.take()
    publish.publish(s3_storage, make_wheel(tmp_path, "demo", "2.0"))
    new_version = counter.take()
    publish.publish(s3_storage, make_sdist(tmp_path, "demo", "2.0"))
    new_sdist = counter.take()
    # file, .metadata (a wheel's), project JSON read, HTML, JSON (+ root read, HTML, JSON),
    # audit event: the floor of docs/protocol.md (the console renders its description
    # lazily; readers fold the audit event into the listing summary, privpi.listing)
    assert new_project == {"PutObject": 7, "GetObject": 2}
    assert new_version == {"PutObject": 5, "GetObject": 1}
    assert new_sdist == {"PutObject": 4, "GetObject": 1}


def test_publishing_again_repairs_a_root_that_missed_the_project(storage, tmp_path):
    """A publish that failed after its project page (root write lost) is completed by
    publishing the same file again, whatever the flag."""
    wheel = make_wheel(tmp_path, "demo", "1.0")
    publish.publish(storage, wheel)
    index.write_page(storage, keys.ROOT_JSON, index.dumps(index.empty_root()))
    with pytest.raises(PrivpiError, match="already exists"):
        publish.publish(storage, wheel)
    assert index.read_root(storage)["projects"] == [{"name": "demo"}]
    assert parse_links(storage.read(keys.ROOT_HTML).body).links == [({"href": "demo/"}, "demo")]


def test_a_stray_html_is_written_over_after_one_pause(storage, tmp_path):
    """An HTML left by a writer that stopped between its HTML and its JSON: the next commit
    finds the JSON unchanged, waits once (it may be a writer about to commit), then writes
    over it, and the page is the JSON's rendering again."""
    publish.publish(storage, make_wheel(tmp_path, "stray", "1.0"))
    index.write_page(storage, keys.project_html("stray"), b"<html>half way</html>\n")
    publish.publish(storage, make_wheel(tmp_path, "stray", "2.0"))
    json_names, html_names = page_files(storage, "stray")
    expected = ["stray-1.0-py3-none-any.whl", "stray-2.0-py3-none-any.whl"]
    assert (sorted(json_names), sorted(html_names)) == (expected, expected)


def test_lost_answer_to_the_new_project_json_still_adds_the_root(faulty, tmp_path):
    """S3 creates the project JSON but the answer is lost: boto3's retry gets 412 and the
    re-read page already holds this very entry; the root must still get the project."""
    faulty.proxy.add_rule("PUT", "/packages/simple/demo/index.json", action="drop_after")
    publish.publish(faulty.storage, make_wheel(tmp_path, "demo", "1.0"))
    assert index.read_root(faulty.direct)["projects"] == [{"name": "demo"}]
