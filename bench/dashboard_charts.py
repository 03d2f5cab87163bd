"""S3 requests to count the dashboard's "files published per week" at growing audit logs.

    .venv/bin/python bench/dashboard_charts.py [--events 100,5000,25000] [--older 3000]

Starts its own moto S3 server on a free loopback port and writes, for each size, that many
publish events spread over the last 26 weeks plus ``--older`` events before them, then
counts every S3 request of one ``weekly_publishes`` (a listener of privpi's S3 client:
observation only). The count follows the events of the 26 weeks up to audit.MAX_LISTED
(one ListObjectsV2 per 1,000 keys) and stops there; older events cost nothing. Then 300
events in the key format before the action joined it: at most audit.MAX_READS are read.
Prints figures, never fails on them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from privpi import audit  # noqa: E402
from privpi.storage import open_storage  # noqa: E402
from tests.support.auditlog import write_event  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402
from tests.support.publish import RequestCounter  # noqa: E402
from webadmin.dashboard_charts import WEEKS, weekly_publishes  # noqa: E402

NOW = datetime.now(UTC)
# The first charted week's Monday, 00:00 UTC: recent events fall after it, older ones before.
START = datetime.combine(
    NOW.date() - timedelta(weeks=WEEKS - 1, days=NOW.weekday()), datetime.min.time(), UTC
)


def new_bucket(endpoint: str):
    name = f"bench-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return open_storage(f"s3://{name}")


def fill(storage, recent: int, older: int, legacy: int = 0) -> None:
    """recent events spread over the weeks charted, older ones in the year before them."""
    times = [NOW - (NOW - START) * (i + 0.5) / recent for i in range(recent)]
    times += [START - timedelta(days=365) * (i + 1) / (older + 1) for i in range(older)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda t: write_event(storage, t, "publish"), times))
        legacy_times = [NOW - timedelta(hours=i + 1) for i in range(legacy)]
        list(pool.map(lambda t: write_event(storage, t, "publish", legacy=True), legacy_times))


def measure(storage, label: str) -> None:
    counter = RequestCounter(storage.client)
    started = time.perf_counter()
    weeks = weekly_publishes(storage, NOW)
    took = time.perf_counter() - started
    calls = counter.take()
    counted = sum(n or 0 for _, n in weeks)
    uncounted = sum(1 for _, n in weeks if n is None)
    detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    print(
        f"{label:<40} {sum(calls.values()):>4}  ({detail})  counted {counted:,}, "
        f"weeks not counted {uncounted}, {took:.2f} s on moto"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="100,5000,25000")
    parser.add_argument("--older", type=int, default=3000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.events.split(",")]
    with tempfile.TemporaryDirectory(prefix="privpi-bench-") as tmp, moto() as endpoint:
        fake_aws_env(Path(tmp), endpoint)
        print(
            f"S3 requests of one weekly count (bounds: {audit.MAX_LISTED:,} keys listed, "
            f"{audit.MAX_READS} older-format events read)"
        )
        for size in sizes:
            storage = new_bucket(endpoint)
            fill(storage, size, args.older)
            measure(storage, f"{size:,} events in 26 weeks, {args.older:,} older")
        storage = new_bucket(endpoint)
        fill(storage, 100, 0, legacy=300)
        measure(storage, "100 events + 300 of the older format")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
