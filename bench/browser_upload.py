"""Time and server memory of the browser upload flow, for a 20 MB and a 200 MB wheel.

Runs the real ``privpi serve`` as a subprocess, signs in over HTTP and does what upload.js
does: ticket, upload (the console's signed PUT on folder storage, a presigned POST straight
to a moto S3 server), finalize. Meanwhile a thread samples the server's resident memory
from /proc every 10 ms. The wheels are padded with random bytes so they do not compress.

    .venv/bin/python bench/browser_upload.py [--sizes 20,200] [--backends folder,s3]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

from tests.support.console import TOKEN  # noqa: E402
from tests.support.distfactory import large_wheel  # noqa: E402
from tests.support.net import start_script, stop_script  # noqa: E402
from tests.support.serve import add_user, start_server, stop  # noqa: E402

MB = 1024 * 1024
USER, PASSWORD = "bench", "bench-password-1"


class RssSampler(threading.Thread):
    """Peak resident set size of a process, sampled from /proc every 10 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.01)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def sign_in(base_url: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    token = TOKEN.search(s.get(f"{base_url}/login").text).group(1)
    r = s.post(
        f"{base_url}/login", data={"username": USER, "password": PASSWORD, "csrf_token": token}
    )
    r.raise_for_status()
    token = re.search(r'data-csrf="([^"]+)"', s.get(f"{base_url}/upload").text).group(1)
    return s, token


def browser_upload(base_url: str, s: requests.Session, token: str, wheel: Path) -> dict:
    """ticket -> upload -> finalize, as upload.js does; returns timings and the result."""
    headers = {"X-CSRFToken": token}
    t0 = time.perf_counter()
    ticket = s.post(
        f"{base_url}/upload/ticket",
        json={"filename": wheel.name, "size": wheel.stat().st_size},
        headers=headers,
    ).json()
    target = ticket["upload"]
    with open(wheel, "rb") as f:
        if target["method"] == "PUT":
            r = s.put(base_url + target["url"], data=f)
        else:  # the bucket itself; requests builds this multipart body in the client's memory
            r = requests.post(target["url"], data=target["fields"], files={"file": f})
    r.raise_for_status()
    t1 = time.perf_counter()
    result = s.post(base_url + ticket["finalize"], json={}, headers=headers)
    t2 = time.perf_counter()
    if not result.ok:
        raise SystemExit(f"finalize of {wheel.name} failed: {result.text}")
    return {"upload": t1 - t0, "finalize": t2 - t1, "result": result.json()}


def run(backend: str, sizes: list[int], tmp: Path, env: dict) -> None:
    moto_proc = None
    if backend == "s3":
        endpoint, moto_proc = start_script(ROOT / "tests" / "support" / "moto_server.py")
        env = {**env, "AWS_ENDPOINT_URL": endpoint}
        bucket = f"bench-{uuid.uuid4().hex[:10]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        storage_url = f"s3://{bucket}"
    else:
        storage_url = str(tmp / "repo")
    add_user(storage_url, USER, PASSWORD, "publisher", env=env)
    base_url, proc = start_server(storage_url, env=env)
    try:
        s, token = sign_in(base_url)
        # warm up: imports and first-request work should not count as upload memory
        browser_upload(base_url, s, token, large_wheel(tmp, f"warm-{backend}", 1))
        for size in sizes:
            wheel = large_wheel(tmp, f"bench-{backend}-{size}", size)
            sampler = RssSampler(proc.pid)
            baseline = sampler.rss()
            sampler.start()
            timing = browser_upload(base_url, s, token, wheel)
            peak = sampler.stop()
            total = timing["upload"] + timing["finalize"]
            print(
                f"{backend:6} {size:4d} MB  total {total:6.2f} s "
                f"(upload {timing['upload']:6.2f} s, finalize {timing['finalize']:6.2f} s, "
                f"{size / total:5.1f} MB/s)  server RSS before {baseline / MB:5.1f} MB, "
                f"peak {peak / MB:5.1f} MB (+{(peak - baseline) / MB:4.1f} MB)  "
                f"-> {timing['result']['status']}",
                flush=True,
            )
            wheel.unlink()
    finally:
        stop(proc)
        if moto_proc:
            stop_script(moto_proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20,200", help="wheel sizes in MB")
    parser.add_argument("--backends", default="folder,s3")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVPI_"))}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    env.update(AWS_DEFAULT_REGION="us-east-1", PRIVPI_PBKDF2_ROUNDS="1000")
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"browser upload flow, privpi serve on 127.0.0.1, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="privpi-bench-") as tmp:
        for backend in args.backends.split(","):
            run(backend, sizes, Path(tmp), env)


if __name__ == "__main__":
    main()
