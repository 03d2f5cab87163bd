"""The publishing commands as a user runs them: output, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from privpi import index, keys
from privpi.cli import main
from privpi.units import human_size
from tests.support.distfactory import make_sdist, make_wheel


@pytest.fixture
def run(storage_url):
    def invoke(*args, input=None):
        return CliRunner().invoke(main, ["--storage", storage_url, *args], input=input)

    return invoke


def test_upload_reports_each_file_and_refuses_bad_ones(run, storage, tmp_path):
    good = make_wheel(tmp_path, "demo", "1.0")
    sdist = make_sdist(tmp_path, "demo", "1.0", fmt="zip")
    bad = make_wheel(tmp_path / "bad", "demo", "2.0", metadata_version="3.0")
    r = run("upload", str(good), str(bad), str(sdist))
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert "Published demo-1.0-py3-none-any.whl (demo 1.0)." in lines
    assert "Published demo-1.0.zip (demo 1.0)." in lines
    assert "Error: demo-2.0-py3-none-any.whl names version 2.0 but its metadata says 3.0" in lines
    assert lines[-1] == "Error: 1 of 3 uploads failed"
    assert "Traceback" not in r.output
    assert [f["filename"] for f in index.read_project(storage, "demo")["files"]] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.zip",
    ]
    assert not storage.exists(keys.file_key("demo", "demo-2.0-py3-none-any.whl"))


def test_upload_existing_needs_a_flag(run, storage, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0")
    assert run("upload", str(wheel)).exit_code == 0
    r = run("upload", str(wheel))
    assert r.exit_code == 1
    assert "already exists in demo (use --skip-existing" in r.output
    r = run("upload", "--skip-existing", str(wheel))
    assert (r.exit_code, r.output.splitlines()[-1]) == (
        0,
        "Skipped (already published) demo-1.0-py3-none-any.whl (demo 1.0).",
    )
    changed = make_wheel(tmp_path / "b", "demo", "1.0", summary="changed")
    r = run("upload", "--skip-existing", str(changed))
    assert r.exit_code == 1
    assert "always means the same bytes (publish a new version) (use --overwrite" in r.output
    r = run("upload", "--overwrite", str(changed))
    assert (r.exit_code, r.output.splitlines()[-1]) == (
        0,
        "Replaced demo-1.0-py3-none-any.whl (demo 1.0).",
    )
    r = run("upload", "--overwrite", "--skip-existing", str(changed))
    assert r.exit_code == 2
    assert "exclude each other" in r.output


def test_upload_size_limit_option(run, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=20_000)
    r = run("upload", "--max-size", "1kB", str(wheel))
    assert r.exit_code == 1
    assert f"is {wheel.stat().st_size} bytes, over the 1000-byte size limit" in r.output
    assert run("upload", "--max-size", "lots", str(wheel)).exit_code == 2
    assert run("upload", "--max-size", "1MiB", str(wheel)).exit_code == 0


def test_yank_unyank_delete_projects(run, storage, tmp_path):
    run(
        "upload", str(make_wheel(tmp_path, "demo", "1.0")), str(make_sdist(tmp_path, "demo", "1.0"))
    )
    run("upload", str(make_wheel(tmp_path, "other", "2.0", padding=5000)))
    r = run("projects")
    assert r.exit_code == 0
    assert [line.split()[:2] for line in r.output.splitlines()] == [
        ["PROJECT", "FILES"],
        ["demo", "2"],
        ["other", "1"],
    ]
    r = run("yank", "demo", "1.0", "--reason", "broken")
    assert (r.exit_code, r.output) == (0, "Yanked 2 file(s) of demo 1.0.\n")
    assert index.read_project(storage, "demo")["files"][0]["yanked"] == "broken"
    assert run("unyank", "demo", "1.0").output == "Unyanked 2 file(s) of demo 1.0.\n"
    r = run("yank", "demo", "7.0")
    assert (r.exit_code, r.output) == (1, "Error: project demo has no version 7.0\n")

    r = run("delete", "demo", "1.0", input="n\n")
    assert r.exit_code == 1
    assert "Aborted" in r.output
    assert "demo-1.0.tar.gz" in r.output  # the list of what would go
    assert len(index.read_project(storage, "demo")["files"]) == 2
    r = run("delete", "demo", "--file", "demo-1.0.tar.gz", input="y\n")
    assert (r.exit_code, r.output.splitlines()[-1]) == (0, "Deleted 1 file(s) from demo.")
    r = run("delete", "demo", "--yes")
    assert (r.exit_code, r.output) == (0, "Deleted 1 file(s) from demo.\n")
    assert [p["name"] for p in index.read_root(storage)["projects"]] == ["other"]
    r = run("delete", "ghost", "--yes")
    assert (r.exit_code, r.output) == (1, "Error: there is no project named ghost\n")


def test_delete_removes_a_stored_file_whose_pages_are_gone(run, storage, tmp_path):
    """The CLI asks the core, not the pages: a file no page lists is still deleted."""
    wheel, sdist = make_wheel(tmp_path, "demo", "1.0"), make_sdist(tmp_path, "demo", "2.0")
    assert run("upload", str(wheel), str(sdist)).exit_code == 0
    for key in (keys.project_json("demo"), keys.project_html("demo")):
        storage.delete(key)
    r = run("delete", "demo", "2.0", input="n\n")
    assert r.exit_code == 1
    assert "  demo-2.0.tar.gz\n" in r.output
    assert "Aborted" in r.output
    assert storage.exists(keys.file_key("demo", "demo-2.0.tar.gz"))
    r = run("delete", "demo", "--yes")
    assert (r.exit_code, r.output) == (0, "Deleted 2 file(s) from demo.\n")
    assert not storage.exists(keys.file_key("demo", "demo-1.0-py3-none-any.whl"))
    assert not storage.exists(keys.metadata_key("demo", "demo-1.0-py3-none-any.whl"))
    assert not storage.exists(keys.file_key("demo", "demo-2.0.tar.gz"))
    r = run("delete", "demo", "--yes")
    assert r.exit_code == 1
    assert r.output.startswith("Error: nothing in project demo matches anything: deleted at ")
    r = run("delete", "ghost", "--yes")
    assert (r.exit_code, r.output) == (1, "Error: there is no project named ghost\n")


def test_projects_shows_sizes_in_binary_units(run, tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=5000)
    run("upload", str(wheel))
    r = run("projects")
    assert r.output.splitlines()[1].split()[2:4] == [
        human_size(wheel.stat().st_size).split()[0],
        "KiB",
    ]


def test_reindex_command_reports_and_repairs(run, storage, tmp_path):
    run("upload", str(make_wheel(tmp_path, "demo", "1.0")))
    storage.delete(keys.project_html("demo"))
    storage.write(keys.file_key("demo", "demo-9.0.tar.gz"), b"junk")
    r = run("reindex")
    assert r.exit_code == 1
    assert "Reindexed 1 project(s), 1 file(s)." in r.output
    assert "Skipped packages/files/demo/demo-9.0.tar.gz: demo-9.0.tar.gz is not a valid" in r.output
    assert storage.exists(keys.project_html("demo"))


@pytest.mark.slow  # a real privpi process
def test_upload_as_a_real_subprocess_shows_progress(tmp_path):
    wheel = make_wheel(tmp_path, "demo", "1.0", padding=3_000_000)
    repo = tmp_path / "repo"
    r = subprocess.run(
        [sys.executable, "-m", "privpi", "--storage", str(repo), "upload", str(wheel)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Published demo-1.0-py3-none-any.whl (demo 1.0).\n"
    assert "demo-1.0-py3-none-any.whl" in r.stderr  # the progress bar's label
    assert (repo / "packages/files/demo/demo-1.0-py3-none-any.whl").exists()
