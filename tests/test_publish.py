"""publish/yank/unyank/delete on both backends: what the pages and the bucket then hold."""

from __future__ import annotations

import hashlib

import boto3
import pytest

from privpi import audit, index, keys, publish
from privpi.errors import PrivpiError, ValidationError
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.publish import (
    parse_links,
)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def html_links(storage, project) -> dict[str, dict]:
    parsed = parse_links(storage.read(keys.project_html(project)).body)
    return {text: attrs for attrs, text in parsed.links}


def test_publish_wheel_and_sdist(storage, tmp_path):
    wheel = make_wheel(tmp_path, "Demo.Pkg", "1.0", requires_python=">=3.8,<4")
    sdist = make_sdist(tmp_path, "demo-pkg", "1.0")
    assert publish.publish(storage, wheel, uploader="alice") == publish.PublishResult(
        "demo-pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl", "published"
    )
    assert publish.publish(storage, sdist).status == "published"

    page = index.read_project(storage, "demo-pkg")
    assert [f["filename"] for f in page["files"]] == [wheel.name, sdist.name]
    entry = page["files"][0]
    metadata = storage.read(keys.metadata_key("demo-pkg", wheel.name)).body
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.0\n")
    assert entry["hashes"] == {"sha256": sha256(wheel)}
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert (entry["requires-python"], entry["_uploader"], entry["size"]) == (
        ">=3.8,<4",
        "alice",
        wheel.stat().st_size,
    )
    assert page["versions"] == ["1.0"]
    assert storage.read(keys.file_key("demo-pkg", wheel.name)).body == wheel.read_bytes()
    assert index.core_metadata(storage, "demo-pkg", sdist.name).startswith(b"Metadata-Version")
    assert index.core_metadata(storage, "demo-pkg", wheel.name) == metadata

    links = html_links(storage, "demo-pkg")
    assert links[wheel.name]["href"] == f"../../files/demo-pkg/{wheel.name}#sha256={sha256(wheel)}"
    assert links[wheel.name]["data-requires-python"] == ">=3.8,<4"
    assert index.read_root(storage)["projects"] == [{"name": "demo-pkg"}]
    assert b'href="demo-pkg/"' in storage.read(keys.ROOT_HTML).body

    events = audit.latest(storage, actions={"publish"})
    assert [(e["actor"], e["filename"]) for e in events] == [
        ("cli", sdist.name),
        ("alice", wheel.name),
    ]


