"""Server time of the console's /projects page with 10 and with 10,000 projects.

Folder storage seeded by writing the root index JSON and the listing summary directly (no
distributions needed);
requests go through the Flask test client, so the figures are the console's own time
(storage read, search, pagination, rendering), without network or browser.

    .venv/bin/python bench/console_projects.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PRIVPI_PBKDF2_ROUNDS", "1000")

import re

from privpi import index, keys, listing
from privpi.storage import FolderStorage
from privpi.users import UserStore
from webadmin import create_app

PASSWORD = "bench password 1234"
REPEAT = 50


def seeded(root: Path, n: int) -> FolderStorage:
    storage = FolderStorage(root)
    UserStore(storage).add("bench", PASSWORD, "reader")
    doc = {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": f"project-{i:05d}"} for i in range(n)],
    }
    storage.write(keys.ROOT_JSON, json.dumps(doc).encode(), content_type=keys.JSON_TYPE)
    summary = listing.empty()  # the figures each row shows (privpi.listing)
    entry = {"serial": 1, "listed": True, "files": 3, "bytes": 123_456, "latest": "1.0",
             "uploaded": index.now(), "status": "active"}  # fmt: skip
    summary["projects"] = {p["name"]: entry for p in doc["projects"]}
    storage.write(keys.LISTING, listing.dumps(summary), content_type=listing.CONTENT_TYPE)
    return storage


def signed_in_client(storage):
    app = create_app({"TESTING": True, "SECRET_KEY": "b" * 40}, storage)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.status_code
    return client


def timed(client, url: str) -> list[float]:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return times


def main() -> None:
    print(f"/projects server time (Flask test client, folder storage, {REPEAT} requests each)")
    print(f"{'projects':>9} {'request':<28} {'first ms':>9} {'median ms':>10} {'p95 ms':>8}")
    for n in (10, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            client = signed_in_client(seeded(Path(tmp), n))
            for url in ("/projects", "/projects?page=100", "/projects?q=project-0999"):
                if "page=100" in url and n < 5000:
                    url = "/projects?page=1"
                times = timed(client, url)
                p95 = sorted(times)[int(len(times) * 0.95) - 1]
                print(
                    f"{n:>9,} {url:<28} {times[0]:>9.2f} {statistics.median(times):>10.2f} "
                    f"{p95:>8.2f}"
                )
            # a changed root index (new ETag) is parsed again on the next request
            storage = client.application.extensions["privpi.storage"]
            blob = storage.read(keys.ROOT_JSON)
            storage.write(keys.ROOT_JSON, blob.body + b" ", content_type=keys.JSON_TYPE)
            start = time.perf_counter()
            client.get("/projects")
            ms = (time.perf_counter() - start) * 1000
            print(f"{n:>9,} {'/projects after index change':<28} {ms:>9.2f}")


if __name__ == "__main__":
    main()
