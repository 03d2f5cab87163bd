"""Tokens, grants and non-ASCII passwords end to end: real pip, uv, twine and ``uv publish``
against a real ``privpi serve``, the tokens made by the real ``privpi tokens create``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from privpi.keys import USERS_KEY
from privpi.storage import FolderStorage
from tests.support.distfactory import make_wheel
from tests.support.serve import (
    VENV_BIN,
    add_user,
    installed_report,
    isolated_pip_env,
    make_venv,
    pip_install,
    privpi,
    sha256,
    start_server,
    stop,
    uv_install,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PUB, PUB_PW = "pub", "publisher-password-1"
ACME, ACME_PW = "acme", "acme-team-password"
RITA, RITA_PW = "rita", "reader-password-1"
ACCENT, ACCENT_PW = "zoé", "pässwörd-with-é-1"  # requests sends it in Latin-1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVPI_"))}
    env.update(PRIVPI_PBKDF2_ROUNDS="1000")
    url = str(tmp / "repo")
    for name, pw, role in (
        (PUB, PUB_PW, "publisher"),
        (ACME, ACME_PW, "publisher"),
        (RITA, RITA_PW, "reader"),
        (ACCENT, ACCENT_PW, "publisher"),
    ):
        add_user(url, name, pw, role, env=env)
    assert privpi(url, "users", "grant", ACME, "acme-*", env=env).returncode == 0
    base_url, proc = start_server(url, env=env, args=("--refresh", "0.2"))
    yield base_url, url, tmp, env
    print(stop(proc))


def token(server, user: str, *args: str) -> str:
    _, url, _, env = server
    r = privpi(url, "tokens", "create", user, *args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[-1]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def twine(base_url: str, wheel: Path, user: str, password: str) -> tuple[int, str]:
    cmd = [
        sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", f"{base_url}/legacy/", "-u", user, "-p", password, str(wheel),
    ]  # fmt: skip
    env = {k: v for k, v in isolated_pip_env().items() if not k.startswith("TWINE_")}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    return r.returncode, " ".join((r.stdout + r.stderr).split())


def index_url(base_url: str, user: str, secret: str) -> str:
    auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@"
    return base_url.replace("http://", "http://" + auth) + "/simple/"


def pip_installs(server, user: str, secret: str, project: str, wheel: Path):
    base_url, _, tmp, _ = server
    python = make_venv(tmp / unique("venv"))
    report = tmp / unique("report")
    r = pip_install(python, index_url(base_url, user, secret), f"{project}==1.0", report=report)
    assert r.returncode == 0, r.stderr
    assert installed_report(report) == [(project, "1.0", sha256(wheel))]


def pip_refused(server, user: str, secret: str, project: str) -> str:
    base_url, _, tmp, _ = server
    python = make_venv(tmp / unique("venv"))
    r = pip_install(python, index_url(base_url, user, secret), project)
    assert r.returncode != 0
    return r.stderr


def test_publish_token_uploads_its_project_and_is_refused_for_another(server):
    base_url, _, tmp, _ = server
    mine, other = unique("ci-mine"), unique("ci-other")
    secret = token(server, PUB, "--name", unique("ci"), "--scope", "publish", "--project", mine)
    wheel = make_wheel(tmp / mine, mine, "1.0")
    code, out = twine(base_url, wheel, "__token__", secret)
    assert code == 0, out
    assert twine(base_url, make_wheel(tmp / other, other, "1.0"), PUB, PUB_PW)[0] == 0
    code, out = twine(base_url, make_wheel(tmp / other, other, "1.1"), "__token__", secret)
    assert code == 1, out
    assert "403" in out
    assert f"may not publish to project '{other}': the token is limited to {mine}" in out
    # the same token reads its project, and gets 403 for any other, but sees the root list
    pip_installs(server, "__token__", secret, mine, wheel)
    assert "No matching distribution" in pip_refused(server, "__token__", secret, other)
    auth = ("__token__", secret)
    assert requests.get(f"{base_url}/simple/{other}/", auth=auth, timeout=30).status_code == 403
    root = requests.get(f"{base_url}/simple/", auth=auth, timeout=30)
    assert root.status_code == 200
    assert other in root.text


def test_read_token_installs_with_pip_and_uv_and_is_refused_on_upload(server):
    base_url, url, tmp, _ = server
    project = unique("readable")
    wheel = make_wheel(tmp / project, project, "1.0")
    code, out = twine(base_url, wheel, PUB, PUB_PW)
    assert code == 0, out
    read = token(server, RITA, "--name", unique("laptop"))
    pip_installs(server, "__token__", read, project, wheel)
    python = make_venv(tmp / unique("venv"))
    r = uv_install(python, index_url(base_url, RITA, read), f"{project}==1.0")  # owner's name
    assert r.returncode == 0, r.stderr
    code, out = twine(base_url, make_wheel(tmp / "again", project, "1.1"), "__token__", read)
    assert code == 1, out
    assert "403" in out
    assert "is a read token; uploading needs a publish token" in out


def test_uv_publish_with_a_token(server):
    base_url, _, tmp, _ = server
    project = unique("uvpub")
    wheel = make_wheel(tmp / project, project, "1.0")
    secret = token(server, PUB, "--scope", "publish")
    cmd = [
        str(VENV_BIN / "uv"), "publish", "--no-config", "--trusted-publishing", "never",
        "--publish-url", f"{base_url}/legacy/", "-u", "__token__", "-p", secret, str(wheel),
    ]  # fmt: skip
    r = subprocess.run(cmd, env=isolated_pip_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pip_installs(server, "__token__", secret, project, wheel)


def test_revoked_and_expired_tokens_are_refused(server):
    base_url, url, tmp, env = server
    project = unique("gone")
    wheel = make_wheel(tmp / project, project, "1.0")
    label = unique("revoked")
    revoked = token(server, PUB, "--name", label, "--scope", "publish")
    assert twine(base_url, wheel, "__token__", revoked)[0] == 0
    assert privpi(url, "tokens", "revoke", PUB, label, env=env).returncode == 0
    code, out = twine(base_url, make_wheel(tmp / "b", project, "1.1"), "__token__", revoked)
    assert code == 1
    assert "401" in out
    assert "401" in pip_refused(server, "__token__", revoked, project)

    label = unique("expired")
    expired = token(server, PUB, "--name", label, "--scope", "publish", "--expires", "1")
    pip_installs(server, "__token__", expired, project, wheel)
    storage = FolderStorage(url)
    doc = json.loads(storage.read(USERS_KEY).body)
    doc["users"][PUB]["tokens"][label]["expires"] = "2020-01-01T00:00:00Z"  # as if days passed
    storage.write(USERS_KEY, json.dumps(doc).encode())
    code, out = twine(base_url, make_wheel(tmp / "c", project, "1.2"), "__token__", expired)
    assert code == 1
    assert "401" in out
    assert "401" in pip_refused(server, "__token__", expired, project)


def test_grants_refuse_a_build_tagged_wheel_for_another_teams_project(server):
    base_url, _, tmp, _ = server
    secret_project = unique("secretpkg")
    released = make_wheel(tmp / secret_project, secret_project, "1.0")
    assert twine(base_url, released, PUB, PUB_PW)[0] == 0
    module = secret_project.replace("-", "_")
    tagged = make_wheel(
        tmp / "evil", secret_project, "1.0", filename=f"{module}-1.0-1-py3-none-any.whl"
    )
    code, out = twine(base_url, tagged, ACME, ACME_PW)
    assert code == 1, out
    assert "403" in out
    assert f"acme may not publish to project '{secret_project}'" in out
    acme_token = token(server, ACME, "--scope", "publish")
    code, out = twine(base_url, tagged, "__token__", acme_token)
    assert code == 1, out
    assert "403" in out
    mine = unique("acme-tools")
    assert twine(base_url, make_wheel(tmp / mine, mine, "1.0"), ACME, ACME_PW)[0] == 0
    pip_installs(server, PUB, PUB_PW, secret_project, released)  # still the released wheel


def test_a_password_with_e_acute_installs_with_pip_and_uploads_with_twine(server):
    base_url, _, tmp, _ = server
    project = unique("accent")
    wheel = make_wheel(tmp / project, project, "1.0")
    code, out = twine(base_url, wheel, ACCENT, ACCENT_PW)
    assert code == 0, out
    pip_installs(server, ACCENT, ACCENT_PW, project, wheel)
