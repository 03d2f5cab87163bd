"""``privpi deploy`` from an installed wheel, far from the checkout: the templates and the
edge sources travel as package data (importlib.resources), nothing is found through the
source tree."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from privpi.aws.edgebuild import build_zip

REPO = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
    "privpi-data", "test-artifacts", "tests", "bench",
)  # fmt: skip


def sh(*args, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    assert res.returncode == 0, f"{args}: {res.stdout}{res.stderr}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv holding the wheel built from a copy of the sources; its bin/."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(REPO, tmp / "src", ignore=NOT_SOURCE)
    dist = tmp / "dist"
    sh(str(UV), "build", "--wheel", "--offline", "-q", "--out-dir", str(dist), str(tmp / "src"))
    (wheel,) = dist.glob("privpi-*.whl")
    sh(str(UV), "venv", "-q", "--python", sys.executable, str(tmp / "venv"))
    python = tmp / "venv" / "bin" / "python"
    sh(str(UV), "pip", "install", "-q", "--offline", "--python", str(python), str(wheel))
    return python.parent


@pytest.mark.slow
def test_edge_build_and_deploy_dry_run_from_the_installed_package(
    installed, moto_endpoint, monkeypatch, tmp_path
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # every AWS call of the dry run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "UV_", "VIRTUAL"))}
    probe = "import edge, privpi; print(privpi.__file__, edge.__file__)"
    where = sh(str(installed / "python"), "-c", probe, cwd=tmp_path, env=env)
    assert all(p.startswith(str(installed.parent)) for p in where.stdout.split()), where.stdout

    out = tmp_path / "edge.zip"
    args = ["edge", "build", "--bucket", "my-bucket", "--region", "eu-west-1", "-o", str(out)]
    sh(str(installed / "privpi"), *args, cwd=tmp_path, env=env)
    assert out.read_bytes() == build_zip("my-bucket", "eu-west-1")  # the same sources
    assert "edge/sigv4.py" in zipfile.ZipFile(io.BytesIO(out.read_bytes())).namelist()

    plan = sh(
        str(installed / "privpi"), "deploy", "--name", "wheel", "--region", "eu-west-1",
        "--dry-run", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "Plan for privpi repository 'wheel' (dry run: nothing is changed)" in plan.stdout
    assert f"in {installed.parent}" in plan.stdout  # the templates of the installed package
    assert "1. stack wheel-bucket (eu-west-1): create" in plan.stdout
