"""Concurrent publishers, privpi beside s3pypi: N ``upload`` processes of one project at once.

    .venv/bin/python bench/concurrent_publish.py [--publishers 20] [--profile]
        [--bytecode cached|none]

Needs s3pypi in the venv (``pip install --no-deps s3pypi mypy-boto3-dynamodb``: its other
requirements are privpi's). One moto server (S3 and DynamoDB) on a free loopback port; both
tools upload the very same N wheels (one project, N versions), each under its own prefix of
one bucket. s3pypi runs with its DynamoDB lock (``--locks-table BUCKET-locks``, named, so a
missing table fails instead of silently disabling the lock), as a CI matrix would use it;
``lock waits`` counts the processes that found the lock taken. For each tool: the wall time
of one upload alone (process start, imports, requests) and of N uploads started together,
the CPU seconds the N processes used in all (moto's own not counted), and how many of the N
wheels are both stored and listed on the project's page afterwards. Wall times depend on
the machine's load; run both tools in the same run.

``--bytecode cached`` (the default) is how an installed tool runs (pip compiles bytecode at
install, Python caches it on first use): every process gets a private, warmed
PYTHONPYCACHEPREFIX. ``--bytecode none`` keeps PYTHONDONTWRITEBYTECODE, as where nothing was
compiled (``uv pip install`` without ``--compile-bytecode``): each process compiles boto3,
botocore and its own modules from source again, which then dominates both tools' times.

``--profile`` then runs the N privpi publishers once more through bench/upload_probe.py and
prints where their time went (per process: interpreter start, imports, S3 client, S3
requests, conflicts, backoff sleeps, page commits). Prints figures, never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support

import boto3  # noqa: E402

from privpi import keys  # noqa: E402
from tests.support.distfactory import make_wheel  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402
from tests.support.publish import parse_links  # noqa: E402

BUCKET = "bench"
PROJECT = "concurrent"
BIN = Path(sys.executable).parent
PROBE = Path(__file__).with_name("upload_probe.py")


def commands(tool: str, wheel: Path, endpoint: str, prefix: str) -> list[str]:
    if tool == "privpi":
        return [str(BIN / "privpi"), "--storage", f"s3://{BUCKET}/{prefix}", "upload", str(wheel)]
    return [
        *(str(BIN / "s3pypi"), "upload", str(wheel), "--bucket", BUCKET, "--prefix", prefix),
        *("--s3-endpoint-url", endpoint, "--locks-table", f"{BUCKET}-locks"),
    ]


def run_all(argvs: list[list[str]]) -> tuple[float, float, int, list[str]]:
    """Seconds until every process has ended, their CPU seconds, how many failed, and their
    standard errors."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for a in argvs]
    failed, errors = 0, []
    for proc in procs:
        _, err = proc.communicate()
        errors.append(err.decode())
        if proc.returncode:
            failed += 1
            print(err.decode().strip().splitlines()[-2:], file=sys.stderr)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return took, cpu, failed, errors


def kept(s3: object, tool: str, prefix: str, wheels: list[Path]) -> int:
    """How many of wheels are stored and linked from the project's page."""
    key = keys.project_html(PROJECT) if tool == "privpi" else f"{PROJECT}/"
    body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{key}")["Body"].read()  # type: ignore[attr-defined]
    listed = {text.strip() for _, text in parse_links(body).links}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/")  # type: ignore[attr-defined]
    stored = {o["Key"].rsplit("/", 1)[-1] for page in pages for o in page.get("Contents", [])}
    return len({w.name for w in wheels} & listed & stored)


def profile(alone: Path, wheels: list[Path], endpoint: str, prefix: str) -> None:
    """The N privpi publishers again, each through upload_probe.py; where the time went."""
    run_all([commands("privpi", alone, endpoint, prefix)])  # the project exists, as above
    launched = time.time()
    argvs = [
        [sys.executable, str(PROBE), repr(launched), "--storage", f"s3://{BUCKET}/{prefix}"]
        + ["upload", str(w)]
        for w in wheels
    ]
    took, cpu, failed, errors = run_all(argvs)
    rows = [json.loads(e.strip().splitlines()[-1]) for e in errors]
    print(
        f"\nprivpi profile: {len(rows)} publishers at once, {took:.2f} s, {cpu:.2f} CPU s, "
        f"{failed} failed"
    )
    print(f"{'per process':<22}{'median':>9}{'max':>9}{'sum':>9}")
    requests = [sum(r["requests"].values()) for r in rows]
    phases = ["start", "imports", "client", "run", "request_s", "commit", "paused", "total"]
    for name in [*phases, "requests", "conflicts", "pauses"]:
        values = requests if name == "requests" else [r[name] for r in rows]
        med, top, total = statistics.median(values), max(values), sum(values)
        fmt = ".0f" if name in ("requests", "conflicts", "pauses") else ".2f"
        print(f"{name:<22}{med:>9{fmt}}{top:>9{fmt}}{total:>9{fmt}}")
    ops: dict[str, int] = {}
    for r in rows:
        for op, count in r["requests"].items():
            ops[op] = ops.get(op, 0) + count
    print("requests by operation (all processes):", ", ".join(f"{k} {v}" for k, v in ops.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="then profile privpi's run")
    parser.add_argument("--bytecode", choices=["cached", "none"], default="cached")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, moto() as endpoint:
        fake_aws_env(Path(scratch), endpoint)
        if args.bytecode == "cached":
            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            os.environ["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        else:
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(
            TableName=f"{BUCKET}-locks",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        n = args.publishers
        alone = make_wheel(Path(scratch), PROJECT, "0.1.0")
        wheels = [make_wheel(Path(scratch), PROJECT, f"1.0.{i}") for i in range(n)]
        for tool in ("privpi", "s3pypi"):  # warm: the bytecode cache, the file system
            run_all([commands(tool, alone, endpoint, f"warm-{tool}")])
        print(
            f"{n} publishers of one project, moto server, bytecode {args.bytecode}, "
            f"load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'tool':<8}{'one alone s':>12}{f'{n} at once s':>14}{'cpu s':>8}{'kept':>8}"
            f"{'failed':>8}{'lock waits':>12}"
        )
        for tool in ("privpi", "s3pypi"):
            one, _, _, _ = run_all([commands(tool, alone, endpoint, tool)])
            took, cpu, failed, errors = run_all([commands(tool, w, endpoint, tool) for w in wheels])
            waits = sum("Waiting to acquire lock" in e for e in errors) if tool == "s3pypi" else 0
            waited = f"{waits}/{n}" if tool == "s3pypi" else "-"
            print(
                f"{tool:<8}{one:>12.2f}{took:>14.2f}{cpu:>8.1f}"
                f"{f'{kept(s3, tool, tool, wheels)}/{n}':>8}{failed:>8}{waited:>12}"
            )
        if args.profile:
            profile(alone, wheels, endpoint, "privpi-profile")


if __name__ == "__main__":
    main()
