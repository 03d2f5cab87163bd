"""End to end: publish with the CLI, ``privpi serve``, then real pip and uv install.

Once on a folder and once on a moto S3 server. The project name exists nowhere but this
test repository, and every assertion checks the version and hash privpi published, so a
pip that quietly found another index could not pass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest

from tests.support import serve
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.serve import (
    add_user,
    cli_env,
    installed_record,
    installed_report,
    isolated_pip_env,
    make_venv,
    pip_install,
    privpi,
    serving,
    sha256,
    uv_install,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
READER, READER_PW = "reader1", "reader-password-1"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
USERS = [("admin", "admin-password-1", "admin"), (READER, READER_PW, None)]


@pytest.fixture(scope="module", params=["folder", "s3"])
def repo(request, tmp_path_factory):
    """A published repository served by privpi serve: (base_url, storage_url, dists, env)."""
    tmp = tmp_path_factory.mktemp("e2e")
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"e2e-{uuid.uuid4().hex[:12]}"
        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="testing",
            aws_secret_access_key="testing", region_name="us-east-1",
        ).create_bucket(Bucket=bucket)  # fmt: skip
        storage_url, env = f"s3://{bucket}", cli_env(tmp, endpoint)
    else:
        storage_url, env = str(tmp / "repo"), cli_env(tmp)
    name = f"privpi-e2e-{uuid.uuid4().hex[:10]}"  # exists nowhere but here
    dists = {
        "1.0": make_wheel(tmp / "dist", name, "1.0", summary="first"),
        "2.0": make_wheel(tmp / "dist", name, "2.0", summary="second"),
        "sdist": make_sdist(tmp / "dist", name, "2.0"),
    }
    upload = ("upload", *map(str, dists.values()))
    with serving(storage_url, env, USERS, [upload], args=["--refresh", "0.5"]) as base_url:
        yield {"base": base_url, "storage": storage_url, "name": name, "dists": dists, "env": env}


def index_url(repo, user=READER, password=READER_PW) -> str:
    return serve.index_url(repo["base"], user, password)


def fetch(repo, path, user=READER, password=READER_PW, method="GET", **headers):
    auth = (user, password) if user else None
    return serve.fetch(repo["base"], path, auth, method, **headers)


def assert_installed_wheel(python: Path, repo, version: str) -> None:
    """The installed files are exactly those of the wheel privpi published."""
    module = repo["name"].replace("-", "_")
    record = installed_record(python, module, version).decode()
    with zipfile.ZipFile(repo["dists"][version]) as zf:
        published = zf.read(f"{module}-{version}.dist-info/RECORD").decode()
    for line in published.splitlines():
        if not line.endswith("RECORD,,"):
            assert line in record.splitlines()
    init = python.parent.parent.glob(f"lib/python*/site-packages/{module}/__init__.py")
    assert next(init).read_text() == f'__version__ = "{version}"\n'


def test_pip_install_with_credentials_in_url(repo, tmp_path):
    python = make_venv(tmp_path / "venv")
    report = tmp_path / "report.json"
    r = pip_install(python, index_url(repo), f"{repo['name']}==1.0", report=report)
    assert r.returncode == 0, r.stderr
    assert installed_report(report) == [(repo["name"], "1.0", sha256(repo["dists"]["1.0"]))]
    url = json.loads(report.read_text())["install"][0]["download_info"]["url"]
    assert url.startswith(repo["base"] + "/files/")
    assert_installed_wheel(python, repo, "1.0")


def test_pip_install_with_netrc(repo, tmp_path):
    python = make_venv(tmp_path / "venv")
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {READER}\npassword {READER_PW}\n")
    netrc.chmod(0o600)
    env = {**isolated_pip_env(tmp_path / "home"), "NETRC": str(netrc)}
    report = tmp_path / "report.json"
    r = pip_install(python, f"{repo['base']}/simple/", repo["name"], env=env, report=report)
    assert r.returncode == 0, r.stderr
    assert installed_report(report) == [(repo["name"], "2.0", sha256(repo["dists"]["2.0"]))]
    assert_installed_wheel(python, repo, "2.0")


def test_uv_pip_install(repo, tmp_path):
    python = make_venv(tmp_path / "venv")
    r = uv_install(python, index_url(repo), f"{repo['name']}==1.0")
    assert r.returncode == 0, r.stderr
    assert f"+ {repo['name']}==1.0" in r.stderr
    assert_installed_wheel(python, repo, "1.0")


@pytest.mark.parametrize("password", [None, "wrong-password-1"])
def test_install_refused_without_valid_credentials(repo, tmp_path, password):
    python = make_venv(tmp_path / "venv")
    url = index_url(repo, password=password) if password else f"{repo['base']}/simple/"
    r = pip_install(python, url, repo["name"])
    assert r.returncode != 0
    assert "No matching distribution found" in r.stderr  # pip saw 401 and no index page
    user, pw = (READER, password) if password else (None, None)
    assert fetch(repo, f"/simple/{repo['name']}/", user, pw)[0] == 401
    assert not list(python.parent.parent.glob("lib/python*/site-packages/privpi_e2e_*"))
    r = uv_install(python, url, repo["name"])
    assert r.returncode != 0
    assert not list(python.parent.parent.glob("lib/python*/site-packages/privpi_e2e_*"))


def test_json_api_by_accept(repo):
    status, headers, body = fetch(repo, f"/simple/{repo['name']}/", Accept=JSON_TYPE)
    assert status == 200
    assert headers["Content-Type"] == JSON_TYPE
    assert headers["Vary"] == "Accept"
    page = json.loads(body)
    files = {f["filename"]: f["hashes"]["sha256"] for f in page["files"]}
    assert files == {p.name: sha256(p) for p in repo["dists"].values()}
    status, headers, body = fetch(repo, f"/simple/{repo['name']}/", Accept="text/html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert repo["dists"]["1.0"].name.encode() in body
    status, headers, body = fetch(repo, "/simple/", Accept=JSON_TYPE)
    assert repo["name"] in [p["name"] for p in json.loads(body)["projects"]]


def test_pep_658_metadata_served(repo):
    wheel = repo["dists"]["2.0"]
    module = repo["name"].replace("-", "_")
    status, headers, body = fetch(repo, f"/files/{repo['name']}/{wheel.name}.metadata")
    assert status == 200
    with zipfile.ZipFile(wheel) as zf:
        assert body == zf.read(f"{module}-2.0.dist-info/METADATA")
    page = json.loads(fetch(repo, f"/simple/{repo['name']}/", Accept=JSON_TYPE)[2])
    entry = next(f for f in page["files"] if f["filename"] == wheel.name)
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(body).hexdigest()}


def test_file_headers_conditional_get_and_head(repo):
    wheel = repo["dists"]["1.0"]
    path = f"/files/{repo['name']}/{wheel.name}"
    status, headers, body = fetch(repo, path)
    assert status == 200
    assert body == wheel.read_bytes()
    assert headers["Content-Length"] == str(wheel.stat().st_size)
    assert headers["Content-Type"] == "application/zip"
    assert headers["ETag"]
    assert headers["Last-Modified"].endswith("GMT")
    status, h304, body = fetch(repo, path, **{"If-None-Match": headers["ETag"]})
    assert (status, body, h304["ETag"]) == (304, b"", headers["ETag"])
    status, hhead, body = fetch(repo, path, method="HEAD")
    assert (status, body) == (200, b"")
    assert hhead["Content-Length"] == headers["Content-Length"]


def test_non_normalized_name_redirects(repo):
    upper = repo["name"].upper().replace("-", "_")
    req = urllib.request.Request(f"{repo['base']}/simple/{upper}/")
    token = base64.b64encode(f"{READER}:{READER_PW}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(req, timeout=30)
    assert e.value.code == 301
    assert e.value.headers["Location"] == f"/simple/{repo['name']}/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_cli_user_changes_picked_up(repo):
    """privpi serve re-reads the store (here every 0.5 s; a minute by default)."""
    pw = "temporary-password-1"
    add_user(repo["storage"], "temp", pw, env=repo["env"])
    assert _eventually(lambda: fetch(repo, "/simple/", "temp", pw)[0] == 200)
    r = privpi(repo["storage"], "users", "disable", "temp", env=repo["env"])
    assert r.returncode == 0, r.stderr
    assert _eventually(lambda: fetch(repo, "/simple/", "temp", pw)[0] == 401)


def _eventually(check, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
