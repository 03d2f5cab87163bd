"""The project page's description and metadata are rendered once, at publish (and by
privpi reindex), and a page view only reads that stored summary (privpi.descriptions)."""

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


def test_the_page_view_needs_no_distribution_file(storage, tmp_path):
    wheel = wheel_with_metadata(tmp_path, "kept", "1.0", MARKDOWN, NORMAL)
    publish.publish(storage, wheel)
    publish.publish(storage, make_sdist(tmp_path, "kept", "1.0"))
    for info in list(storage.list(keys.file_key("kept", ""))):
        storage.delete(info.key)  # files and .metadata: the view must not need them
    main = _main(_reader(storage), "kept")
    assert "<em>normal</em>" in main  # the wheel's description, rendered
    assert "Stored summary" in main  # the sdist did not replace the wheel's summary


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
    storage.reads.clear()
    assert "<em>normal</em>" in _main(client, "read")
    assert keys.console_description("read", "1.0") in storage.reads
    assert not [k for k in storage.reads if k.startswith(keys.FILES)], storage.reads


def test_a_missing_summary_says_to_reindex_and_reindex_recreates_it(storage, tmp_path):
    publish.publish(storage, wheel_with_metadata(tmp_path, "redo", "1.0", MARKDOWN, NORMAL))
    publish.publish(storage, make_sdist(tmp_path, "sdonly", "2.0"))
    storage.delete(keys.console_description("redo", "1.0"))
    storage.delete(keys.console_description("sdonly", "2.0"))
    client = _reader(storage)
    main = _main(client, "redo")
    assert "not rendered yet: run privpi reindex" in main
    assert "<em>normal</em>" not in main
    publish.reindex(storage)
    main = _main(client, "redo")
    assert "<em>normal</em>" in main
    assert "not rendered yet" not in main
    assert "A test package" in _main(client, "sdonly")  # an sdist's PKG-INFO, read at reindex


class _ConsoleWritesFail(FolderStorage):
    def write(self, key, body, **kwargs):
        if key.startswith(keys.CONSOLE):
            raise OSError("disk full")
        return super().write(key, body, **kwargs)


def test_a_summary_that_cannot_be_stored_never_fails_the_publish(tmp_path):
    storage = _ConsoleWritesFail(tmp_path / "repo")
    wheel = wheel_with_metadata(tmp_path, "still", "1.0", MARKDOWN, NORMAL)
    assert publish.publish(storage, wheel).status == "published"
    assert "not rendered yet: run privpi reindex" in _main(_reader(storage), "still")


@pytest.mark.parametrize("body", ["", "   \n"])
def test_an_empty_description_shows_no_description_section(tmp_path, body):
    storage = FolderStorage(tmp_path / "repo")
    publish.publish(storage, wheel_with_metadata(tmp_path, "bare", "1.0", MARKDOWN, body))
    main = _main(_reader(storage), "bare")
    assert "Stored summary" in main
    assert "<h2>Description</h2>" not in main
