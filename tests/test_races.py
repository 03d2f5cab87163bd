"""The races of issue 18, each made deterministic: hold one request at the fault proxy, run
the other operation to its end, release, and check the invariant (tests/support/model.py):
the HTML is the rendering of the JSON, every listed file is stored with the listed hashes,
the root lists exactly the projects with files, nothing is stored unlisted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from privpi import audit, index, intake, keys, publish
from privpi.errors import PrivpiError, ValidationError
from tests.support.distfactory import make_wheel
from tests.support.faultproxy import EXHAUST
from tests.support.model import _dist, observe
from tests.support.model_backends import s3_storage as _storage

# make test-fast leaves these out: writes held at the fault proxy, faults that wait out
# boto3's retries.
pytestmark = pytest.mark.slow


def assert_invariant(storage, *paths):
    state, problems = observe(storage, [_dist(p) for p in paths])
    assert problems == []
    return state


class Held:
    """Run call in a thread while the first request matching (method, key) is held."""

    def __init__(self, faulty, method: str, key: str, call):
        self.proxy = faulty.proxy
        self.rule = faulty.proxy.add_rule(method, key, action="delay", delay=60, times=1)
        self.result: object = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.rule.fired:
            assert time.monotonic() < deadline, f"{method} {key} was never sent"
            time.sleep(0.01)

    def _run(self, call):
        try:
            self.result = call()
        except PrivpiError as e:
            self.result = e

    def release(self):
        self.proxy.release()
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()
        return self.result


@pytest.fixture
def wheels(tmp_path):
    return {
        "1.0": make_wheel(tmp_path / "a", "demo", "1.0"),
        "1.1": make_wheel(tmp_path / "a", "demo", "1.1"),
        "1.1b": make_wheel(tmp_path / "b", "demo", "1.1", padding=300),
        "1.1c": make_wheel(tmp_path / "c", "demo", "1.1", padding=600),
    }


def names(storage, project="demo") -> list[str]:
    return [f["filename"] for f in index.read_project(storage, project)["files"]]


@pytest.mark.parametrize(
    ("held", "what"),
    [
        ("/packages/files/demo/demo-1.1-py3-none-any.whl.metadata", "project"),
        ("/packages/simple/demo/index.json", "project"),
        ("/packages/files/demo/demo-1.1-py3-none-any.whl.metadata", "version"),
        ("/packages/simple/demo/index.json", "version"),
    ],
)
def test_delete_racing_a_publish_never_lists_removed_bytes(faulty, wheels, held, what):
    """The publish is in flight (its file stored, not yet listed) when the delete runs."""
    publish.publish(faulty.direct, wheels["1.0"])
    upload = Held(faulty, "PUT", held, lambda: publish.publish(faulty.storage, wheels["1.1"]))
    version = "1.1" if what == "version" else None
    removed = publish.delete(faulty.direct, "demo", version)
    assert "demo-1.1-py3-none-any.whl" in removed  # the upload in flight is deleted too
    result = upload.release()
    assert isinstance(result, publish.FileDeleted), result  # and its publish says so
    assert_invariant(faulty.direct, *wheels.values())
    assert "demo-1.1-py3-none-any.whl" not in names(faulty.direct)


def test_project_delete_racing_a_new_projects_root_update(faulty, wheels):
    """The publish of a new project is held at its root update while the project is deleted:
    the root must not list a project without files."""
    upload = Held(
        faulty,
        "PUT",
        "/packages/simple/index.json",
        lambda: publish.publish(faulty.storage, wheels["1.0"]),
    )
    assert publish.delete(faulty.direct, "demo") == ["demo-1.0-py3-none-any.whl"]
    assert upload.release().status == "published"  # it was, before the delete undid it
    assert_invariant(faulty.direct, *wheels.values())
    assert index.read_root(faulty.direct)["projects"] == []


def test_a_delete_whose_commit_answer_is_lost_names_and_removes_what_it_committed(faulty, wheels):
    """Seed 373019757 of the model test: a project delete lists the stored files (1.0), then
    its page read is held while 1.1 is published. Released, it commits the removal of both,
    but the answer to its JSON PUT is lost and the retry is refused (412: its own commit is
    there). Its next attempt finds nothing listed: it must still report 1.1, write its audit
    event and remove its bytes, not leave them stored, unlisted, recorded as deleted."""
    publish.publish(faulty.direct, wheels["1.0"])
    delete = Held(
        faulty,
        "GET",
        "/packages/simple/demo/index.json",
        lambda: publish.delete(faulty.storage, "demo"),
    )
    faulty.proxy.add_rule("PUT", "/packages/simple/demo/index.json$", action="drop_after")
    assert publish.publish(faulty.direct, wheels["1.1"]).status == "published"
    both = ["demo-1.0-py3-none-any.whl", "demo-1.1-py3-none-any.whl"]
    assert delete.release() == both
    assert [e.outcome for e in faulty.proxy.faults()] == ["delay", "drop_after"]
    assert_invariant(faulty.direct, *wheels.values())
    assert not faulty.direct.exists(keys.file_key("demo", both[1]))
    assert sorted(index.read_project(faulty.direct, "demo")["_deleted"]) == both
    events = audit.latest(faulty.direct, actions={"delete"})
    assert sorted(e["filename"] for e in events) == both


def privpi(faulty, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **faulty.env}
    cmd = [sys.executable, "-m", "privpi", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_interrupted_delete_is_finished_by_running_it_again(faulty, wheels):
    """The file's removal fails after the page commit: the same command finishes the job,
    with its audit event, and reindex does not bring the version back."""
    publish.publish(faulty.direct, wheels["1.0"])
    publish.publish(faulty.direct, wheels["1.1"])
    faulty.proxy.add_rule("DELETE", "/demo-1.1-py3-none-any.whl$", action="503", times=EXHAUST)
    first = privpi(faulty, "delete", "demo", "1.1", "--yes")
    assert first.returncode == 1, first.stdout
    again = privpi(faulty, "delete", "demo", "1.1", "--yes")
    assert (again.returncode, again.stdout) == (0, "Deleted 1 file(s) from demo.\n"), again.stderr
    events = audit.latest(faulty.direct, actions={"delete"})
    assert {e["filename"] for e in events} == {"demo-1.1-py3-none-any.whl"}
    publish.reindex(faulty.direct)
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl"]
    assert_invariant(faulty.direct, *wheels.values())
    third = privpi(faulty, "delete", "demo", "1.1", "--yes")
    assert third.returncode == 1
    assert "nothing in project demo matches version 1.1: deleted at" in third.stderr


def test_a_delete_failed_at_the_root_is_finished_by_a_run_that_finds_nothing(faulty, wheels):
    """The last file's delete commits the page, then every root write fails (its HTML may be
    written, its JSON not); another delete removes the bytes meanwhile. Run again, the delete
    finds nothing to delete, and says so, but first makes the root right."""
    publish.publish(faulty.direct, wheels["1.0"])
    faulty.proxy.add_rule("PUT", "/packages/simple/index.json$", action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.delete(faulty.storage, "demo", "1.0")
    faulty.proxy.clear()
    for key in (keys.metadata_key("demo", "demo-1.0-py3-none-any.whl"),
                keys.file_key("demo", "demo-1.0-py3-none-any.whl")):  # fmt: skip
        faulty.direct.delete(key)  # as the other delete's last step does
    with pytest.raises(ValidationError, match="nothing in project demo matches version 1.0"):
        publish.delete(faulty.storage, "demo", "1.0")
    assert index.read_root(faulty.direct)["projects"] == []
    assert_invariant(faulty.direct, *wheels.values())


def test_reindex_after_an_interrupted_delete_finishes_it(faulty, wheels):
    publish.publish(faulty.direct, wheels["1.0"])
    publish.publish(faulty.direct, wheels["1.1"])
    faulty.proxy.add_rule("DELETE", "/demo-1.1-py3-none-any.whl$", action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.delete(faulty.storage, "demo", "1.1")
    publish.reindex(faulty.direct)
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl"]  # not brought back
    assert_invariant(faulty.direct, *wheels.values())  # and its bytes are gone
    events = audit.latest(faulty.direct, actions={"delete"})
    assert {e["filename"] for e in events} == {"demo-1.1-py3-none-any.whl"}


@pytest.mark.parametrize("action", ["yank", "unyank"])
def test_yank_racing_a_delete_leaves_pages_that_agree(faulty, wheels, action):
    """The yank wrote its HTML and is held at its JSON commit while the version goes."""
    publish.publish(faulty.direct, wheels["1.0"])
    publish.publish(faulty.direct, wheels["1.1"])
    if action == "unyank":
        publish.yank(faulty.direct, "demo", "1.1")
    call = getattr(publish, action)
    held = Held(
        faulty,
        "PUT",
        "/packages/simple/demo/index.json",
        lambda: call(faulty.storage, "demo", "1.1"),
    )
    publish.delete(faulty.direct, "demo", "1.1")
    result = held.release()
    assert isinstance(result, ValidationError)
    assert "has no version 1.1" in result.message
    assert_invariant(faulty.direct, *wheels.values())


def test_yank_whose_json_write_runs_out_of_retries_leaves_pages_that_agree(faulty, wheels):
    publish.publish(faulty.direct, wheels["1.0"])
    faulty.proxy.add_rule("PUT", "/packages/simple/demo/index.json", action="503", times=EXHAUST)
    with pytest.raises(PrivpiError):
        publish.yank(faulty.storage, "demo", "1.0")
    assert_invariant(faulty.direct, *wheels.values())
    assert publish.yank(faulty.storage, "demo", "1.0") == ["demo-1.0-py3-none-any.whl"]
    assert_invariant(faulty.direct, *wheels.values())


@pytest.mark.parametrize(
    "held", ["/packages/simple/demo/index.json", "/packages/files/demo/demo-1.1-py3-none-any.whl$"]
)
def test_racing_overwrites_list_the_bytes_that_are_stored(faulty, wheels, held):
    publish.publish(faulty.direct, wheels["1.1"])
    first = Held(
        faulty,
        "PUT",
        held,
        lambda: publish.publish(faulty.storage, wheels["1.1b"], existing="overwrite"),
    )
    second = publish.publish(faulty.direct, wheels["1.1c"], existing="overwrite")
    assert second.status == "replaced"
    assert first.release().status == "replaced"
    state = assert_invariant(faulty.direct, *wheels.values())
    assert state.files[("demo", "demo-1.1-py3-none-any.whl")][0] == _dist(wheels["1.1b"]).sha256


def test_overwrite_failed_at_its_page_write_and_listed_by_reindex_stays_yanked(faulty, wheels):
    """Reindex lists the overwrite's stored bytes under the entry's flags, its yank too; the
    re-run finds its bytes listed and leaves the yank (found by the model test, seed
    585399442): someone may have yanked them on purpose since they were listed."""
    publish.publish(faulty.direct, wheels["1.1"])
    publish.yank(faulty.direct, "demo", "1.1", "broken")
    page = "/packages/simple/demo/index.json"
    overwrite = Held(
        faulty,
        "PUT",
        page,
        lambda: publish.publish(faulty.storage, wheels["1.1b"], existing="overwrite"),
    )
    publish.reindex(faulty.direct)
    faulty.proxy.add_rule("*", page, action="503", times=EXHAUST)
    assert isinstance(overwrite.release(), PrivpiError)
    faulty.proxy.clear()
    rerun = publish.publish(faulty.storage, wheels["1.1b"], existing="overwrite")
    assert rerun.status == "skipped"
    state = assert_invariant(faulty.direct, *wheels.values())
    entry = state.files[("demo", "demo-1.1-py3-none-any.whl")]
    assert entry == (_dist(wheels["1.1b"]).sha256, "broken")


def test_reindex_while_a_publish_commits_keeps_the_new_file(faulty, wheels):
    publish.publish(faulty.direct, wheels["1.0"])
    upload = Held(
        faulty,
        "PUT",
        "/packages/simple/demo/index.json",
        lambda: publish.publish(faulty.storage, wheels["1.1"]),
    )
    result = publish.reindex(faulty.direct)
    assert result.in_flight == ["demo/demo-1.1-py3-none-any.whl"]  # young: not listed by it
    assert upload.release().status == "published"
    assert_invariant(faulty.direct, *wheels.values())
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl", "demo-1.1-py3-none-any.whl"]


def test_publish_while_reindex_commits_is_kept(faulty, wheels, tmp_path, monkeypatch):
    """Reindex lists a file the page missed; a publish commits while its commit is held."""
    monkeypatch.setattr(index, "GRACE", 0)
    publish.publish(faulty.direct, wheels["1.0"])
    missed = make_wheel(tmp_path / "a", "demo", "0.9")
    faulty.direct.write(keys.file_key("demo", missed.name), missed.read_bytes())
    page = "/packages/simple/demo/index.json"
    rebuild = Held(faulty, "PUT", page, lambda: publish.reindex(faulty.storage))
    assert publish.publish(faulty.direct, wheels["1.1"]).status == "published"
    assert rebuild.release().problems == []
    assert_invariant(faulty.direct, missed, *wheels.values())
    assert names(faulty.direct) == [missed.name, *(w.name for w in wheels.values())][:3]


def test_an_html_write_delivered_late_never_overwrites_a_newer_page(faulty, wheels):
    """A yank's HTML PUT is held past its client's timeout: the client retries and the yank
    commits; an unyank commits after it; then the held PUT reaches S3. It must not win."""
    publish.publish(faulty.direct, wheels["1.0"])
    impatient = _storage(faulty.bucket, faulty.proxy.url)
    held = faulty.proxy.add_rule("PUT", "/packages/simple/demo/index.html", "delay", delay=60)
    assert publish.yank(impatient, "demo", "1.0") == ["demo-1.0-py3-none-any.whl"]
    assert held.fired == 1
    publish.unyank(faulty.direct, "demo", "1.0")
    faulty.proxy.release()
    faulty.proxy.wait_idle()
    state = assert_invariant(faulty.direct, *wheels.values())
    assert state.files[("demo", "demo-1.0-py3-none-any.whl")][1] is False


# -- uploads delivered late ---------------------------------------------------------------

LATE = "demo-1.1-py3-none-any.whl"


def _late_upload_after_delete(faulty, wheels) -> None:
    """1.1's file PUT is held past its client's timeout (the retry stores it and the publish
    succeeds); 1.1 is deleted; then the held PUT reaches S3, where the name is free again:
    stored bytes of a deleted name that no page lists."""
    publish.publish(faulty.direct, wheels["1.0"])
    impatient = _storage(faulty.bucket, faulty.proxy.url)
    held = faulty.proxy.add_rule("PUT", f"/packages/files/demo/{LATE}$", "delay", delay=60)
    assert publish.publish(impatient, wheels["1.1"]).status == "published"
    assert held.fired == 1
    assert publish.delete(faulty.direct, "demo", "1.1") == [LATE]
    faulty.proxy.release()
    faulty.proxy.wait_idle()
    assert faulty.direct.exists(keys.file_key("demo", LATE))  # the late bytes landed
    _, problems = observe(faulty.direct, [_dist(p) for p in wheels.values()])
    assert problems == [f"{keys.file_key('demo', LATE)} is stored but no page lists it"]


def test_bytes_of_a_late_upload_after_a_delete_go_with_the_next_delete(faulty, wheels):
    _late_upload_after_delete(faulty, wheels)
    assert publish.delete(faulty.direct, "demo", "1.0") == ["demo-1.0-py3-none-any.whl"]
    assert not faulty.direct.exists(keys.file_key("demo", LATE))  # gone with it
    assert_invariant(faulty.direct, *wheels.values())
    assert LATE in index.read_project(faulty.direct, "demo")["_deleted"]  # still deleted
    events = audit.latest(faulty.direct, actions={"delete"})
    assert sorted(e["filename"] for e in events) == ["demo-1.0-py3-none-any.whl", LATE]


def test_bytes_of_a_late_upload_after_a_delete_go_with_reindex(faulty, wheels):
    _late_upload_after_delete(faulty, wheels)
    result = publish.reindex(faulty.direct)
    assert result.in_flight == []  # a deleted name is no upload in flight
    assert not faulty.direct.exists(keys.file_key("demo", LATE))
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl"]
    assert_invariant(faulty.direct, *wheels.values())


def test_bytes_of_a_failed_publish_delivered_late(faulty, wheels, monkeypatch):
    """Every attempt of 1.1's file PUT is held past the client's timeout: the publish fails;
    then the held PUTs reach S3. The bytes are an upload in flight for the grace period
    (reindex leaves them alone); run again, the publish finishes; past the grace period,
    reindex lists them."""
    publish.publish(faulty.direct, wheels["1.0"])
    impatient = _storage(faulty.bucket, faulty.proxy.url)
    faulty.proxy.add_rule("PUT", f"/packages/files/demo/{LATE}$", "delay", delay=60, times=99)
    with pytest.raises(PrivpiError):
        publish.publish(impatient, wheels["1.1"])
    faulty.proxy.clear()
    faulty.proxy.wait_idle()
    assert faulty.direct.exists(keys.file_key("demo", LATE))  # late, and listed by nobody
    assert publish.reindex(faulty.direct).in_flight == [f"demo/{LATE}"]
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl"]
    monkeypatch.setattr(index, "GRACE", 0)  # the grace period is over
    assert publish.reindex(faulty.direct).in_flight == []
    assert names(faulty.direct) == ["demo-1.0-py3-none-any.whl", LATE]
    assert_invariant(faulty.direct, *wheels.values())
    assert publish.publish(faulty.direct, wheels["1.1"], existing="skip").status == "skipped"


# -- messages -----------------------------------------------------------------------------


def test_an_upload_that_loses_the_race_is_not_told_to_overwrite(faulty, wheels):
    """twine and browser uploads (intake.publish_new) have no --overwrite to offer."""
    other = wheels["1.1b"]
    faulty.direct.write(keys.file_key("demo", "demo-1.1-py3-none-any.whl"), other.read_bytes())
    with pytest.raises(ValidationError) as e:
        intake.publish_new(faulty.direct, str(wheels["1.1"]), "demo-1.1-py3-none-any.whl", "pub")
    assert "--overwrite" not in e.value.message
    assert "cannot be reused for different bytes" in e.value.message


def test_a_root_failure_says_what_happened_and_how_to_finish(faulty, wheels):
    faulty.proxy.add_rule("PUT", "/packages/simple/index.json", action="503", times=EXHAUST)
    r = privpi(faulty, "upload", str(wheels["1.0"]))
    assert r.returncode == 1
    assert "is on demo's page, but adding demo to the root index failed" in r.stderr
    assert "upload it again to finish" in r.stderr
    assert "1 of 1 uploads failed" in r.stderr
    assert "is published" not in r.stderr
    r = privpi(faulty, "upload", "--skip-existing", str(wheels["1.0"]))
    assert r.returncode == 0, r.stderr
    assert_invariant(faulty.direct, *wheels.values())
