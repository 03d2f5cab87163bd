"""Loopback servers for tests and bench scripts: a free port, waiting until something
listens on it, and a python server script (``python SCRIPT PORT``) run on one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).parent  # the moto server scripts
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def fake_aws(scratch: Path, endpoint: str | None = None) -> dict[str, str]:
    """AWS settings that reach nothing of the developer's: fake credentials, no config
    files (scratch/none), moto's URL if given."""
    env = {
        **FAKE_AWS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(scratch / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "none"),
    }
    return {**env, "AWS_ENDPOINT_URL": endpoint} if endpoint else env


def fake_aws_env(scratch: Path, endpoint: str | None = None) -> None:
    """For a bench script: no AWS setup of the developer's, fake credentials, moto's URL."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        del os.environ[var]
    os.environ.update(fake_aws(scratch, endpoint))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# 60 s: on a loaded 2-core CI machine a server (privpi serve, moto) has taken over 30 s to start.
def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def start_script(
    script: Path, env: dict | None = None, cwd: Path | None = None
) -> tuple[str, subprocess.Popen]:
    """``python script PORT`` on a free loopback port, output discarded; (base URL, process)
    once it listens. A script that never listens is stopped before the error is raised."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # moto's imports alone took 50 s on a loaded 2-core machine (every backend, for the
        # CloudFormation server): a start that slow is not a failure of the code under test
        wait_for_port(port, proc, timeout=180)
    except BaseException:
        stop_script(proc)
        raise
    return f"http://127.0.0.1:{port}", proc


def stop_script(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@contextmanager
def moto(script: str = "moto_server.py", cwd: Path | None = None) -> Iterator[str]:
    """A moto server script of tests/support/ with fake credentials, for the block; its base URL."""
    url, proc = start_script(HERE / script, env={**os.environ, **FAKE_AWS}, cwd=cwd)
    try:
        yield url
    finally:
        stop_script(proc)
