"""The rendered pages against PEP 503/592/658/691/700/714, golden files and pip's own parser.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest ...``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from pip._internal.index.collector import IndexContent, parse_links

from privpi import index, pages, status
from tests.support.publish import parse_links as parse_html

GOLDEN = Path(__file__).parent / "golden"
TIME = "2026-01-02T03:04:05.123456Z"
YANK_REASON = 'broken "quotes" & <tags>'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dist(filename, version, kind="wheel", requires_python=None, size=1234):
    return SimpleNamespace(
        filename=filename,
        project="demo-pkg",
        version=version,
        kind=kind,
        requires_python=requires_python,
        sha256=sha(filename),
        size=size,
    )


def sample_page() -> dict:
    entries = [
        index.file_entry(dist("demo_pkg-1.10-py3-none-any.whl", "1.10"), "bob", TIME, sha("m2")),
        index.file_entry(
            dist("demo_pkg-1.9-py3-none-any.whl", "1.9", requires_python=">=3.8,<4"),
            "alice",
            TIME,
            sha("m1"),
        ),
        index.file_entry(dist("demo_pkg-1.9.tar.gz", "1.9", "sdist"), None, TIME, None),
        index.file_entry(
            dist("demo_pkg-2.0rc1-py3-none-any.whl", "2.0rc1"), "bob", TIME, sha("m3")
        ),
    ]
    entries[3]["yanked"] = YANK_REASON
    entries[2]["yanked"] = True
    return index.normalized({**index.empty_project("demo-pkg"), "files": entries})


def sample_root() -> dict:
    return index.root_page(["zeta", "demo-pkg", "a-c"])


def quarantined_page() -> dict:
    """PEP 792 status with a reason that needs escaping, and PEP 708 tracks."""
    page = status.with_tracks(sample_page(), "https://pypi.org/simple/demo-pkg/")
    return index.normalized(status.with_status(page, "quarantined", 'malware "x" & <y>'))


RENDERED = {
    "project.html": lambda: pages.project_html(sample_page()),
    "project.json": lambda: index.dumps(sample_page()),
    "project-quarantined.html": lambda: pages.project_html(quarantined_page()),
    "project-quarantined.json": lambda: index.dumps(quarantined_page()),
    "root.html": lambda: pages.root_html(sample_root()),
    "root.json": lambda: index.dumps(sample_root()),
}


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_golden_pages(name):
    body = RENDERED[name]()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / name).write_bytes(body)
    assert body == (GOLDEN / name).read_bytes()


def test_output_is_deterministic_whatever_the_input_order():
    page = sample_page()
    shuffled = dict(reversed(list(page.items())))
    shuffled["files"] = random.sample(page["files"], len(page["files"]))
    assert index.dumps(index.normalized(shuffled)) == index.dumps(page)
    assert pages.project_html(index.normalized(shuffled)) == pages.project_html(page)


def test_project_json_follows_pep_691_and_700():
    page = json.loads(index.dumps(sample_page()))
    assert page["meta"] == {"api-version": "1.4"}
    assert page["name"] == "demo-pkg"
    assert page["versions"] == ["1.9", "1.10", "2.0rc1"]  # PEP 440 order, not text order
    by_name = {f["filename"]: f for f in page["files"]}
    wheel = by_name["demo_pkg-1.9-py3-none-any.whl"]
    assert wheel == {
        "filename": "demo_pkg-1.9-py3-none-any.whl",
        "url": "../../files/demo-pkg/demo_pkg-1.9-py3-none-any.whl",
        "hashes": {"sha256": sha("demo_pkg-1.9-py3-none-any.whl")},
        "requires-python": ">=3.8,<4",
        "core-metadata": {"sha256": sha("m1")},
        "dist-info-metadata": {"sha256": sha("m1")},
        "yanked": False,
        "size": 1234,
        "upload-time": TIME,
        "_version": "1.9",
        "_uploader": "alice",
    }
    sdist = by_name["demo_pkg-1.9.tar.gz"]
    assert (sdist["core-metadata"], sdist["dist-info-metadata"], sdist["yanked"]) == (
        False,
        False,
        True,
    )
    assert by_name["demo_pkg-2.0rc1-py3-none-any.whl"]["yanked"] == YANK_REASON
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", index.now())


def test_project_html_follows_pep_503_592_658_714():
    html = pages.project_html(sample_page()).decode()
    parsed = parse_html(html)
    assert parsed.meta == {"pypi:repository-version": "1.4"}
    links = {text: attrs for attrs, text in parsed.links}
    assert list(links) == [
        "demo_pkg-1.9-py3-none-any.whl",
        "demo_pkg-1.9.tar.gz",
        "demo_pkg-1.10-py3-none-any.whl",
        "demo_pkg-2.0rc1-py3-none-any.whl",
    ]
    for filename, attrs in links.items():
        assert attrs["href"] == f"../../files/demo-pkg/{filename}#sha256={sha(filename)}"
    assert links["demo_pkg-1.9-py3-none-any.whl"] == {
        "href": links["demo_pkg-1.9-py3-none-any.whl"]["href"],
        "data-requires-python": ">=3.8,<4",
        "data-core-metadata": f"sha256={sha('m1')}",
        "data-dist-info-metadata": f"sha256={sha('m1')}",
    }
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in html  # escaped in the source
    assert links["demo_pkg-1.9.tar.gz"]["data-yanked"] == ""
    assert "data-core-metadata" not in links["demo_pkg-1.9.tar.gz"]
    assert links["demo_pkg-2.0rc1-py3-none-any.whl"]["data-yanked"] == YANK_REASON
    assert "&lt;tags&gt;" in html
    assert "<tags>" not in html


def _pip_links(body: bytes, content_type: str):
    url = "https://example.invalid/simple/demo-pkg/"
    return {
        link.filename: link for link in parse_links(IndexContent(body, content_type, None, url))
    }


@pytest.mark.parametrize(
    ("render", "content_type"),
    [
        (lambda p: pages.project_html(p), "text/html"),
        (lambda p: index.dumps(p), "application/vnd.pypi.simple.v1+json"),
    ],
    ids=["html", "json"],
)
def test_pip_reads_both_formats_alike(render, content_type):
    links = _pip_links(render(sample_page()), content_type)
    assert sorted(links) == sorted(f["filename"] for f in sample_page()["files"])
    wheel = links["demo_pkg-1.9-py3-none-any.whl"]
    assert wheel.url_without_fragment == (
        "https://example.invalid/files/demo-pkg/demo_pkg-1.9-py3-none-any.whl"
    )
    assert wheel.hash == sha("demo_pkg-1.9-py3-none-any.whl")
    assert wheel.requires_python == ">=3.8,<4"
    assert wheel.metadata_file_data.hashes == {"sha256": sha("m1")}
    assert not wheel.is_yanked
    assert links["demo_pkg-2.0rc1-py3-none-any.whl"].yanked_reason == YANK_REASON
    assert links["demo_pkg-1.9.tar.gz"].is_yanked
    assert links["demo_pkg-1.9.tar.gz"].metadata_file_data is None


def test_root_pages_list_every_project_with_relative_links():
    root = sample_root()
    assert json.loads(index.dumps(root)) == {
        "meta": {"api-version": "1.4"},
        "projects": [{"name": "a-c"}, {"name": "demo-pkg"}, {"name": "zeta"}],
    }
    parsed = parse_html(pages.root_html(root))
    assert parsed.links == [({"href": f"{n}/"}, n) for n in ("a-c", "demo-pkg", "zeta")]
    assert parsed.meta == {"pypi:repository-version": "1.4"}
