"""Run the real ``privpi serve`` and real pip/uv against it, isolated from this machine.

``start_server(storage_url)`` returns ``(base_url, proc)``; stop it with ``stop(proc)``.
The admin password is ``ADMIN_PASSWORD`` unless ``env`` sets PRIVPI_ADMIN_PASSWORD.
This machine's pip configuration adds local indexes: every pip/uv call here runs with
``--isolated``/``--no-config``, PIP_CONFIG_FILE=/dev/null and no PIP_*/UV_* variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.net import free_port, wait_for_port

ADMIN_PASSWORD = "admin-password-for-tests"
VENV_BIN = Path(sys.executable).parent


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
        wait_for_port(port, proc, timeout=60)  # a loaded 2-core CI machine starts it slowly
    except RuntimeError:
        raise RuntimeError(f"privpi serve did not start:\n{stop(proc)}") from None
    return f"http://127.0.0.1:{port}", proc


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
