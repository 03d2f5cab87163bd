"""The listing summary (privpi.listing): the next listing after any change is exact (readers
fold the audit log's news into the summary; writers never touch it), concurrent publishers
lose nothing, late events within the window are folded, reindex rebuilds it, a missing or
damaged one is rebuilt or reported, and the listings cost the same requests at any size."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from edge import paths
from privpi import audit, folding, index, keys, listing, publish, status
from privpi.cli import main
from privpi.units import human_size
from tests.support.console import seed_root_index, text
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.listing import stored, summary_problems
from tests.support.publish import RequestCounter, publish_at_once


@pytest.fixture
def run(storage_url):
    def invoke(*args):
        return CliRunner().invoke(main, ["--storage", storage_url, *args])

    return invoke


def entries(storage) -> dict[str, dict]:
    """The summary's entries as the next listing leaves them (it folds what changed)."""
    listing.load(storage, repair_limit=None)
    summary, _ = listing.read(storage)
    assert summary is not None
    return summary["projects"]


def test_every_change_keeps_the_summary_exact(storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=2000)
    publish.publish(storage, wheel, uploader="ann")
    publish.publish(storage, make_sdist(tmp_path, "demo", "1.0"))
    publish.publish(storage, make_wheel(tmp_path, "demo", "2.0"))
    publish.publish(storage, make_wheel(tmp_path, "other", "0.1"))
    demo = entries(storage)["demo"]
    assert (demo["files"], demo["latest"], demo["status"], demo["listed"]) == (
        3,
        "2.0",
        "active",
        True,
    )
    assert demo["bytes"] == sum(f["size"] for f in index.read_project(storage, "demo")["files"])
    assert summary_problems(storage) == []
    steps = [
        lambda: publish.yank(storage, "demo", "2.0", reason="broken"),
        lambda: publish.publish(
            storage, make_wheel(tmp_path / "b", "demo", "1.0", padding=9), existing="overwrite"
        ),  # fmt: skip
        lambda: status.set_status(storage, "other", "quarantined", "held"),
        lambda: status.set_status(storage, "other", "archived"),
        lambda: publish.unyank(storage, "demo", "2.0"),
        lambda: publish.delete(storage, "demo", filename="demo-1.0.tar.gz"),
        lambda: publish.delete(storage, "demo", "2.0"),
        lambda: publish.delete(storage, "other"),
    ]
    for step in steps:
        step()
        assert summary_problems(storage) == []
    after = entries(storage)
    assert (after["demo"]["files"], after["demo"]["latest"]) == (1, "1.0")
    assert (after["other"]["files"], after["other"]["listed"]) == (0, False)


def test_latest_skips_yanked_versions_and_status_is_kept(storage, tmp_path):
    for version in ("1.0", "1.10", "1.9"):
        publish.publish(storage, make_wheel(tmp_path, "demo", version))
    assert entries(storage)["demo"]["latest"] == "1.10"  # PEP 440 order, not text order
    publish.yank(storage, "demo", "1.10")
    assert entries(storage)["demo"]["latest"] == "1.9"
    status.set_status(storage, "demo", "quarantined", "looking")
    held = entries(storage)["demo"]
    assert (held["files"], held["status"], held["listed"]) == (3, "quarantined", True)


def test_an_entry_only_gives_way_to_a_newer_page(storage, tmp_path):
    """Updates applied late or twice end with the newest page's figures."""
    publish.publish(storage, make_wheel(tmp_path, "demo", "1.0"))
    old = index.read_project(storage, "demo")
    publish.publish(storage, make_wheel(tmp_path, "demo", "2.0"))
    new = index.read_project(storage, "demo")
    listing.record(storage, {"demo": old})  # a late update from the older page
    assert entries(storage)["demo"] == listing.entry_of(new)
    listing.record(storage, {"demo": new})  # twice
    assert entries(storage)["demo"] == listing.entry_of(new)


