"""Tokens, grants and non-ASCII passwords end to end: real pip, uv, twine and ``uv publish``
against a real ``privpi serve``, the tokens made by the real ``privpi tokens create``."""

from __future__ import annotations

import json

import pytest
import requests

from privpi.keys import USERS_KEY
from privpi.storage import FolderStorage
from tests.support.distfactory import make_wheel
from tests.support.serve import (
    cli_env,
    index_url,
    make_venv,
    pip_install,
    pip_installs_exactly,
    privpi,
    serving,
    twine_upload,
    unique,
    uv_install,
    uv_publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PUB, PUB_PW = "pub", "publisher-password-1"
ACME, ACME_PW = "acme", "acme-team-password"
RITA, RITA_PW = "rita", "reader-password-1"
ACCENT, ACCENT_PW = "zoé", "pässwörd-with-é-1"  # requests sends it in Latin-1
USERS = [
    (PUB, PUB_PW, "publisher"),
    (ACME, ACME_PW, "publisher"),
    (RITA, RITA_PW, "reader"),
    (ACCENT, ACCENT_PW, "publisher"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    url, env = str(tmp / "repo"), cli_env(tmp)
    grant = ("users", "grant", ACME, "acme-*")
    with serving(url, env, USERS, [grant], args=("--refresh", "0.2")) as base_url:
        yield base_url, url, tmp, env


def token(server, user: str, *args: str) -> str:
    _, url, _, env = server
    r = privpi(url, "tokens", "create", user, *args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[-1]


def pip_installs(server, user: str, secret: str, project: str, wheel) -> None:
    base_url, _, tmp, _ = server
    pip_installs_exactly(index_url(base_url, user, secret), tmp, project, "1.0", wheel)


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
    code, out = twine_upload(base_url, "__token__", secret, wheel)
    assert code == 0, out
    assert twine_upload(base_url, PUB, PUB_PW, make_wheel(tmp / other, other, "1.0"))[0] == 0
    code, out = twine_upload(base_url, "__token__", secret, make_wheel(tmp / other, other, "1.1"))
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
    code, out = twine_upload(base_url, PUB, PUB_PW, wheel)
    assert code == 0, out
    read = token(server, RITA, "--name", unique("laptop"))
    pip_installs(server, "__token__", read, project, wheel)
    python = make_venv(tmp / unique("venv"))
    r = uv_install(python, index_url(base_url, RITA, read), f"{project}==1.0")  # owner's name
    assert r.returncode == 0, r.stderr
    code, out = twine_upload(base_url, "__token__", read, make_wheel(tmp / "again", project, "1.1"))
    assert code == 1, out
    assert "403" in out
    assert "is a read token; uploading needs a publish token" in out


def test_uv_publish_with_a_token(server):
    base_url, _, tmp, _ = server
    project = unique("uvpub")
    wheel = make_wheel(tmp / project, project, "1.0")
    secret = token(server, PUB, "--scope", "publish")
    r = uv_publish(base_url, wheel, "__token__", secret)
    assert r.returncode == 0, r.stderr
    pip_installs(server, "__token__", secret, project, wheel)


def test_revoked_and_expired_tokens_are_refused(server):
    base_url, url, tmp, env = server
    project = unique("gone")
    wheel = make_wheel(tmp / project, project, "1.0")
    label = unique("revoked")
    revoked = token(server, PUB, "--name", label, "--scope", "publish")
    assert twine_upload(base_url, "__token__", revoked, wheel)[0] == 0
    assert privpi(url, "tokens", "revoke", PUB, label, env=env).returncode == 0
    code, out = twine_upload(base_url, "__token__", revoked, make_wheel(tmp / "b", project, "1.1"))
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
    code, out = twine_upload(base_url, "__token__", expired, make_wheel(tmp / "c", project, "1.2"))
    assert code == 1
    assert "401" in out
    assert "401" in pip_refused(server, "__token__", expired, project)


def test_grants_refuse_a_build_tagged_wheel_for_another_teams_project(server):
    base_url, _, tmp, _ = server
    secret_project = unique("secretpkg")
    released = make_wheel(tmp / secret_project, secret_project, "1.0")
    assert twine_upload(base_url, PUB, PUB_PW, released)[0] == 0
    module = secret_project.replace("-", "_")
    tagged = make_wheel(
        tmp / "evil", secret_project, "1.0", filename=f"{module}-1.0-1-py3-none-any.whl"
    )
    code, out = twine_upload(base_url, ACME, ACME_PW, tagged)
    assert code == 1, out
    assert "403" in out
    assert f"acme may not publish to project '{secret_project}'" in out
    acme_token = token(server, ACME, "--scope", "publish")
    code, out = twine_upload(base_url, "__token__", acme_token, tagged)
    assert code == 1, out
    assert "403" in out
    mine = unique("acme-tools")
    assert twine_upload(base_url, ACME, ACME_PW, make_wheel(tmp / mine, mine, "1.0"))[0] == 0
    pip_installs(server, PUB, PUB_PW, secret_project, released)  # still the released wheel


def test_a_password_with_e_acute_installs_with_pip_and_uploads_with_twine(server):
    base_url, _, tmp, _ = server
    project = unique("accent")
    wheel = make_wheel(tmp / project, project, "1.0")
    code, out = twine_upload(base_url, ACCENT, ACCENT_PW, wheel)
    assert code == 0, out
    pip_installs(server, ACCENT, ACCENT_PW, project, wheel)
