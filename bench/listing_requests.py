"""S3 requests per listing (privpi projects, the dashboard, /projects) at 10, 1,000 and 10,000
projects of 10 files each (100,000 files at the largest), before and after the listing summary:
warm (nothing changed since the last look) and after K publishes since the last look.

    .venv/bin/python bench/listing_requests.py [--sizes 10,1000,10000] [--files-per-project 10]

Starts its own moto S3 server on a free loopback port (tests/support/moto_server.py) and
counts every S3 API request the listing client sends, with a listener of privpi's S3 client
(observation only). The repository is written directly through the storage API with
parallel PUTs (pages, the root, the listing summary, and an empty object per file), not by
publishing 100,000 files. "before" runs the code the summary replaced, kept here: `privpi
projects` read every project page; the dashboard listed every file. The console views are
its real routes through Flask's test client, a fresh console each (cold caches) and again
(warm: conditional reads). Then, for K = 1 and 100, K publishes (new versions of K
projects) before each listing, which folds them in from the audit log (privpi.listing): the
console views by a console that already looked. Also one publish into each repository:
writers never touch the summary. Prints figures, never fails on them.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from privpi import folding, index, keys, listing, pages, publish  # noqa: E402
from privpi.commands.context import AppContext  # noqa: E402
from privpi.commands.publish import projects  # noqa: E402
from privpi.settings import Settings  # noqa: E402
from privpi.storage import open_storage  # noqa: E402
from tests.support.console import login, make_console, seed_users  # noqa: E402
from tests.support.distfactory import make_wheel  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402
from tests.support.publish import RequestCounter  # noqa: E402

WORKERS = 32
FOLDS = (1, 100)  # publishes since the last look


def page_of(project: str, files: int) -> index.Doc:
    stamp = index.now()
    entries = [
        {
            "filename": f"{project.replace('-', '_')}-1.{i}-py3-none-any.whl",
            "url": index.file_url(project, f"{project.replace('-', '_')}-1.{i}-py3-none-any.whl"),
            "hashes": {"sha256": f"{i:064x}"},
            "requires-python": None,
            "core-metadata": False,
            "dist-info-metadata": False,
            "yanked": False,
            "size": 1000 + i,
            "upload-time": stamp,
            "_version": f"1.{i}",
            "_uploader": "bench",
        }
        for i in range(files)
    ]
    return {**index.normalized({**index.empty_project(project), "files": entries}), "_serial": 1}


def build(storage, size: int, files: int, file_objects: bool) -> None:
    """size projects of files each: their JSON pages, the root and the summary, written in
    parallel (moto takes about 50 PUTs a second here); an empty object per file only when
    file_objects (the replaced dashboard listed them); one HTML page, for the publish."""
    names = [f"proj-{i:05d}" for i in range(size)]
    docs = {name: page_of(name, files) for name in names}

    def write_project(name: str) -> None:
        doc = docs[name]
        index.write_page(storage, keys.project_json(name), index.dumps(doc))
        for entry in doc["files"] if file_objects else []:
            storage.write(keys.file_key(name, entry["filename"]), b"")

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(write_project, names))
    for name in names[: max(FOLDS)]:  # the projects the bench publishes into
        index.write_page(storage, keys.project_html(name), pages.project_html(docs[name]))
    root = index.root_page(names, {name: 1 for name in names})
    index.write_page(storage, keys.ROOT_JSON, index.dumps(root))
    index.write_page(storage, keys.ROOT_HTML, pages.root_html(root))
    summary = listing.empty()
    start = folding.start(storage)
    if start is not None:
        summary["folded"] = start.dump()
    summary["projects"] = {name: listing.entry_of(doc) for name, doc in docs.items()}
    storage.write(keys.LISTING, listing.dumps(summary), content_type=listing.CONTENT_TYPE)


def old_projects(storage) -> int:
    """`privpi projects` before the summary: the root, then every project page."""
    names = [p["name"] for p in index.read_root(storage)["projects"]]
    with ThreadPoolExecutor(16) as pool:
        pages_read = list(pool.map(lambda n: index.read_project(storage, n), names))
    return sum(len(p["files"]) for p in pages_read)


def old_dashboard(storage) -> int:
    """The dashboard's figures before the summary: the root, then a listing of every file."""
    index.read_root(storage)
    return sum(1 for info in storage.list(keys.FILES) if not info.key.endswith(".metadata"))


def console_view(
    storage, path: str, counter: RequestCounter, warm: bool
) -> tuple[collections.Counter, float]:
    """(requests, seconds) of one view by a signed-in reader of a fresh console."""
    client = make_console(storage).test_client()
    login(client, "reader")
    if warm:
        client.get(path)
    return view(client, path, counter)