@pytest.mark.slow  # 25 racing publishers retry their commits with backoff
def test_twenty_publishers_of_twenty_projects_leave_the_summary_exact(s3_storage, tmp_path):
    count = 20
    wheels = [make_wheel(tmp_path, f"proj-{i:02d}", "1.0", padding=i * 100) for i in range(count)]
    wheels += [make_wheel(tmp_path, f"proj-{i:02d}", "2.0") for i in range(0, count, 4)]
    assert publish_at_once(s3_storage, wheels) == []
    assert summary_problems(s3_storage) == []
    published = stored(s3_storage)
    assert sorted(published) == [f"proj-{i:02d}" for i in range(count)]
    assert sum(e["files"] for e in published.values()) == len(wheels)
    publish.reindex(s3_storage)  # rebuilt from the pages: the same figures
    assert stored(s3_storage) == published


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong entries"])
def test_reindex_rebuilds_the_summary(storage, tmp_path, damage):
    publish.publish(storage, make_wheel(tmp_path, "demo", "1.0"))
    publish.publish(storage, make_wheel(tmp_path, "other", "1.0"))
    if damage == "missing":
        storage.delete(keys.LISTING)
    elif damage == "garbage":
        storage.write(keys.LISTING, b"\x1f\x8bnot gzip at all")
    else:  # an entry with the page's serial but wrong figures, one from a lost page's
        # higher serial, one for a project without any page
        summary = {**listing.empty(), "folded": folding.start(storage).dump()}  # nothing to fold
        summary["projects"] = {
            "demo": {**entries(storage)["demo"], "files": 9},
            "other": {**entries(storage)["other"], "serial": 99},
            "ghost": {**entries(storage)["other"], "serial": 1},
        }
        storage.write(keys.LISTING, listing.dumps(summary))
    if damage == "wrong entries":
        assert summary_problems(storage) != []
    else:  # nothing to read: a listing folds the audit log into a new one
        assert stored(storage) is None
    publish.reindex(storage)
    assert summary_problems(storage) == []
    assert sorted(entries(storage)) == ["demo", "other"]


def test_projects_command_shows_the_summary(run, storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=5000)
    sdist = make_sdist(tmp_path, "demo", "1.1")
    run("upload", str(wheel), str(sdist))
    run("upload", str(make_wheel(tmp_path, "other", "2.0")))
    run("yank", "demo", "1.1")
    status.set_status(storage, "other", "deprecated", "use demo")
    r = run("projects")
    assert (r.exit_code, r.stderr) == (0, "")
    header, demo, other = r.output.splitlines()
    assert header.split() == ["PROJECT", "FILES", "SIZE", "LATEST", "LAST", "UPLOAD", "STATUS"]
    size = human_size(wheel.stat().st_size + sdist.stat().st_size)
    uploaded = index.read_project(storage, "demo")["files"][-1]["upload-time"]
    assert demo.split() == ["demo", "2", *size.split(), "1.0", *uploaded[:16].split("T"), "active"]
    assert other.split()[:2] == ["other", "1"]
    assert other.split()[-1] == "deprecated"


@pytest.mark.parametrize("damage", ["missing", "garbage", "missing, audit log lost"])
def test_projects_command_rebuilds_a_missing_or_damaged_summary(run, storage, tmp_path, damage):
    run("upload", str(make_wheel(tmp_path, "demo", "1.0")), str(make_wheel(tmp_path, "b", "1")))
    expected = run("projects").stdout
    if damage.startswith("missing"):
        storage.delete(keys.LISTING)
    else:
        storage.write(keys.LISTING, b"{not json")
    if damage.endswith("lost"):  # nothing names the projects: the root's safety net
        for info in list(storage.list(keys.AUDIT)):
            storage.delete(info.key)
    r = run("projects")
    assert (r.exit_code, r.stdout) == (0, expected)
    if damage.endswith("lost"):
        assert r.stderr == (
            "The listing summary lacked 2 project(s): read from their pages and stored "
            "(privpi reindex rebuilds it whole).\n"
        )
    else:  # folded from the audit log again
        assert r.stderr == ""
    assert summary_problems(storage) == []
    assert run("projects").stderr == ""


def test_a_damaged_root_is_reported_not_a_traceback(run, storage, tmp_path):
    run("upload", str(make_wheel(tmp_path, "demo", "1.0")))
    storage.write(keys.ROOT_JSON, b"[not json")
    r = run("projects")
    assert r.exit_code == 1
    assert r.output == (
        f"Error: {keys.ROOT_JSON} is not valid JSON; run `privpi reindex` to rebuild it\n"
    )


