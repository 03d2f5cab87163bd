"""End to end: project status (PEP 792, Simple API 1.4) read by pypi-simple, pip and uv from
a real ``privpi serve``; a quarantined project installs nothing and its files answer 404."""

from __future__ import annotations

import time
import uuid

import pytest
from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, ProjectStatus, PyPISimple

from tests.support import serve
from tests.support.distfactory import make_wheel
from tests.support.serve import (
    cli_env,
    installed_version,
    isolated_pip_env,
    make_venv,
    pip_install,
    privpi,
    serving,
    uv_install,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
USER, PASSWORD = "reader1", "reader-password-1"
TRACKS = "https://pypi.org/simple/requests/"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-status")
    storage, name = str(tmp / "repo"), f"privpi-status-{uuid.uuid4().hex[:10]}"
    wheel = make_wheel(tmp / "dist", name, "1.0")
    env = cli_env(tmp)
    users, upload = [(USER, PASSWORD, None)], ("upload", str(wheel))
    with serving(storage, env, users, [upload], args=["--refresh", "0.2"]) as base:
        yield {"base": base, "storage": storage, "name": name, "wheel": wheel, "env": env}


def set_status(repo, *args: str) -> None:
    r = privpi(repo["storage"], "status", repo["name"], *args, env=repo["env"])
    assert r.returncode == 0, r.stderr + r.stdout
    time.sleep(1.0)  # the server's root cache (quarantined files) refreshes every 0.2 s


def index_url(repo) -> str:
    return serve.index_url(repo["base"], USER, PASSWORD)


def fetch(repo, path: str) -> int:
    return serve.fetch(repo["base"], path, (USER, PASSWORD))[0]


def pages(repo):
    """The project page as pypi-simple reads it, from the HTML and from the JSON."""
    with PyPISimple(repo["base"] + "/simple/", auth=(USER, PASSWORD)) as client:
        return [
            client.get_project_page(repo["name"], accept=accept)
            for accept in (ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY)
        ]


def installs(repo, tmp_path, installer) -> tuple[bool, str]:
    python = make_venv(tmp_path / f"venv-{uuid.uuid4().hex[:6]}")
    r = installer(python, index_url(repo), repo["name"], env=isolated_pip_env(tmp_path / "home"))
    return r.returncode == 0 and installed_version(python, repo["name"]) == "1.0", r.stderr


@pytest.mark.parametrize("installer", [pip_install, uv_install], ids=["pip", "uv"])
def test_status_is_read_and_quarantine_installs_nothing_until_active(repo, tmp_path, installer):
    r = privpi(repo["storage"], "tracks", repo["name"], TRACKS, env=repo["env"])
    assert r.returncode == 0, r.stderr
    set_status(repo, "deprecated", "--reason", "use requests")
    for page in pages(repo):
        assert page.repository_version == "1.4"
        assert (page.status, page.status_reason) == (ProjectStatus.DEPRECATED, "use requests")
        assert page.tracks == [TRACKS]
        assert [p.version for p in page.packages] == ["1.0"]
    assert installs(repo, tmp_path, installer)[0]  # deprecated: installs as before

    set_status(repo, "quarantined", "--reason", "malware")
    for page in pages(repo):
        assert (page.status, page.status_reason) == (ProjectStatus.QUARANTINED, "malware")
        assert page.packages == []
    file_path = f"/files/{repo['name']}/{repo['wheel'].name}"
    assert fetch(repo, file_path) == 404
    ok, stderr = installs(repo, tmp_path, installer)
    assert not ok
    assert repo["name"] in stderr

    set_status(repo, "active")
    for page in pages(repo):
        # no marker: active, which is what a project without one is (PEP 792)
        assert (page.status, page.status_reason) == (None, None)
        assert [p.version for p in page.packages] == ["1.0"]
    assert fetch(repo, file_path) == 200
    assert installs(repo, tmp_path, installer)[0]


def test_the_root_page_is_api_1_4(repo):
    with PyPISimple(repo["base"] + "/simple/", auth=(USER, PASSWORD)) as client:
        for accept in (ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY):
            page = client.get_index_page(accept=accept)
            assert page.repository_version == "1.4"
            assert repo["name"] in page.projects
