"""The project page's description and metadata are rendered once per source file: by the
first view that finds the stored summary missing or from another file (and by privpi
reindex), never by a publish; later views only read the stored summary
(privpi.descriptions)."""

from __future__ import annotations

import pytest

from privpi import descriptions, keys, publish
from privpi.storage import FolderStorage
from tests.support.console import login, make_console, seed_users, text, wheel_with_metadata
from tests.support.distfactory import make_sdist

MARKDOWN = {"Description-Content-Type": "text/markdown", "Summary": "Stored summary"}
NORMAL = "# Heading\n\nA *normal* description.\n"


def _reader(storage):
    seed_users(storage)
    client = make_console(storage).test_client()
    assert login(client, "reader").status_code == 303
    return client


def _main(client, project: str) -> str:
    response = client.get(f"/projects/{project}")
    assert response.status_code == 200
    page = text(response)
    return page[page.index("<main>") :]


def test_a_description_over_the_cap_shows_a_notice_and_truncated_raw_text(storage, tmp_path):
    start = "<script>alert(1)</script> *not emphasis*\n"
    body = start + "word " * (descriptions.MAX_SOURCE // 5) + "\nTHE-END-MARKER\n"
    wheel = wheel_with_metadata(tmp_path, "huge", "1.0", MARKDOWN, body)
    assert publish.publish(storage, wheel).status == "published"
    main = _main(_reader(storage), "huge")
    assert f"over the {descriptions.MAX_SOURCE:,} bytes rendered" in main
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *not emphasis*" in main  # raw, escaped
    assert "<script>alert" not in main
    assert "<em>" not in main
    assert "THE-END-MARKER" not in main  # truncated
    assert "Stored summary" in main


def test_a_publish_stores_no_summary(storage, tmp_path):
    publish.publish(storage, wheel_with_metadata(tmp_path, "lazy", "1.0", MARKDOWN, NORMAL))
    stored = [i.key for i in storage.list(keys.CONSOLE)]
    assert stored == []  # nothing under console/: no description, and readers keep the
    # listing summary (privpi.listing)


def test_after_the_first_view_a_view_needs_no_distribution_file(storage, tmp_path):
    wheel = wheel_with_metadata(tmp_path, "kept", "1.0", MARKDOWN, NORMAL)
    publish.publish(storage, wheel)
    publish.publish(storage, make_sdist(tmp_path, "kept", "1.0"))
    client = _reader(storage)
    assert "<em>normal</em>" in _main(client, "kept")  # the first view renders and stores
    for info in list(storage.list(keys.file_key("kept", ""))):
        storage.delete(info.key)  # files and .metadata: the next view must not need them
    main = _main(client, "kept")
    assert "<em>normal</em>" in main  # the wheel's description, rendered
    assert "Stored summary" in main  # the wheel's summary, not the sdist's


def test_a_newer_upload_of_the_version_replaces_the_summary(storage, tmp_path):
    publish.publish(storage, make_sdist(tmp_path, "newer", "1.0"))
    client = _reader(storage)
    assert "A test package" in _main(client, "newer")  # from the sdist's PKG-INFO
    publish.publish(storage, wheel_with_metadata(tmp_path, "newer", "1.0", MARKDOWN, NORMAL))
    main = _main(client, "newer")
    assert "Stored summary" in main  # the wheel's, now that the version has one
    assert "<em>normal</em>" in main
    other = {**MARKDOWN, "Summary": "Overwritten summary"}
    (tmp_path / "other").mkdir()
    again = wheel_with_metadata(tmp_path / "other", "newer", "1.0", other, "*changed*\n")
    assert publish.publish(storage, again, existing="overwrite").status == "replaced"
    main = _main(client, "newer")
    assert "Overwritten summary" in main  # the overwrite's bytes, rendered again
    assert "<em>changed</em>" in main


class _Recording(FolderStorage):
    """Folder storage that remembers every key read."""

    def __init__(self, root):
        super().__init__(root)
        self.reads: list[str] = []

    def read(self, key):
        self.reads.append(key)
        return super().read(key)

    def read_if_changed(self, key, etag):
        self.reads.append(key)
        return super().read_if_changed(key, etag)

    def open(self, key):
        self.reads.append(key)
        return super().open(key)

    def read_range(self, key, start, length):
        self.reads.append(key)
        return super().read_range(key, start, length)

    def local_path(self, key):
        self.reads.append(key)
        return super().local_path(key)


def test_a_page_view_reads_the_page_and_the_summary_only(tmp_path):
    storage = _Recording(tmp_path / "repo")
    publish.publish(storage, wheel_with_metadata(tmp_path, "read", "1.0", MARKDOWN, NORMAL))
    publish.publish(storage, make_sdist(tmp_path, "read", "1.0"))
    client = _reader(storage)
    assert "<em>normal</em>" in _main(client, "read")  # the first view renders and stores
    storage.reads.clear()
    assert "<em>normal</em>" in _main(client, "read")
    assert keys.console_description("read", "1.0") in storage.reads
    assert not [k for k in storage.reads if k.startswith(keys.FILES)], storage.reads


def test_reindex_stores_the_summaries_so_no_view_renders(storage, tmp_path):
    publish.publish(storage, wheel_with_metadata(tmp_path, "redo", "1.0", MARKDOWN, NORMAL))
    publish.publish(storage, make_sdist(tmp_path, "sdonly", "2.0"))
    publish.reindex(storage)
    assert "<em>normal</em>" in descriptions.load(storage, "redo", "1.0")["description"]
    assert descriptions.load(storage, "sdonly", "2.0")["summary"] == "A test package"
    for info in list(storage.list(keys.FILES)):
        storage.delete(info.key)  # the views below must read the summaries reindex stored
    client = _reader(storage)
    assert "<em>normal</em>" in _main(client, "redo")
    assert "A test package" in _main(client, "sdonly")  # an sdist's PKG-INFO, read at reindex


def test_a_view_whose_metadata_cannot_be_read_says_so(storage, tmp_path):
    publish.publish(storage, wheel_with_metadata(tmp_path, "lost", "1.0", MARKDOWN, NORMAL))
    storage.delete(keys.metadata_key("lost", "lost-1.0-py3-none-any.whl"))
    assert "The description cannot be read now" in _main(_reader(storage), "lost")


class _ConsoleWritesFail(FolderStorage):
    def write(self, key, body, **kwargs):
        if key.startswith(keys.CONSOLE) and key != keys.LISTING:  # a description's
            raise OSError("disk full")
        return super().write(key, body, **kwargs)


def test_a_summary_that_cannot_be_stored_is_still_shown(tmp_path):
    storage = _ConsoleWritesFail(tmp_path / "repo")
    wheel = wheel_with_metadata(tmp_path, "still", "1.0", MARKDOWN, NORMAL)
    assert publish.publish(storage, wheel).status == "published"
    assert "<em>normal</em>" in _main(_reader(storage), "still")  # rendered, not stored


@pytest.mark.parametrize("body", ["", "   \n"])
def test_an_empty_description_shows_no_description_section(tmp_path, body):
    storage = FolderStorage(tmp_path / "repo")
    publish.publish(storage, wheel_with_metadata(tmp_path, "bare", "1.0", MARKDOWN, body))
    main = _main(_reader(storage), "bare")
    assert "Stored summary" in main
    assert "<h2>Description</h2>" not in main