@pytest.mark.slow  # the refused audit write waits out boto3's retries
def test_a_change_whose_audit_event_was_lost_still_reaches_the_listing(faulty, tmp_path):
    """A publish whose audit event storage refused: the change stands (a warning), and the
    project's entry is updated directly instead, so the next listing shows it."""
    publish.publish(faulty.storage, make_wheel(tmp_path, "demo", "0.9"))
    listing.load(faulty.direct)
    faulty.proxy.add_rule("PUT", "/config/audit/", times=1000)
    publish.publish(faulty.storage, make_wheel(tmp_path, "demo", "1.0"))
    faulty.proxy.clear()
    assert [e.get("version") for e in audit.latest(faulty.direct)] == ["0.9"]  # event lost
    assert entries(faulty.direct)["demo"]["files"] == 2
    assert summary_problems(faulty.direct) == []


def test_running_a_change_again_brings_its_entry_up_to_date(storage, tmp_path, monkeypatch):
    """A change whose page committed but whose run failed before its audit event: running
    it again finds nothing to change and applies the page to the summary itself."""
    for version in ("1.0", "2.0"):
        publish.publish(storage, make_wheel(tmp_path, "demo", version))
    listing.load(storage)
    with monkeypatch.context() as m:
        m.setattr(audit, "record", _fail)  # the run stops after its commit
        with pytest.raises(RuntimeError):
            publish.yank(storage, "demo", "2.0")
    assert listing.load(storage).rows[0].latest == "2.0"  # nothing told the readers
    publish.yank(storage, "demo", "2.0")  # run again: nothing to change
    assert listing.load(storage).rows[0].latest == "1.0"
    assert summary_problems(storage) == []


def _fail(*args, **kwargs):
    raise RuntimeError("stopped before the audit event")


def test_late_events_within_the_window_are_folded(storage, tmp_path, monkeypatch):
    """An event whose PUT lands after a reader folded newer ones is still folded when its
    key time is within the window before the newest folded event; older ones are not (the
    stated bound), and privpi reindex brings those right."""
    for name in ("demo", "late"):
        publish.publish(storage, make_wheel(tmp_path, name, "1.0"))
    listing.load(storage)
    folded = listing.position(listing.read(storage)[0])
    assert folded is not None
    newest = folded.through  # the newest event folded
    for name, age in (("demo", folding.WINDOW_MS - 60_000), ("late", folding.WINDOW_MS + 1)):
        with monkeypatch.context() as m:
            m.setattr(audit, "record", lambda *a, **k: None)  # its event is on its way
            publish.publish(storage, make_wheel(tmp_path, name, "2.0"))
        storage.write(audit.key_for(newest - age, "publish", name), b"{}")  # it lands late
    shown = {row.name: row.latest for row in listing.load(storage).rows}
    assert shown == {"demo": "2.0", "late": "1.0"}
    publish.reindex(storage)
    assert {row.name: row.latest for row in listing.load(storage).rows} == {
        "demo": "2.0",
        "late": "2.0",
    }
    assert summary_problems(storage) == []


def test_more_changes_than_a_look_folds_are_reported(run, storage, tmp_path, monkeypatch):
    monkeypatch.setattr(listing, "FOLD_LIMIT", 2)
    listing.load(storage)
    for name in ("a", "b", "c"):
        publish.publish(storage, make_wheel(tmp_path, name, "1.0"))
    shown = listing.load(storage)
    assert (shown.behind, shown.folded) == (True, 2)
    assert "run privpi reindex" in run("projects").stderr
    publish.reindex(storage)
    assert not listing.load(storage).behind
    assert summary_problems(storage) == []


