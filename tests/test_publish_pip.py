"""Real pip reads the pages privpi wrote, straight from the folder (a file:// index).

pip's own parser, its hash checks (#sha256 and the PEP 658 metadata hash), yanking and
Requires-Python all act on what we wrote; the installed version and hash are asserted.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from privpi import index, publish
from tests.support.distfactory import make_wheel
from tests.support.serve import isolated_pip_env

pytestmark = pytest.mark.e2e


def pip_install(repo, target, *requirements):
    report = target.parent / "report.json"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir"]
        + ["--disable-pip-version-check", "--no-deps", "--target", str(target)]
        + ["--index-url", (repo / "packages" / "simple").as_uri() + "/"]
        + ["--report", str(report), *requirements],
        env=isolated_pip_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    (item,) = json.loads(report.read_text())["install"]
    return item, r.stderr


def test_pip_installs_from_the_pages(folder_storage, tmp_path):
    builds = tmp_path / "builds"
    good = make_wheel(builds, "Pip-Demo", "1.0")
    publish.publish(folder_storage, good)
    publish.publish(folder_storage, make_wheel(builds, "Pip-Demo", "1.1"))
    publish.publish(folder_storage, make_wheel(builds, "Pip-Demo", "2.0", requires_python="<3"))
    publish.yank(folder_storage, "pip-demo", "1.1", reason="bad <build>")

    # 2.0 needs Python < 3 and 1.1 is yanked: pip must choose 1.0.
    item, _ = pip_install(folder_storage.root, tmp_path / "t1", "pip-demo")
    assert item["metadata"]["version"] == "1.0"
    assert item["download_info"]["url"].endswith(
        "/packages/files/pip-demo/pip_demo-1.0-py3-none-any.whl"
    )
    expected = "sha256=" + hashlib.sha256(good.read_bytes()).hexdigest()
    assert item["download_info"]["archive_info"]["hash"] == expected
    assert (tmp_path / "t1" / "pip_demo" / "__init__.py").read_text() == '__version__ = "1.0"\n'

    # Pinned, the yanked version installs, with pip's warning quoting our reason.
    item, stderr = pip_install(folder_storage.root, tmp_path / "t2", "pip-demo==1.1")
    assert item["metadata"]["version"] == "1.1"
    assert "bad <build>" in stderr


def test_pip_checks_the_pep_658_metadata_hash(folder_storage, tmp_path):
    """pip fetches <file>.metadata and checks it against data-core-metadata: a tampered
    metadata file is refused, which shows pip reads the attribute we wrote."""
    wheel = make_wheel(tmp_path / "builds", "meta-demo", "1.0")
    publish.publish(folder_storage, wheel)
    metadata = folder_storage.root / "packages/files/meta-demo" / f"{wheel.name}.metadata"
    metadata.write_bytes(metadata.read_bytes() + b"Requires-Dist: tampered\n")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--isolated", "--no-cache-dir", "--no-deps"]
        + ["--disable-pip-version-check"]
        + ["--index-url", (folder_storage.root / "packages/simple").as_uri() + "/"]
        + ["-d", str(tmp_path / "dl"), "meta-demo"],
        env=isolated_pip_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = index.read_project(folder_storage, "meta-demo")["files"][0]["core-metadata"]
    assert r.returncode == 1
    assert "DO NOT MATCH THE HASHES" in r.stderr
    assert f"Expected sha256 {expected['sha256']}" in r.stderr
