"""S3 requests per publish at 10, 1,000 and 10,000 projects, and 20 concurrent publishers.

    .venv/bin/python bench/publish_requests.py [--sizes 10,1000,10000] [--publishers 20]

Starts its own moto S3 server on a free loopback port (tests/support/moto_server.py) and counts
every S3 API request the publishing client sends, with a listener of privpi's S3 client
(privpi/storage/s3client.py; observation only: nothing is patched). Request counts are
exact and noise-free; the concurrency timing is wall-clock and depends on the machine.
Prints figures, never fails on them.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from privpi import index, keys, pages, publish, status  # noqa: E402
from privpi.storage import open_storage  # noqa: E402
from tests.support.distfactory import make_sdist, make_wheel  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402
from tests.support.publish import RequestCounter, parse_links  # noqa: E402


def new_bucket(endpoint: str):
    name = f"bench-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return open_storage(f"s3://{name}")


def seed(storage, count: int, dists: Path) -> None:
    """count projects in the root pages, written directly (cheap); one real project."""
    publish.publish(storage, make_wheel(dists, "existing", "1.0"))
    names = {f"seed-{i:05d}" for i in range(count - 1)} | {"existing"}
    root = index.root_page(names)
    index.write_page(storage, keys.ROOT_HTML, pages.root_html(root))
    index.write_page(storage, keys.ROOT_JSON, index.dumps(root))


def fmt(calls: collections.Counter) -> str:
    detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    return f"{sum(calls.values()):>2}  ({detail})"


def measure_sizes(endpoint: str, sizes: list[int], scratch: Path) -> None:
    print(
        "S3 requests per publish (each includes 1 PutObject for the audit event; readers "
        "fold it into the listing summary)"
    )
    print(f"{'projects':>9}  {'case':<36} requests")
    for size in sizes:
        storage = new_bucket(endpoint)
        dists = scratch / f"d{size}"
        seed(storage, size, dists)
        counter = RequestCounter(storage.client)
        cases = [
            ("new version, existing project, whl", make_wheel(dists, "existing", "2.0")),
            ("new version, existing project, sdist", make_sdist(dists, "existing", "2.0")),
            ("new project, wheel", make_wheel(dists, "brand-new", "1.0")),
        ]
        for label, path in cases:
            publish.publish(storage, path)
            print(f"{size:>9}  {label:<36} {fmt(counter.take())}")
        assert len(index.read_root(storage)["projects"]) == size + 1


def measure_operations(endpoint: str, scratch: Path) -> None:
    """Each other operation once, on a small repository (audit events included)."""
    storage = new_bucket(endpoint)
    dists = scratch / "ops"
    for version in ("1.0", "2.0", "3.0"):
        publish.publish(storage, make_wheel(dists, "ops", version))
        publish.publish(storage, make_sdist(dists, "ops", version))
    publish.publish(storage, make_wheel(dists, "gone", "1.0"))
    publish.publish(storage, make_sdist(dists, "gone", "1.0"))
    counter = RequestCounter(storage.client)
    other = make_wheel(scratch / "other-bytes", "ops", "3.0", padding=500)
    cases = [
        (
            "overwrite a wheel (other bytes)",
            lambda: publish.publish(storage, other, existing="overwrite"),
        ),
        ("yank a version (2 files)", lambda: publish.yank(storage, "ops", "1.0")),
        ("unyank a version (2 files)", lambda: publish.unyank(storage, "ops", "1.0")),
        ("status: archived", lambda: status.set_status(storage, "ops", "archived")),
        ("status: active again", lambda: status.set_status(storage, "ops", "active")),
        ("delete one file", lambda: publish.delete(storage, "ops", filename="ops-1.0.tar.gz")),
        ("delete a version (2 files)", lambda: publish.delete(storage, "ops", "2.0")),
        ("delete a project (2 files)", lambda: publish.delete(storage, "gone")),
        ("reindex (1 project, 3 files)", lambda: publish.reindex(storage)),
    ]
    print("\nS3 requests per other operation (audit events included)")
    for label, call in cases:
        call()
        print(f"  {label:<36} {fmt(counter.take())}")


def run_at_once(calls) -> float:
    """Each call in its own thread, all released together; seconds until the last ends."""
    barrier = threading.Barrier(len(calls) + 1)

    def released(call):
        barrier.wait()
        call()

    threads = [threading.Thread(target=released, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def concurrent(endpoint: str, publishers: int, scratch: Path) -> None:
    storage = new_bucket(endpoint)
    dists = scratch / "concurrent"
    paths = [make_wheel(dists, "crowded", f"1.{i}") for i in range(publishers)]
    clients = [open_storage(storage.url) for _ in paths]
    counters = [RequestCounter(c.client) for c in clients]
    errors = []

    def run(own, path):
        try:
            publish.publish(own, path)
        except Exception as e:
            errors.append(f"{path.name}: {e}")

    elapsed = run_at_once([partial(run, c, p) for c, p in zip(clients, paths, strict=True)])
    listed_json = len(index.read_project(storage, "crowded")["files"])
    listed_html = len(parse_links(storage.read(keys.project_html("crowded")).body).links)
    total = sum((c.take() for c in counters), collections.Counter())
    print(f"\n{publishers} concurrent publishers of one project (threads, one client each)")
    print(f"  wall time            {elapsed:.2f} s")
    print(f"  files in JSON page   {listed_json} of {publishers}")
    print(f"  files in HTML page   {listed_html} of {publishers}")
    print(f"  S3 requests in all   {fmt(total)}")
    print(f"  errors               {errors or 'none'}")


def concurrent_folder(publishers: int, scratch: Path) -> None:
    storage = open_storage(str(scratch / "folder-repo"))
    paths = [make_wheel(scratch / "folder", "crowded", f"1.{i}") for i in range(publishers)]
    elapsed = run_at_once([partial(publish.publish, storage, p) for p in paths])
    listed = len(index.read_project(storage, "crowded")["files"])
    print(f"\n{publishers} concurrent publishers of one project, folder backend")
    print(f"  wall time            {elapsed:.2f} s")
    print(f"  files in JSON page   {listed} of {publishers}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--publishers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privpi-bench-") as tmp, moto() as endpoint:
        scratch = Path(tmp)
        fake_aws_env(scratch, endpoint)
        measure_sizes(endpoint, [int(s) for s in args.sizes.split(",")], scratch)
        measure_operations(endpoint, scratch)
        concurrent(endpoint, args.publishers, scratch)
        concurrent_folder(args.publishers, scratch)


if __name__ == "__main__":
    main()