def test_readers_repair_an_entry_behind_the_root(storage, tmp_path):
    """A new project whose summary update was lost: the root knows a newer page, so the
    next listing reads that page and writes the entry back."""
    publish.publish(storage, make_wheel(tmp_path, "demo", "1.0"))
    publish.publish(storage, make_wheel(tmp_path, "other", "1.0"))
    summary = {**listing.empty(), "folded": folding.start(storage).dump()}  # nothing to fold
    summary["projects"] = {"demo": entries(storage)["demo"]}
    storage.write(keys.LISTING, listing.dumps(summary))
    shown = listing.load(storage)
    assert ([r.name for r in shown.rows], shown.repaired, shown.missing) == (
        ["demo", "other"],
        1,
        0,
    )
    assert summary_problems(storage) == []


def test_listings_cost_the_same_requests_at_any_size(s3_storage, tmp_path):
    """Nothing changed since the last look: the root, the summary and one page of the
    audit log's keys, at 1 or 41 projects; after changes, one page read per project."""
    publish.publish(s3_storage, make_wheel(tmp_path, "demo", "1.0"))
    listing.load(s3_storage)
    counter = RequestCounter(s3_storage.client)
    listing.load(s3_storage)
    small = counter.take()
    for i in range(40):
        publish.publish(s3_storage, make_sdist(tmp_path, f"p{i}", "1.0"))
    counter.take()
    shown = listing.load(s3_storage)
    assert (len(shown.rows), shown.files, shown.folded) == (41, 41, 40)
    assert counter.take() == {"GetObject": 42, "ListObjectsV2": 1, "PutObject": 1}
    listing.load(s3_storage)
    assert counter.take() == small == {"GetObject": 2, "ListObjectsV2": 1}


def test_a_publish_never_touches_the_summary(s3_storage, tmp_path):
    publish.publish(s3_storage, make_wheel(tmp_path, "demo", "1.0"))
    before = s3_storage.head(keys.LISTING).etag if s3_storage.exists(keys.LISTING) else None
    publish.publish(s3_storage, make_wheel(tmp_path, "demo", "2.0"))
    publish.yank(s3_storage, "demo", "1.0")
    assert before is None
    assert not s3_storage.exists(keys.LISTING)
    assert summary_problems(s3_storage) == []


def test_dashboard_figures_come_from_the_summary(as_role, repo, tmp_path):
    wheels = [make_wheel(tmp_path, "alpha", "1.0", padding=3000), make_wheel(tmp_path, "b", "1")]
    for wheel in wheels:
        publish.publish(repo, wheel)
    publish.delete(repo, "b")
    page = text(as_role("reader").get("/"))
    assert '<span class="figure">1</span> projects' in page
    assert '<span class="figure">1</span> files' in page
    assert f'<span class="figure">{human_size(wheels[0].stat().st_size)}</span> stored' in page
    assert "listing summary" not in page


def test_console_lists_figures_and_says_what_it_lacks(as_role, repo, tmp_path):
    publish.publish(repo, make_wheel(tmp_path, "demo", "1.0"))
    c = as_role("reader")
    page = text(c.get("/projects"))
    assert '<a href="/projects/demo">demo</a>' in page
    assert "1.0 · 1 file · " in page
    seed_root_index(repo, ["demo", *(f"pkg-{i:03d}" for i in range(listing.REPAIR_LIMIT + 1))])
    page = text(c.get("/projects"))
    assert f"{listing.REPAIR_LIMIT + 1} projects have no figures in the listing summary" in page
    assert "privpi reindex" in text(c.get("/"))


@pytest.mark.parametrize(
    "uri",
    ["/console/listing.json.gz", "/files/../console/listing.json.gz",
     "/files/%2e%2e/%2e%2e/console/listing.json.gz", "/simple/..%2f..%2fconsole/"],
)  # fmt: skip
def test_no_url_reaches_the_summary(uri):
    """The read path serves keys under packages/ only; the summary lives under console/."""
    with pytest.raises(paths.Refused):
        paths.route(paths.normalize(uri))


def test_console_rebuilds_a_damaged_summary_of_a_few_projects(as_role, repo, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=3000)
    publish.publish(repo, wheel)
    repo.write(keys.LISTING, b"\x1f\x8b damaged")
    page = text(as_role("reader").get("/"))
    assert '<span class="figure">1</span> files' in page
    assert f'<span class="figure">{human_size(wheel.stat().st_size)}</span> stored' in page
    assert summary_problems(repo) == []  # written back by the view
