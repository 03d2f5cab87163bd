"""Races found by the model test on a folder (tests/support/faultstore.py: faults at the
Storage calls), each made deterministic: hold one call, run the other operation to its
end, release, and check the invariant (tests/support/model.py)."""

from __future__ import annotations

import threading

import pytest

from privpi import index, keys, listing, pages, publish
from privpi.errors import NotFound, PrivpiError, ValidationError
from privpi.storage import FolderStorage
from privpi.storage import folder as folder_storage
from tests.support.distfactory import make_wheel
from tests.support.faultstore import Faults, FaultyStorage
from tests.support.listing import summary_problems
from tests.support.model import _dist, observe

PAGE = keys.project_json("demo")


@pytest.fixture
def folder(tmp_path):
    direct = FolderStorage(tmp_path / "repo")
    faults = Faults()
    return direct, faults, FaultyStorage(direct, faults)


@pytest.fixture
def wheels(tmp_path):
    return [make_wheel(tmp_path / "w", "demo", v) for v in ("1.0", "1.1")]


def assert_invariant(storage, paths) -> None:
    _, problems = observe(storage, [_dist(p) for p in paths])
    assert problems == []


def started(call) -> tuple[threading.Thread, list]:
    result: list = []

    def run() -> None:
        try:
            result.append(call())
        except PrivpiError as e:
            result.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("action", ["unyank", "yank"])
def test_a_refusal_whose_settle_fails_is_a_failure_and_its_rerun_mends_the_html(
    folder, wheels, action
):
    """Seed 404931586, step 677: an unyank wrote its HTML and is held at its JSON commit
    while the version is deleted. Released, its commit is refused (412), its retry finds
    the version gone, and the settle that must write the current JSON's HTML last fails at
    the JSON (both attempts). It used to answer "no version 1.1" (a refusal, which nobody
    runs again) and leave its settle's HTML, unlike the JSON."""
    direct, faults, faulty = folder
    for wheel in wheels:
        publish.publish(direct, wheel)
    if action == "unyank":
        publish.yank(direct, "demo", "1.1")
    held = faults.add_rule("PUT", PAGE, "hold", delay=60)
    thread, result = started(lambda: getattr(publish, action)(faulty, "demo", "1.1"))
    while not held.fired:
        thread.join(0.005)
    assert publish.delete(direct, "demo", "1.1") == ["demo-1.1-py3-none-any.whl"]
    faults.add_rule("PUT", PAGE, "error", times=2)  # the settle's JSON write, and its retry
    faults.release()
    thread.join(30)
    (error,) = result
    assert not isinstance(error, ValidationError), error  # a failure, not a refusal
    assert "has no version 1.1" in error.message
    assert "run the same command again" in error.message
    faults.clear()
    with pytest.raises(ValidationError, match="has no version 1.1"):  # run again: refused,
        getattr(publish, action)(faulty, "demo", "1.1")
    assert_invariant(direct, wheels)  # and the pages agree


def test_a_refused_publish_mends_an_html_left_unlike_its_json(folder, wheels, tmp_path):
    """A publish refused without a commit (other bytes listed under its name) still makes
    the HTML the JSON's rendering: it may be a failed run, run again."""
    direct, _, _ = folder
    publish.publish(direct, wheels[0])
    page = index.read_project(direct, "demo")
    stale = pages.project_html({**page, "files": []})
    direct.write(keys.project_html("demo"), stale)  # as a writer whose settle failed left it
    other = make_wheel(tmp_path / "b", "demo", "1.0", padding=100)
    with pytest.raises(publish.FileExists):
        publish.publish(direct, other)
    assert_invariant(direct, [*wheels, other])


def test_a_listing_or_head_racing_a_delete_skips_the_file(tmp_path, monkeypatch):
    """Found by the folder run (seed 255594687): reindex listed a project's files while a
    delete removed one between the listing's stat and its read for the ETag, and crashed
    with FileNotFoundError. A file removed meanwhile is not listed (as in S3), and a HEAD
    of it is NotFound. The delete is made to land at that very moment."""
    storage = FolderStorage(tmp_path)
    for name in ("a", "b"):
        storage.write(f"packages/files/demo/{name}.whl", name.encode())
    real = folder_storage._etag

    def removed_first(st, body, path):
        if path.name == "b.whl":
            path.unlink(missing_ok=True)
        return real(st, body, path)

    monkeypatch.setattr(folder_storage, "_etag", removed_first)
    assert [i.key for i in storage.list("packages/")] == ["packages/files/demo/a.whl"]
    storage.write("packages/files/demo/b.whl", b"b")
    with pytest.raises(NotFound):
        storage.head("packages/files/demo/b.whl")


def test_a_delete_failed_at_the_root_and_finished_by_a_refusal_updates_the_listing(folder, wheels):
    """Found by the folder run (seed 718775959): a project delete commits its page, then its
    root update fails (before its audit event, which is how readers of the listing summary
    learn of a change); a publish refused as deleted removes the leftover bytes meanwhile.
    Run again, the delete finds nothing to delete: it must still bring the summary in line
    with the page, as it brings the root."""
    direct, faults, faulty = folder
    publish.publish(direct, wheels[0])
    listing.load(direct)  # a reader folds the publish into the summary
    faults.add_rule("PUT", keys.ROOT_JSON, "error", times=2)
    with pytest.raises(PrivpiError, match="injected fault"):
        publish.delete(faulty, "demo")
    name = wheels[0].name
    for key in (keys.metadata_key("demo", name), keys.file_key("demo", name)):
        direct.delete(key)  # as a publish refused as deleted removes them
    with pytest.raises(ValidationError, match="nothing in project demo"):
        publish.delete(direct, "demo")
    assert summary_problems(direct) == []
    assert_invariant(direct, wheels)


def test_a_refused_publish_mends_a_root_html_left_unlike_its_json(folder, wheels, tmp_path):
    """Found by the folder run (seed 782760589): a publish failed at the root, whose HTML
    its settle could not cover either; run again, it was refused (its name deleted
    meanwhile) and left the root HTML unlike the root JSON. A refusal mends the root."""
    direct, _, _ = folder
    publish.publish(direct, wheels[0])
    stale = pages.root_html({**index.read_root(direct), "projects": []})
    direct.write(keys.ROOT_HTML, stale)  # as a writer whose settle failed left it
    other = make_wheel(tmp_path / "b", "demo", "1.0", padding=100)
    with pytest.raises(publish.FileExists):
        publish.publish(direct, other)
    assert_invariant(direct, [*wheels, other])
