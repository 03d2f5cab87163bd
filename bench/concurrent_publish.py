"""Concurrent publishers, privpi beside s3pypi: N ``upload`` processes of one project at once.

    .venv/bin/python bench/concurrent_publish.py [--publishers 20]

Needs s3pypi in the venv (``pip install --no-deps s3pypi mypy-boto3-dynamodb``: its other
requirements are privpi's). One moto server (S3 and DynamoDB) on a free loopback port; s3pypi
runs with its DynamoDB lock (the ``BUCKET-locks`` table), as a CI matrix would use it. For each
tool: the wall time of one upload alone (process start, imports, requests) and of N uploads
started together, and how many of the N wheels the project's page lists afterwards. Wall
times depend on the machine's load; run both tools in the same run. Prints figures, never fails
on them.
"""

from __future__ import annotations

import argparse
import os
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
BIN = Path(sys.executable).parent


def commands(tool: str, wheel: Path, endpoint: str) -> list[str]:
    if tool == "privpi":
        return [str(BIN / "privpi"), "--storage", f"s3://{BUCKET}/privpi", "upload", str(wheel)]
    return [
        *(str(BIN / "s3pypi"), "upload", str(wheel), "--bucket", BUCKET),
        *("--prefix", "s3pypi", "--s3-endpoint-url", endpoint),
    ]


def run_all(argvs: list[list[str]]) -> tuple[float, int]:
    """Seconds until every process has ended, and how many failed."""
    start = time.perf_counter()
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for a in argvs]
    failed = 0
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            failed += 1
            print(err.decode().strip().splitlines()[-1:], file=sys.stderr)
    return time.perf_counter() - start, failed


def listed(s3: object, tool: str, project: str) -> set[str]:
    """The wheel filenames the project's page links to."""
    key = keys.project_html(project) if tool == "privpi" else f"{project}/"
    body = s3.get_object(Bucket=BUCKET, Key=f"{tool}/{key}")["Body"].read()  # type: ignore[attr-defined]
    return {text.strip() for _, text in parse_links(body).links}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, moto() as endpoint:
        fake_aws_env(Path(scratch), endpoint)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(
            TableName=f"{BUCKET}-locks",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        n = args.publishers
        print(f"{n} publishers of one project, moto server, load {os.getloadavg()[0]:.1f}")
        print(f"{'tool':<8}{'one alone s':>12}{f'{n} at once s':>14}{'kept':>8}{'failed':>8}")
        for tool in ("privpi", "s3pypi"):
            project = f"concurrent-{tool}"
            alone = make_wheel(Path(scratch), project, "0.1.0")
            wheels = [make_wheel(Path(scratch), project, f"1.0.{i}") for i in range(n)]
            one, _ = run_all([commands(tool, alone, endpoint)])
            took, failed = run_all([commands(tool, w, endpoint) for w in wheels])
            kept = len({w.name for w in wheels} & listed(s3, tool, project))
            print(f"{tool:<8}{one:>12.2f}{took:>14.2f}{f'{kept}/{n}':>8}{failed:>8}")


if __name__ == "__main__":
    main()
