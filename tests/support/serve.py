"""Run the real ``privpi serve`` and real pip, uv and twine against it, isolated from this
machine.

``serving(storage_url, env, users=..., commands=...)`` adds the users, runs the privpi
commands and serves the repository for a ``with`` block (its base URL); ``start_server``
and ``stop`` do the same by hand. The admin password is ``ADMIN_PASSWORD`` unless ``env``
sets PRIVPI_ADMIN_PASSWORD. A module-scoped fixture passes ``cli_env(...)`` as ``env``: the
per-test environment isolation of tests/conftest.py does not reach it.
This machine's pip configuration adds local indexes: every pip/uv call here runs with
``--isolated``/``--no-config``, PIP_CONFIG_FILE=/dev/null and no PIP_*/UV_* variables.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from tests.support.net import fake_aws, free_port, wait_for_port

ADMIN_PASSWORD = "admin-password-for-tests"
VENV_BIN = Path(sys.executable).parent
TEST_ROUNDS = "1000"  # PBKDF2 rounds in tests: fast, still the real algorithm


def cli_env(scratch: Path, endpoint: str | None = None, **settings: str) -> dict:
    """os.environ for privpi subprocesses: no AWS or privpi setting of this machine's, fake
    AWS credentials (and moto's URL if given), TEST_ROUNDS, then the given PRIVPI_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVPI_"))}
    return {**env, **fake_aws(scratch, endpoint), "PRIVPI_PBKDF2_ROUNDS": TEST_ROUNDS, **settings}


def unique(prefix: str) -> str:
    """A project or label name that exists nowhere else (no other index can answer for it)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def isolated_pip_env(home: str | os.PathLike | None = None) -> dict:
    """os.environ without PIP_*/UV_*; no config file, no netrc, no keyring, own HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["NETRC"] = os.devnull  # a test that wants a netrc sets its own
    env["HOME"] = str(home or tempfile.mkdtemp(prefix="privpi-home-"))
    env["XDG_CONFIG_HOME"] = str(Path(env["HOME"]) / ".config")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


def start_server(
    storage_url: str, env: dict | None = None, args=()
) -> tuple[str, subprocess.Popen]:
    """``privpi serve`` as a subprocess on a free loopback port; output in a temp file."""
    port = free_port()
    full_env = {**os.environ, "PRIVPI_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})}
    with tempfile.NamedTemporaryFile(prefix="privpi-serve-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [
                str(VENV_BIN / "privpi"),
                "--storage",
                storage_url,
                "serve",
                "--port",
                str(port),
                *args,
            ],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc.log_path = log.name
    try:
        wait_for_port(port, proc)
    except RuntimeError:
        raise RuntimeError(f"privpi serve did not start:\n{stop(proc)}") from None
    return f"http://127.0.0.1:{port}", proc


@contextmanager
def serving(
    storage_url: str,
    env: dict,
    users: Iterable[tuple[str, str, str | None]] = (),
    commands: Iterable[tuple[str, ...]] = (),
    args: Iterable[str] = (),
) -> Iterator[str]:
    """``privpi serve`` over storage_url for the block, its base URL; first each user
    (name, password, role) is added and each privpi command run (the test fails if one
    fails). What the server printed is printed when it stops (pytest shows it on failure)."""
    for name, password, role in users:
        add_user(storage_url, name, password, role, env=env)
    for command in commands:
        r = privpi(storage_url, *command, env=env)
        assert r.returncode == 0, r.stderr + r.stdout
    base_url, proc = start_server(storage_url, env=env, args=tuple(args))
    try:
        yield base_url
    finally:
        print(stop(proc))


def stop(proc: subprocess.Popen) -> str:
    """Stop the server; return what it printed."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    output = Path(proc.log_path).read_text()
    os.unlink(proc.log_path)
    return output


def privpi(storage_url: str, *args: str, stdin=None, env=None) -> subprocess.CompletedProcess:
    """The privpi CLI as a real subprocess."""
    return subprocess.run(
        [str(VENV_BIN / "privpi"), "--storage", storage_url, *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_user(storage_url: str, name: str, password: str, role: str | None = None, env=None):
    """``privpi users add`` as a subprocess, password on stdin (role: the CLI's default if
    None); the caller's test fails with the CLI's message if it refuses."""
    role_args = ["--role", role] if role else []
    r = privpi(storage_url, "users", "add", name, *role_args, "--password-stdin",
               stdin=f"{password}\n", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr


def make_venv(path: Path) -> Path:
    """A fresh, empty virtual environment (uv makes it in milliseconds); its python."""
    subprocess.run(
        [str(VENV_BIN / "uv"), "venv", "--no-config", "-q", "--python", sys.executable, str(path)],
        env=isolated_pip_env(),
        check=True,
        timeout=120,
    )
    return path / "bin" / "python"


def pip_install(python: Path, index_url: str, *reqs: str, env=None, report: Path | None = None):
    """pip (this venv's) installing into python's environment from index_url alone."""
    cmd = [
        sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install",
        "--no-deps", "--no-cache-dir", "--no-input", "--keyring-provider", "disabled",
        "--index-url", index_url, *reqs,
    ]  # fmt: skip
    if report:
        cmd += ["--report", str(report)]
    return subprocess.run(
        cmd, env=env or isolated_pip_env(), capture_output=True, text=True, timeout=180
    )


def uv_install(python: Path, index_url: str, *reqs: str, env=None):
    cmd = [
        str(VENV_BIN / "uv"), "pip", "install", "--no-config", "--no-cache", "--no-deps",
        "--python", str(python), "--index-url", index_url, *reqs,
    ]  # fmt: skip
    return subprocess.run(
        cmd, env=env or isolated_pip_env(), capture_output=True, text=True, timeout=180
    )


def index_url(base_url: str, user: str, password: str) -> str:
    """The /simple/ URL with the credentials in it, as pip and uv take them."""
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return base_url.replace("http://", "http://" + auth, 1) + "/simple/"


def fetch(base_url: str, path: str, auth: tuple[str, str] | None, method="GET", **headers):
    """(status, headers, body) of one request, HTTP Basic credentials if auth is given."""
    req = urllib.request.Request(base_url + path, method=method, headers=headers)
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def twine_upload(base_url: str, user: str, password: str, *files: Path, extra=()):
    """twine upload to /legacy/: (exit code, its output on one line)."""
    cmd = [
        sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", f"{base_url}/legacy/", "-u", user, "-p", password, *extra,
        *map(str, files),
    ]  # fmt: skip
    r = subprocess.run(cmd, env=_publisher_env(), capture_output=True, text=True, timeout=120)
    return r.returncode, " ".join((r.stdout + r.stderr).split())


def uv_publish(base_url: str, wheel: Path, user: str, password: str):
    cmd = [
        str(VENV_BIN / "uv"), "publish", "--no-config", "--trusted-publishing", "never",
        "--publish-url", f"{base_url}/legacy/", "-u", user, "-p", password, str(wheel),
    ]  # fmt: skip
    return subprocess.run(cmd, env=_publisher_env(), capture_output=True, text=True, timeout=120)


def _publisher_env() -> dict:
    """isolated_pip_env without TWINE_* (twine would take credentials or a URL from them)."""
    return {k: v for k, v in isolated_pip_env().items() if not k.startswith("TWINE_")}


def pip_installs_exactly(index: str, scratch: Path, project: str, version: str, dist: Path):
    """pip, in a fresh venv under scratch, installs project==version from index alone, and
    the file it installed is dist, byte for byte."""
    python = make_venv(scratch / unique("venv"))
    report = scratch / unique("report")
    r = pip_install(python, index, f"{project}=={version}", report=report)
    assert r.returncode == 0, r.stderr
    assert installed_report(report) == [(project, version, sha256(dist))]


def installed_version(python: Path, name: str) -> str | None:
    """The version of name installed in python's environment, None if it is not."""
    code = (
        f"import importlib.metadata as m\ntry: print(m.version({name!r}))\nexcept Exception: pass"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() or None


def installed_report(report: Path) -> list[tuple[str, str, str]]:
    """(name, version, sha256 of the downloaded file) for each install in a pip report."""
    data = json.loads(report.read_text())
    return [
        (
            i["metadata"]["name"],
            i["metadata"]["version"],
            i["download_info"]["archive_info"]["hashes"]["sha256"],
        )
        for i in data["install"]
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def installed_record(python: Path, module: str, version: str) -> bytes:
    """The RECORD an installer left for module==version in the venv of python."""
    site = next((python.parent.parent / "lib").glob("python*/site-packages"))
    return (site / f"{module}-{version}.dist-info" / "RECORD").read_bytes()
