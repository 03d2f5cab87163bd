"""Figures for the Lambda@Edge authenticator: zip size, cold import, first and warm decisions,
and what the upstream name check (``--upstream``) and the quarantine check of file downloads
add to a warm decision.

    .venv/bin/python bench/edge_figures.py

Prints figures; never passes or fails. The first verification uses the production PBKDF2
rounds (privpi.settings.DEFAULT_PBKDF2_ROUNDS), the warm decisions a verified-credential cache hit.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from passlib.hash import pbkdf2_sha256

from edge import viewer_request
from edge.upstream import NameCache
from edge.userstore import UserCache
from privpi.aws.edgebuild import build_zip
from privpi.settings import DEFAULT_PBKDF2_ROUNDS

PASSWORD = "a-long-enough-password"
IMPORT_PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
t = time.perf_counter()
import viewer_request
print(time.perf_counter() - t)
"""


class Source:
    def __init__(self, doc):
        self.body = json.dumps(doc).encode()

    def fetch(self, etag):
        return None if etag == '"1"' else (self.body, '"1"')


def event(auth: str, uri: str = "/simple/some-project/") -> dict:
    headers = {
        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
        "accept": [{"key": "Accept", "value": "application/vnd.pypi.simple.v1+json"}],
        "authorization": [{"key": "Authorization", "value": auth}],
    }
    request = {"clientIp": "203.0.113.178", "headers": headers, "method": "GET",
               "querystring": "", "uri": uri}  # fmt: skip
    return {"Records": [{"cf": {"config": {"eventType": "viewer-request"}, "request": request}}]}


def cold_import(zip_bytes: bytes, runs: int = 7) -> tuple[float, float]:
    """Median seconds to import the handler from the unpacked zip, and whole process time."""
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(io.BytesIO(zip_bytes)).extractall(tmp)
        imports, totals = [], []
        for _ in range(runs):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-I", "-S", "-c", IMPORT_PROBE, tmp],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            totals.append(time.perf_counter() - t)
            imports.append(float(out.stdout))
    return statistics.median(imports), statistics.median(totals)


def warm(uri: str, auth: str, n: int) -> tuple[float, float]:
    """p50 and p99 microseconds of n warm decisions for uri."""
    events = [event(auth, uri) for _ in range(n)]
    samples = []
    for ev in events:
        t = time.perf_counter_ns()
        viewer_request.handler(ev)
        samples.append((time.perf_counter_ns() - t) / 1000)
    samples.sort()
    return samples[n // 2], samples[int(n * 0.99)]


def upstream_figures(users: UserCache, auth: str, projects: int = 1000, n: int = 20000) -> None:
    """The name check's added cost: warm decisions without and with an upstream (a root of
    ``projects`` private names and 10 claimed patterns), and the check alone."""
    root = {
        "projects": [{"name": f"private-{i}"} for i in range(projects)],
        "_claims": [f"team{i}-*" for i in range(10)],
    }
    names = NameCache(Source(root))
    cases = [("private", "/simple/private-500/"), ("claimed", "/simple/team9-x/"),
             ("302 upstream", "/simple/requests/")]  # fmt: skip
    viewer_request.configure(users, "bench")
    base, _ = warm("/simple/private-500/", auth, n)
    print(f"upstream off, p50:        {base:>10.1f} us  (the same private page)")
    viewer_request.configure(users, "bench", "https://pypi.org/simple/", names)
    for label, uri in cases:
        p50, p99 = warm(uri, auth, n)
        print(f"upstream on, {label + ':':<13}{p50:>10.1f} us p50, {p99:.1f} us p99  "
              f"(+{p50 - base:.1f} us)")  # fmt: skip
    for label, name in [("private", "private-500"), ("claimed", "team9-x"), ("unknown", "x")]:
        t = time.perf_counter_ns()
        for _ in range(n):
            names.falls_through(name)
        each = (time.perf_counter_ns() - t) / n / 1000
        print(
            f"name check alone, {label + ':':<8}{each:>10.2f} us  ({projects:,} names, 10 claims)"
        )
    viewer_request.configure(None)


def quarantine_figures(users: UserCache, auth: str, projects: int = 1000, n: int = 20000) -> None:
    """The quarantine check's added cost on a file download: warm decisions without and with
    the root's cache (``projects`` private names, 10 of them quarantined)."""
    root = {
        "projects": [{"name": f"private-{i}"} for i in range(projects)],
        "_quarantined": [f"private-{i}" for i in range(10)],
    }
    file_uri = "/files/private-500/private_500-1.0-py3-none-any.whl"
    viewer_request.configure(users, "bench")
    base, _ = warm(file_uri, auth, n)
    print(f"file, no root cache, p50: {base:>10.1f} us")
    viewer_request.configure(users, "bench", None, NameCache(Source(root)))
    for label, uri in [("served", file_uri), ("quarantined", file_uri.replace("500", "5"))]:
        p50, p99 = warm(uri, auth, n)
        print(f"file, {label + ':':<20}{p50:>10.1f} us p50, {p99:.1f} us p99  "
              f"(+{p50 - base:.1f} us)")  # fmt: skip
    viewer_request.configure(None)


def main() -> None:
    data = build_zip("example-bucket", "eu-west-1")
    print(f"zip size:                 {len(data):>10,} bytes ({len(data) / 1024:.1f} KiB)")
    imp, total = cold_import(data)
    whole = f"python -I -S start+import {total * 1e3:.0f} ms"
    print(f"cold import of handler:   {imp * 1e3:>10.2f} ms  ({whole})")

    digest = pbkdf2_sha256.using(rounds=DEFAULT_PBKDF2_ROUNDS).hash(PASSWORD)
    doc = {"version": 1, "users": {"alice": {"hash": digest, "roles": ["reader"], "enabled": True}}}
    viewer_request.configure(UserCache(Source(doc)), realm="bench")
    auth = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    t = time.perf_counter()
    first = viewer_request.handler(event(auth))
    first_s = time.perf_counter() - t
    assert first["uri"] == "/packages/simple/some-project/index.json", first
    algo = f"PBKDF2-SHA256, {DEFAULT_PBKDF2_ROUNDS:,} rounds"
    print(f"first verification:       {first_s * 1e3:>10.2f} ms  ({algo})")

    n = 20000
    events = [event(auth) for _ in range(n)]
    samples = []
    for ev in events:
        t = time.perf_counter_ns()
        viewer_request.handler(ev)
        samples.append((time.perf_counter_ns() - t) / 1000)
    samples.sort()
    p50, p99 = samples[n // 2], samples[int(n * 0.99)]
    print(f"warm decision p50:        {p50:>10.1f} us  ({n:,} requests)")
    print(f"warm decision p99:        {p99:>10.1f} us  (goal < 100 us)")
    refused = [event("Basic " + base64.b64encode(b"alice:wrong").decode()) for _ in range(20)]
    t = time.perf_counter()
    for ev in refused:
        viewer_request.handler(ev)
    each = (time.perf_counter() - t) / 20 * 1e3
    print(f"wrong password (each):    {each:>10.2f} ms  (never cached)")
    store = viewer_request._state["store"]
    upstream_figures(store, auth)
    quarantine_figures(store, auth)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
