"""Finalize of a 1 GiB browser upload in a bucket (moto S3 over HTTP): time and peak RSS of
the finalizing process, as the console does it on Lambda (privpi.stored: ranged reads, a
SHA-256 computed by S3, a server-side copy; no /tmp copy).

The finalize runs in a child process, held to the console's Lambda size when a cgroup can
be made (cgroup v1 or v2, as root): 512 MB of memory and 512/1769 of one CPU (Lambda gives
a full vCPU at 1,769 MB, https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
moto copies in its own Python process, so the time is moto's copy plus privpi's work; on S3
the copy runs inside S3.

    .venv/bin/python bench/finalize_stored.py [--size-mb 1024] [--no-cgroup]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support and bench.
sys.path.insert(0, str(ROOT))

from privpi import uploads  # noqa: E402
from privpi.storage import open_storage  # noqa: E402
from tests.support.distfactory import large_wheel  # noqa: E402
from tests.support.net import moto  # noqa: E402

LAMBDA_MEMORY_MB = 512  # zappa_settings.json memory_size
FULL_CPU_MB = 1769
CHILD = """
import json, resource, sys, time
import os
from privpi import uploads
from privpi.storage.s3 import S3Config, S3Storage
config = S3Config(sys.argv[1], endpoint_url=os.environ["AWS_ENDPOINT_URL"], read_timeout=1800)
storage = S3Storage(config)
calls = {}
def count(call):
    n, t = calls.get(call.operation, (0, 0.0))
    calls[call.operation] = (n + 1, t + call.seconds)
storage.client.listeners.append(count)
start = time.perf_counter()
result = uploads.finalize(storage, sys.argv[2], "bench")
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "status": result["status"], "calls": calls}))
"""


def make_cgroup() -> tuple[list[Path], str]:
    """Directories whose cgroup.procs take the child, and a description; ([], why) if none."""
    name = f"privpi-finalize-{os.getpid()}"
    quota = int(100_000 * LAMBDA_MEMORY_MB / FULL_CPU_MB)
    memory = LAMBDA_MEMORY_MB * 1024 * 1024
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    try:
        if v2.exists():
            group = Path("/sys/fs/cgroup") / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} 100000")
            (group / "memory.max").write_text(str(memory))
            return [group], f"cgroup v2, {LAMBDA_MEMORY_MB} MB, {quota / 1000:.1f} % CPU"
        cpu, mem = Path("/sys/fs/cgroup/cpu") / name, Path("/sys/fs/cgroup/memory") / name
        cpu.mkdir()
        mem.mkdir()
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text(str(quota))
        (mem / "memory.limit_in_bytes").write_text(str(memory))
        return [cpu, mem], f"cgroup v1, {LAMBDA_MEMORY_MB} MB, {quota / 1000:.1f} % of one CPU"
    except OSError as e:
        return [], f"no cgroup ({e.strerror}): unconstrained"


def run_child(bucket: str, ticket_id: str, groups: list[Path], env: dict) -> dict:
    def enter():
        for group in groups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    out = subprocess.run(
        [sys.executable, "-c", CHILD, bucket, ticket_id],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=enter if groups else None,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"finalize failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--no-cgroup", action="store_true")
    args = parser.parse_args()
    groups, where = ([], "unconstrained (--no-cgroup)") if args.no_cgroup else make_cgroup()
    try:
        with tempfile.TemporaryDirectory() as tmp, moto() as endpoint:
            env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
            os.environ.update(env)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            boto3.client("s3").create_bucket(Bucket=bucket)
            storage = open_storage(f"s3://{bucket}")
            wheel = large_wheel(Path(tmp), "bench-big", args.size_mb)
            limit = wheel.stat().st_size
            ticket = uploads.create(storage, "bench", wheel.name, max_size=limit)
            # the upload (the browser's, in the console) with patience for a busy moto
            patient = boto3.client(
                "s3", config=Config(read_timeout=900, retries={"max_attempts": 1})
            )
            multipart = TransferConfig(multipart_chunksize=64 * 1024 * 1024, max_concurrency=2)
            patient.upload_file(str(wheel), bucket, ticket.key, Config=multipart)
            figures = run_child(bucket, ticket.id, groups, env)
    finally:
        for group in groups:
            group.rmdir()
    print(f"finalize of a {args.size_mb} MiB wheel in a bucket (moto), {where}:")
    print(f"  status       {figures['status']}")
    print(f"  time         {figures['seconds']:.1f} s (Lambda timeout of the console: 30 s)")
    print(f"  peak RSS     {figures['peak_rss_mb']:.0f} MB (Lambda memory: {LAMBDA_MEMORY_MB} MB)")
    print(f"  CPU time     {figures['cpu_seconds']:.1f} s (the process, imports included)")
    print("  /tmp         not used (privpi.stored makes no local copy)")
    print("  S3 requests  (count, seconds waiting; CopyObject is moto copying in Python)")
    for name, (count, waited) in sorted(figures["calls"].items()):
        print(f"    {name:<16} {count:>3} {waited:8.1f} s")


if __name__ == "__main__":
    main()