def view(client, path: str, counter: RequestCounter) -> tuple[collections.Counter, float]:
    counter.take()
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    return counter.take(), elapsed


def fmt(calls: collections.Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))


def measure(endpoint: str, size: int, files: int, max_objects: int, scratch: Path) -> list[str]:
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    storage = open_storage(f"s3://{bucket}")
    start = time.perf_counter()
    file_objects = size * files <= max_objects
    build(storage, size, files, file_objects)
    seed_users(storage)
    listing.load(storage)  # the last look: the listings below are warm
    built = time.perf_counter() - start
    counter = RequestCounter(storage.client)
    rows = []

    def row(what: str, calls: collections.Counter | int, seconds: float) -> None:
        count = calls if isinstance(calls, int) else sum(calls.values())
        detail = "" if isinstance(calls, int) else f"  ({fmt(calls)})"
        rows.append(f"{size:>8,}  {what:<44} {count:>6,}  {seconds:>7.2f} s{detail}")

    for what, call in (("before: privpi projects", old_projects),
                       ("before: dashboard figures", old_dashboard)):  # fmt: skip
        if call is old_dashboard and not file_objects:
            rows.append(
                f"{size:>8,}  {what:<44} {'-':>6}  not run: {size * files:,} file objects not "
                f"written (--max-file-objects); S3 lists 1,000 keys a request: "
                f"{1 + -(-size * files // 1000):,} requests"
            )
            continue
        counter.take()
        t = time.perf_counter()
        call(storage)
        row(what, counter.take(), time.perf_counter() - t)
    app = AppContext(storage.url, False, Settings(storage=storage.url))
    app.__dict__["storage"] = storage  # the command's storage: our counted client
    counter.take()
    t = time.perf_counter()
    result = CliRunner().invoke(projects, [], obj=app)
    seconds = time.perf_counter() - t
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == size + 1, result.output[-500:]
    row("after: privpi projects (warm)", counter.take(), seconds)
    for path in ("/", "/projects", "/projects?q=proj-000&page=2"):
        for warm in (False, True):
            count, seconds = console_view(storage, path, counter, warm)
            row(f"after: GET {path} ({'warm' if warm else 'cold'})", count, seconds)
    counter.take()
    t = time.perf_counter()
    publish.publish(storage, make_wheel(scratch / str(size), "proj-00000", "9.0"))
    row("a publish into it (new version)", counter.take(), time.perf_counter() - t)
    listing.load(storage)  # folded: the next looks start from here
    after_publishes(storage, size, scratch, counter, row)
    summary = storage.head(keys.LISTING).size
    rows.append(
        f"{'':>8}  (built in {built:.0f} s; listing summary {summary / 1024:,.0f} KiB gzipped)"
    )
    return rows


def after_publishes(storage, size: int, scratch: Path, counter: RequestCounter, row) -> None:
    """Each listing after K publishes since the last look (K in FOLDS): `privpi projects`,
    then the dashboard and /projects of a console that looked before the publishes."""
    client = make_console(storage).test_client()
    login(client, "reader")
    client.get("/")
    client.get("/projects")
    versions = iter(range(10**6))

    def publishes(k: int) -> None:
        n = next(versions)
        for i in range(k):
            wheel = make_wheel(scratch / f"{size}-{n}", f"proj-{i:05d}", f"10.{n}")
            publish.publish(storage, wheel)

    app = AppContext(storage.url, False, Settings(storage=storage.url))
    app.__dict__["storage"] = storage
    for k in FOLDS:
        publishes(k)
        counter.take()
        t = time.perf_counter()
        result = CliRunner().invoke(projects, [], obj=app)
        assert result.exit_code == 0, result.output
        row(f"after {k} publishes: privpi projects", counter.take(), time.perf_counter() - t)
        for path in ("/", "/projects"):
            publishes(k)
            count, seconds = view(client, path, counter)
            row(f"after {k} publishes: GET {path}", count, seconds)
        count, seconds = view(client, "/projects", counter)
        row("then again, nothing changed: GET /projects", count, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--files-per-project", type=int, default=10)
    parser.add_argument(
        "--max-file-objects",
        type=int,
        default=2_000,
        help="write file objects (for the replaced dashboard's listing) up to this many",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privpi-bench-") as tmp, moto() as endpoint:
        scratch = Path(tmp)
        fake_aws_env(scratch, endpoint)
        print(f"{'projects':>8}  {'listing':<44} {'S3 req':>6}  {'time':>9}")
        for size in (int(s) for s in args.sizes.split(",")):
            measured = measure(
                endpoint, size, args.files_per_project, args.max_file_objects, scratch
            )
            for line in measured:
                print(line, flush=True)


if __name__ == "__main__":
    main()
