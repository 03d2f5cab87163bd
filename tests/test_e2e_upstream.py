"""One index URL: ``privpi serve --upstream`` in front of a real second index (pypiserver).

Upstream has ``pubonly`` 1.0 (public only), ``privlib`` 9.0 (a higher version of a name
privpi publishes at 1.0: the dependency-confusion attack) and ``acme-secret`` 5.0 (under a
pattern privpi claims but has not published). pip and uv, given privpi's URL alone, must
install pubonly 1.0 through the redirect, privlib 1.0 from privpi, and no acme-secret; the
upstream must never see privpi's credentials, nor a request for a private or claimed name.
Once with upstream's own pages (root-relative file URLs), once with absolute file URLs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.distfactory import make_wheel
from tests.support.net import start_script, stop_script
from tests.support.serve import (
    cli_env,
    index_url,
    installed_version,
    make_venv,
    pip_install,
    serving,
    uv_install,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
READER, READER_PW = "reader1", "reader-password-1"
UPSTREAM_SCRIPT = Path(__file__).parent / "support" / "upstream.py"
PAGES = {"relative": "/simple/", "absolute": "/abs/simple/"}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """pypiserver on a free loopback port: (base URL, its request log)."""
    tmp = tmp_path_factory.mktemp("upstream")
    for name, version in [("pubonly", "1.0"), ("privlib", "9.0"), ("acme-secret", "5.0")]:
        make_wheel(tmp / "packages", name, version, summary="from upstream")
    log = tmp / "requests.jsonl"
    env = {**os.environ, "UPSTREAM_PACKAGES": str(tmp / "packages"), "UPSTREAM_LOG": str(log)}
    url, proc = start_script(UPSTREAM_SCRIPT, env=env)
    yield url, log
    stop_script(proc)


@pytest.fixture(scope="module", params=sorted(PAGES))
def repo(request, upstream, tmp_path_factory):
    """privpi serve with privlib 1.0 published, acme-* claimed, and the upstream behind it."""
    tmp = tmp_path_factory.mktemp("repo")
    storage = str(tmp / "repo")
    upload = ("upload", str(make_wheel(tmp / "dist", "privlib", "1.0")))
    users, commands = [(READER, READER_PW, None)], [upload, ("claim", "acme-*")]
    args = ["--upstream", upstream[0] + PAGES[request.param]]
    with serving(storage, cli_env(tmp), users, commands, args) as base:
        yield index_url(base, READER, READER_PW)


def read_log(path: Path) -> list[dict]:
    """The requests the upstream recorded (tests/support/upstream.py), oldest first."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def install(client: str, python: Path, index: str, req: str) -> subprocess.CompletedProcess:
    return (pip_install if client == "pip" else uv_install)(python, index, req)


@pytest.mark.parametrize("client", ["pip", "uv"])
def test_one_index_url_installs_public_private_and_refuses_claimed(
    client, repo, upstream, tmp_path
):
    python = make_venv(tmp_path / "venv")
    log = upstream[1]
    seen = len(read_log(log))

    r = install(client, python, repo, "pubonly")  # (a) public only: through the redirect
    assert r.returncode == 0, r.stderr
    assert installed_version(python, "pubonly") == "1.0"
    fetched = [e["path"] for e in read_log(log)[seen:]]
    assert any(p.endswith("/simple/pubonly/") for p in fetched)
    assert any(p == "/packages/pubonly-1.0-py3-none-any.whl" for p in fetched)

    r = install(client, python, repo, "privlib")  # (b) upstream has 9.0: privpi's 1.0 wins
    assert r.returncode == 0, r.stderr
    assert installed_version(python, "privlib") == "1.0"

    r = install(client, python, repo, "acme-secret")  # (c) claimed: upstream's is never seen
    assert r.returncode != 0
    assert installed_version(python, "acme-secret") is None

    requests = read_log(log)[seen:]
    assert requests, "the upstream saw nothing: the test proves nothing"
    assert all("authorization" not in e for e in requests), requests
    assert not [e for e in requests if "privlib" in e["path"] or "acme" in e["path"]]