def test_headers_written_to_s3(s3_storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    publish.publish(s3_storage, wheel)
    bucket = s3_storage.config.bucket
    s3 = boto3.client("s3", endpoint_url=s3_storage.config.endpoint_url)  # reads the headers
    for key in (
        keys.file_key("demo", wheel.name),
        keys.metadata_key("demo", wheel.name),
        keys.project_html("demo"),
        keys.project_json("demo"),
        keys.ROOT_HTML,
        keys.ROOT_JSON,
    ):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (
            keys.content_type(key),
            keys.cache_control(key),
        ), key
    assert keys.cache_control(keys.file_key("demo", wheel.name)).endswith("immutable")


def test_existing_file_refused_skipped_or_replaced(storage, tmp_path):
    wheel = make_wheel(tmp_path / "a", "demo", "1.0")
    publish.publish(storage, wheel)
    with pytest.raises(ValidationError) as e:
        publish.publish(storage, wheel)
    assert e.value.message == (
        f"{wheel.name} already exists in demo (use --skip-existing to skip files already published)"
    )
    assert publish.publish(storage, wheel, existing="skip").status == "skipped"
    assert publish.publish(storage, wheel, existing="overwrite").status == "skipped"

    other = make_wheel(tmp_path / "b", "demo", "1.0", summary="different bytes")
    for existing in ("refuse", "skip"):
        with pytest.raises(ValidationError, match="with different contents"):
            publish.publish(storage, other, existing=existing)
    assert index.read_project(storage, "demo")["files"][0]["hashes"]["sha256"] == sha256(wheel)

    assert publish.publish(storage, other, existing="overwrite").status == "replaced"
    page = index.read_project(storage, "demo")
    assert [f["hashes"]["sha256"] for f in page["files"]] == [sha256(other)]
    assert html_links(storage, "demo")[wheel.name]["href"].endswith(f"#sha256={sha256(other)}")
    assert storage.read(keys.file_key("demo", wheel.name)).body == other.read_bytes()
    stored_metadata = storage.read(keys.metadata_key("demo", wheel.name)).body
    assert b"Summary: different bytes" in stored_metadata


def test_bad_file_stores_nothing(storage, tmp_path):
    bad = make_wheel(tmp_path, "demo", "1.0", metadata_name="other")
    with pytest.raises(ValidationError, match="names project demo but its metadata says other"):
        publish.publish(storage, bad)
    assert list(storage.list("packages/")) == []


def test_finishes_a_publish_that_stopped_after_the_file(storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    storage.write(keys.file_key("demo", wheel.name), wheel.read_bytes())  # pages never written
    assert publish.publish(storage, wheel).status == "published"
    assert [f["filename"] for f in index.read_project(storage, "demo")["files"]] == [wheel.name]


def test_failure_after_the_file_leaves_no_entry_and_running_again_completes(
    storage, tmp_path, monkeypatch
):
    """The stored file stays (a racing identical upload may be listing it); no page lists
    it, and running the publish again finishes it."""
    wheel = make_wheel(tmp_path, "demo", "1.0")
    real_write = type(storage).write

    def failing_write(self, key, body, **kwargs):
        if key.endswith(".metadata"):
            raise PrivpiError("disk full")
        return real_write(self, key, body, **kwargs)

    monkeypatch.setattr(type(storage), "write", failing_write)
    with pytest.raises(PrivpiError, match="disk full"):
        publish.publish(storage, wheel)
    monkeypatch.undo()
    assert [i.key for i in storage.list("packages/")] == [keys.file_key("demo", wheel.name)]
    assert publish.publish(storage, wheel).status == "published"
    assert [f["filename"] for f in index.read_project(storage, "demo")["files"]] == [wheel.name]


def test_yank_unyank(storage, tmp_path):
    publish.publish(storage, make_wheel(tmp_path, "demo", "1.0"))
    publish.publish(storage, make_sdist(tmp_path, "demo", "1.0"))
    publish.publish(storage, make_wheel(tmp_path, "demo", "2.0"))
    assert publish.yank(storage, "Demo", "1.0.0", reason="CVE-1 <bad>", actor="bob") == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    yanked = {f["filename"]: f["yanked"] for f in index.read_project(storage, "demo")["files"]}
    assert yanked == {
        "demo-1.0-py3-none-any.whl": "CVE-1 <bad>",
        "demo-1.0.tar.gz": "CVE-1 <bad>",
        "demo-2.0-py3-none-any.whl": False,
    }
    links = html_links(storage, "demo")
    assert links["demo-1.0.tar.gz"]["data-yanked"] == "CVE-1 <bad>"
    assert "data-yanked" not in links["demo-2.0-py3-none-any.whl"]
    publish.yank(storage, "demo", "2.0")
    assert index.read_project(storage, "demo")["files"][2]["yanked"] is True
    publish.unyank(storage, "demo", "1.0")
    assert [f["yanked"] for f in index.read_project(storage, "demo")["files"]] == [
        False,
        False,
        True,
    ]
    assert [e["action"] for e in audit.latest(storage, 3)] == ["unyank", "yank", "yank"]
    with pytest.raises(ValidationError, match="project demo has no version 9.9"):
        publish.yank(storage, "demo", "9.9")
    with pytest.raises(ValidationError, match="there is no project named ghost"):
        publish.yank(storage, "ghost", "1.0")


def test_delete_file_version_and_project(storage, tmp_path):
    for version in ("1.0", "2.0"):
        publish.publish(storage, make_wheel(tmp_path, "demo", version))
        publish.publish(storage, make_sdist(tmp_path, "demo", version))
    publish.publish(storage, make_wheel(tmp_path, "other", "1.0"))

    assert publish.delete(storage, "demo", filename="demo-1.0.tar.gz") == ["demo-1.0.tar.gz"]
    assert not storage.exists(keys.file_key("demo", "demo-1.0.tar.gz"))
    assert publish.delete(storage, "demo", "2.0") == [
        "demo-2.0-py3-none-any.whl",
        "demo-2.0.tar.gz",
    ]
    assert not storage.exists(keys.metadata_key("demo", "demo-2.0-py3-none-any.whl"))
    assert list(html_links(storage, "demo")) == ["demo-1.0-py3-none-any.whl"]
    assert index.read_project(storage, "demo")["versions"] == ["1.0"]
    assert index.read_root(storage)["projects"] == [{"name": "demo"}, {"name": "other"}]

    assert publish.delete(storage, "demo") == ["demo-1.0-py3-none-any.whl"]
    assert index.read_root(storage)["projects"] == [{"name": "other"}]
    # The page stays, empty, with the record of what was deleted; no file stays.
    page = index.read_project(storage, "demo")
    assert page["files"] == []
    assert sorted(page["_deleted"]) == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
        "demo-2.0-py3-none-any.whl",
        "demo-2.0.tar.gz",
    ]
    assert list(html_links(storage, "demo")) == []
    assert [i.key for i in storage.list(keys.FILES) if "/demo" in i.key] == []
    with pytest.raises(ValidationError, match="nothing in project demo matches anything: deleted"):
        publish.delete(storage, "demo")
    with pytest.raises(ValidationError, match="there is no project named ghost"):
        publish.delete(storage, "ghost")
    with pytest.raises(ValidationError, match="nothing in project other matches version 3.0"):
        publish.delete(storage, "other", "3.0")
    # publishing again after the last file went makes it a new project again
    publish.publish(storage, make_wheel(tmp_path, "demo", "3.0"))
    assert [p["name"] for p in index.read_root(storage)["projects"]] == ["demo", "other"]


def test_real_distributions_publish(folder_storage, real_dists):
    for path in real_dists.values():
        publish.publish(folder_storage, path)
    root = index.read_root(folder_storage)
    assert [p["name"] for p in root["projects"]] == [
        "jinja2",
        "python-dateutil",
        "six",
        "zope-event",
    ]
    six = index.read_project(folder_storage, "six")
    assert six["versions"] == ["1.10.0", "1.16.0"]
    jinja = html_links(folder_storage, "jinja2")["Jinja2-2.11.3-py2.py3-none-any.whl"]
    assert jinja["data-requires-python"] == ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*"


@pytest.mark.parametrize(
    ("first", "second", "version"),
    [
        ("secretpkg-1.0-py3-none-any.whl", "SECRETPKG-1.0-py3-none-any.whl", "1.0"),
        ("legt-1.0-py3-none-any.whl", "legt-01.0-py3-none-any.whl", "1.0"),
    ],
)
def test_names_that_normalize_alike_are_one_file(folder_storage, tmp_path, first, second, version):
    name = first.split("-")[0]
    publish.publish(folder_storage, make_wheel(tmp_path / "a", name, version, filename=first))
    other = make_wheel(tmp_path / "b", name, version, filename=second, summary="other bytes")
    with pytest.raises(publish.DuplicateFile, match=f"same distribution as {first}"):
        publish.publish(folder_storage, other)
    assert [f["filename"] for f in index.read_project(folder_storage, name)["files"]] == [first]
    assert not folder_storage.exists(keys.file_key(name, second))  # nothing left behind
    # after a delete the other spelling stays refused: the record keeps the name
    publish.delete(folder_storage, name, filename=first)
    with pytest.raises(publish.DuplicateFile):
        publish.publish(folder_storage, other)


def test_an_old_non_normalized_name_stays_publishable(folder_storage, tmp_path):
    wheel = make_wheel(tmp_path, "Old_Name", "1.0", filename="Old_Name-1.0-py3-none-any.whl")
    assert publish.publish(folder_storage, wheel).status == "published"
