"""``privpi upload --url``: publishing from CI through a real ``privpi serve`` with a token,
on both backends, the client holding no storage (AWS) credentials at all.

The bytes go straight to storage (the signed PUT of privpi serve, a presigned POST to the
moto S3 server), then the console validates and publishes them: the same answers as every
other way in (identical file: skipped; same name, other bytes: refused), exit codes as for a
local upload, grants and a token's projects enforced with a 403 naming the project.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from privpi import index
from privpi.users import UserStore
from tests.support.distfactory import large_wheel, make_sdist, make_wheel
from tests.support.serve import start_server, stop

pytestmark = pytest.mark.e2e

# The client prints its own peak memory (VmHWM) on the way out: exact, unlike sampling.
CLIENT = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("client-peak-kb", line.split()[1], file=sys.stderr)
atexit.register(peak)
from privpi.cli import main
sys.argv[0] = "privpi"
main()
"""


@pytest.fixture
def console(storage):
    """(base URL, storage) of a privpi serve over fresh storage (folder and S3)."""
    base, proc = start_server(storage.url)
    yield base, storage
    print(stop(proc))  # the server's log, shown by pytest when the test failed


def client_env(token: str | None) -> dict[str, str]:
    """A CI job's environment: a token, no AWS (storage) credentials, no PRIVPI_STORAGE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVPI_"))}
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = os.devnull
    if token:
        env["PRIVPI_TOKEN"] = token
    return env


def upload(base: str, *files: Path, token: str | None, args=()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CLIENT, "upload", "--url", base, *args, *map(str, files)],
        env=client_env(token),
        capture_output=True,
        text=True,
        timeout=600,
    )


def token(storage, user: str, scope: str = "publish", projects=(), role: str = "publisher") -> str:
    store = UserStore(storage, actor="tests")
    if user not in {u.name for u in store.list()}:
        store.add(user, "a password for tests", role)
    return store.create_token(user, None, scope, list(projects))[0]


def test_publishes_skips_identical_refuses_other_bytes(console, tmp_path):
    base, storage = console
    ci = token(storage, "ci")
    wheel, sdist = make_wheel(tmp_path, "demo-pkg", "1.0"), make_sdist(tmp_path, "demo-pkg", "1.0")
    r = upload(base, wheel, sdist, token=ci)
    assert r.returncode == 0, r.stderr
    assert "Published demo_pkg-1.0-py3-none-any.whl (demo-pkg 1.0)." in r.stdout
    assert "Published demo_pkg-1.0.tar.gz (demo-pkg 1.0)." in r.stdout
    files = {f["filename"] for f in index.read_project(storage, "demo-pkg")["files"]}
    assert files == {wheel.name, sdist.name}
    assert not [i.key for i in storage.list("incoming/") if not i.key.endswith(".json")]

    again = upload(base, wheel, token=ci)
    assert again.returncode == 0, again.stderr
    assert "Skipped (already published) demo_pkg-1.0-py3-none-any.whl" in again.stdout

    other = make_wheel(tmp_path / "other", "demo-pkg", "1.0", padding=100)
    refused = upload(base, other, token=ci)
    assert refused.returncode == 1
    assert "File already exists: demo_pkg-1.0-py3-none-any.whl is published with other" in (
        refused.stderr
    )
    assert "1 of 1 uploads failed" in refused.stderr


def test_token_projects_grants_and_scopes_enforced(console, tmp_path):
    base, storage = console
    acme = make_wheel(tmp_path, "acme-lib", "1.0")
    secret = make_wheel(tmp_path, "secretpkg", "1.0")
    scoped = token(storage, "ci", projects=["acme-lib"])
    r = upload(base, acme, secret, token=scoped)
    assert r.returncode == 1
    assert "Published acme_lib-1.0-py3-none-any.whl" in r.stdout
    assert "may not publish to project 'secretpkg'" in r.stderr
    assert "limited to acme-lib" in r.stderr
    assert [p["name"] for p in index.read_root(storage)["projects"]] == ["acme-lib"]

    granted = token(storage, "team")
    UserStore(storage).grant("team", "acme-*")
    r = upload(base, secret, token=granted)
    assert r.returncode == 1
    assert "team may publish only projects matching acme-*" in r.stderr

    reader = token(storage, "reader", scope="read")
    r = upload(base, acme, token=reader)
    assert r.returncode == 1
    assert "read token" in r.stderr

    revoked = token(storage, "gone")
    label = UserStore(storage).tokens("gone")[0].label
    UserStore(storage).revoke_token("gone", label)
    r = upload(base, acme, token=revoked)
    assert r.returncode == 1
    assert "Invalid credentials" in r.stderr


def test_token_file_and_usage_errors(console, tmp_path):
    base, storage = console
    path = tmp_path / "token"
    path.write_text(token(storage, "ci") + "\n")
    wheel = make_wheel(tmp_path, "demo-pkg", "2.0")
    r = upload(base, wheel, token=None, args=["--token-file", str(path)])
    assert r.returncode == 0, r.stderr
    assert "Published demo_pkg-2.0-py3-none-any.whl" in r.stdout

    r = upload(base, wheel, token=None)
    assert r.returncode == 2
    assert "--url needs a token: set PRIVPI_TOKEN or pass --token-file" in r.stderr
    r = upload("http://console.example/", wheel, token="privpi_x")
    assert r.returncode == 1
    assert "is plain http" in r.stderr
    r = upload(base, wheel, token="privpi_x", args=["--overwrite"])
    assert r.returncode == 2


def test_the_api_refuses_web_pages_and_needs_no_csrf(console):
    """A page elsewhere cannot make a browser replay Basic credentials to the API (the
    Origin check of /legacy/); a client without a session needs no CSRF token."""
    base, storage = console
    ci = token(storage, "ci")
    body = json.dumps({"filename": "demo_pkg-1.0-py3-none-any.whl", "size": 10}).encode()

    def post(headers: dict[str, str]) -> tuple[int, str]:
        req = urllib.request.Request(f"{base}/api/v1/uploads", data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Basic " + _b64(f"__token__:{ci}"))
        for k, v in headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, text = post({"Origin": "https://evil.example"})
    assert status == 403
    assert "not from web pages" in text
    status, text = post({"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    status, text = post({})
    assert status == 201
    assert json.loads(text)["upload"]["url"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_200_mb_wheel_with_flat_memory(storage, tmp_path):
    """200 MB through privpi serve on both backends; the peak resident memory of the client
    and of the server stays far below the file's size (both stream in chunks)."""
    base, proc = start_server(storage.url)
    try:
        ci = token(storage, "ci")
        warm = upload(base, make_wheel(tmp_path, "warm-up", "1.0"), token=ci)
        assert warm.returncode == 0, warm.stderr
        server_before = vm_hwm_kb(proc.pid)
        wheel = large_wheel(tmp_path, "big-pkg", 200)
        r = upload(base, wheel, token=ci)
        server_after = vm_hwm_kb(proc.pid)
    finally:
        stop(proc)
    assert r.returncode == 0, r.stderr
    assert "Published big_pkg-1.0-py3-none-any.whl (big-pkg 1.0)." in r.stdout
    stored = {f["filename"]: f["size"] for f in index.read_project(storage, "big-pkg")["files"]}
    assert stored == {wheel.name: wheel.stat().st_size}
    client_peak = int(r.stderr.split("client-peak-kb")[1].split()[0])
    print(f"client peak {client_peak // 1024} MB; server peak {server_before // 1024} -> "
          f"{server_after // 1024} MB")  # fmt: skip
    assert client_peak < 100 * 1024  # KB: well under the 200 MB file
    assert server_after - server_before < 60 * 1024
