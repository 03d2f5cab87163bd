"""Soak: ``privpi serve`` under many pip-like clients while publishes and user changes go on.

A real ``privpi serve`` subprocess on loopback over a fresh folder (or ``--storage URL``).
``--clients`` threads loop until the deadline, each with its own keep-alive connection and
one of several reader accounts: GET /simple/, GET /simple/<p>/ (JSON or HTML by Accept),
then a file or its .metadata, checking every download against the sha256 the page lists.
Meanwhile ``privpi upload`` subprocesses publish new versions and new projects, and
``privpi users add/passwd`` change users. At the end every published file must be listed
and downloadable with its hash ("lost" counts the ones that are not). A sampler reads the
server's resident memory from /proc every second. Everything stops by itself.

``run`` returns the figures; bench/soak.py prints them, tests/test_soak.py runs a short one.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import random
import re
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from privpi import publish
from privpi.storage import open_storage
from privpi.users import UserStore
from tests.support.distfactory import make_sdist, make_wheel
from tests.support.serve import privpi, start_server, stop

PASSWORD = "soak-password-123"
READERS = [f"reader{i}" for i in range(5)]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class Stats:
    """Latencies and statuses per request kind, shared by every client thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter = Counter()
        self.problems: list[str] = []

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.status[status] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)
            self.status["problem"] += 1


class Client:
    """One pip-like client: a keep-alive connection, Basic credentials, hash checks."""

    def __init__(self, port: int, user: str, stats: Stats, rng: random.Random):
        self.port, self.stats, self.rng = port, stats, rng
        token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        self.auth = f"Basic {token}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, kind: str, path: str, accept: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": self.auth, "User-Agent": "soak"}
        if accept:
            headers["Accept"] = accept
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=headers)
            r = self.conn.getresponse()
            body = r.read()
            status = r.status
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()  # reconnect on the next request
            self.stats.add(kind, "connection error", time.perf_counter() - started)
            self.stats.problem(f"{path}: {type(e).__name__}: {e}")
            return 0, b""
        self.stats.add(kind, status, time.perf_counter() - started)
        if status >= 500:
            self.stats.problem(f"{path}: {status}")
        return status, body

    def one_round(self) -> None:
        status, body = self.get("root", "/simple/")
        projects = re.findall(rb'href="([^"/]+)/"', body) if status == 200 else []
        if not projects:
            return
        project = self.rng.choice(projects).decode()
        as_json = self.rng.random() < 0.5
        status, body = self.get(
            "project json" if as_json else "project html",
            f"/simple/{project}/",
            JSON_TYPE if as_json else "text/html",
        )
        if status != 200:
            return
        files = self._files(body, as_json)
        if not files:
            return
        filename, digest = self.rng.choice(files)
        if filename.endswith(".whl") and self.rng.random() < 0.3:
            self.get("metadata", f"/files/{project}/{filename}.metadata")
            return
        status, body = self.get("file", f"/files/{project}/{filename}")
        if status == 200 and hashlib.sha256(body).hexdigest() != digest:
            self.stats.problem(f"{filename}: served bytes do not match the listed sha256")

    @staticmethod
    def _files(body: bytes, as_json: bool) -> list[tuple[str, str]]:
        if as_json:
            page = json.loads(body)
            return [(f["filename"], f["hashes"]["sha256"]) for f in page["files"]]
        links = re.findall(rb'href="\.\./\.\./files/[^/]+/([^"#]+)#sha256=([0-9a-f]+)"', body)
        return [(f.decode(), d.decode()) for f, d in links]


def client_loop(port: int, user: str, stats: Stats, deadline: float, seed: int) -> None:
    client = Client(port, user, stats, random.Random(seed))
    while time.monotonic() < deadline:
        client.one_round()
    client.conn.close()


class Publisher:
    """Publishes with ``privpi upload`` subprocesses; remembers what it published."""

    def __init__(self, storage_url: str, workdir: Path, env: dict):
        self.storage_url, self.workdir, self.env = storage_url, workdir, env
        self.published: dict[tuple[str, str], str] = {}  # (project, filename) -> sha256
        self.failures: list[str] = []
        self.lock = threading.Lock()

    def upload(self, project: str, version: str, sdist: bool = False) -> None:
        out = self.workdir / f"{project}-{version}-{threading.get_ident()}"
        if sdist:
            path = make_sdist(out, project, version)
        else:
            path = make_wheel(out, project, version, padding=random.randint(0, 200_000))
        r = privpi(self.storage_url, "upload", str(path), env=self.env)
        with self.lock:
            if r.returncode == 0:
                self.published[(project, path.name)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                self.failures.append(f"{path.name}: {r.stderr.strip()[-300:]}")

    def loop(self, deadline: float, seed: int) -> None:
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            if n % 4 == 0:  # a new project now and then
                self.upload(f"soak-new-{seed}-{n}", "1.0", sdist=rng.random() < 0.5)
            else:  # a new version of a project the clients are reading
                self.upload(f"soak{rng.randrange(10)}", f"2.{seed}.{n}")


def user_changes(storage_url: str, env: dict, deadline: float, done: Counter) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        r = privpi(
            storage_url, "users", "add", f"extra{n}", "--password-stdin",
            stdin=PASSWORD + "\n", env=env,
        )  # fmt: skip
        done["users add" if r.returncode == 0 else "users add failed"] += 1
        r = privpi(
            storage_url, "users", "passwd", READERS[n % len(READERS)], "--password-stdin",
            stdin=PASSWORD + "\n", env=env,
        )  # fmt: skip
        done["users passwd" if r.returncode == 0 else "users passwd failed"] += 1
        time.sleep(0.5)


def sample_rss(pid: int, deadline: float, samples: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        samples.append((time.monotonic() - start, round(kb / 1024, 1)))
        time.sleep(1)


def check_published(port: int, published: dict, stats: Stats) -> list[str]:
    """Every published file listed on its project page and served with its hash."""
    client = Client(port, READERS[0], stats, random.Random(0))
    lost = []
    pages: dict[str, dict[str, str]] = {}
    for (project, filename), digest in sorted(published.items()):
        if project not in pages:
            status, body = client.get("final", f"/simple/{project}/", JSON_TYPE)
            listed = json.loads(body)["files"] if status == 200 else []
            pages[project] = {f["filename"]: f["hashes"]["sha256"] for f in listed}
        if pages[project].get(filename) != digest:
            lost.append(f"{project}/{filename}: not listed with its hash")
            continue
        status, body = client.get("final", f"/files/{project}/{filename}")
        if status != 200 or hashlib.sha256(body).hexdigest() != digest:
            lost.append(f"{project}/{filename}: download {status} or wrong bytes")
    return lost


def seed(storage_url: str, workdir: Path, env: dict) -> Publisher:
    """Readers and ten projects with two versions each, published (in process, quicker)
    before the load starts."""
    storage = open_storage(storage_url)
    for user in READERS:
        UserStore(storage, actor="soak").add(user, PASSWORD)
    pub = Publisher(storage_url, workdir, env)
    for i in range(10):
        for version in ("1.0", "1.1"):
            path = make_wheel(workdir / "seed", f"soak{i}", version)
            result = publish.publish(storage, path, uploader="soak")
            pub.published[(result.project, path.name)] = publish_sha256(path)
    return pub


def publish_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(
    duration: float,
    clients: int,
    threads: int,
    storage_url: str | None = None,
    writes: bool = True,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="privpi-soak-") as tmp:
        work = Path(tmp)
        storage_url = storage_url or str(work / "repo")
        env = None
        pub = seed(storage_url, work / "dists", env)
        base, proc = start_server(storage_url, args=["--refresh", "2", "--threads", str(threads)])
        port = int(base.rsplit(":", 1)[1])
        stats, changes, rss = Stats(), Counter(), []
        started = time.monotonic()
        deadline = started + duration
        workers = [
            threading.Thread(
                target=client_loop, args=(port, READERS[i % len(READERS)], stats, deadline, i)
            )
            for i in range(clients)
        ]
        if writes:
            workers += [threading.Thread(target=pub.loop, args=(deadline, s)) for s in (1, 2)]
            workers.append(
                threading.Thread(target=user_changes, args=(storage_url, env, deadline, changes))
            )
        workers.append(threading.Thread(target=sample_rss, args=(proc.pid, deadline, rss)))
        try:
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=duration + 180)
            elapsed = time.monotonic() - started
            lost = check_published(port, pub.published, Stats())
        finally:
            stop(proc)
    return report(stats, elapsed, pub, changes, rss, lost, clients, threads)


def report(stats, elapsed, pub, changes, rss, lost, clients, threads) -> dict:
    everything = [s for values in stats.latency.values() for s in values]
    rss_values = [mb for _, mb in rss]
    half = len(rss_values) // 2
    return {
        "clients": clients,
        "server threads": threads,
        "seconds": round(elapsed, 1),
        "requests": len(everything),
        "requests/s": round(len(everything) / elapsed, 1),
        "statuses": dict(stats.status),
        "5xx": sum(n for s, n in stats.status.items() if isinstance(s, int) and s >= 500),
        "connection errors": stats.status.get("connection error", 0),
        "problems": stats.problems,
        "latency ms": {
            kind: {
                "n": len(values),
                "p50": round(percentile(values, 50) * 1000, 1),
                "p95": round(percentile(values, 95) * 1000, 1),
                "p99": round(percentile(values, 99) * 1000, 1),
                "max": round(max(values) * 1000, 1),
            }
            for kind, values in sorted({**stats.latency, "all": everything}.items())
        },
        "published during the run": len(pub.published) - 20,
        "publish failures": pub.failures,
        "user changes": dict(changes),
        "lost files": lost,
        "rss MB": {
            "first": rss_values[0] if rss_values else None,
            "peak": max(rss_values, default=None),
            "last": rss_values[-1] if rss_values else None,
            "mean first half": round(statistics.mean(rss_values[:half]), 1) if half else None,
            "mean second half": round(statistics.mean(rss_values[half:]), 1) if half else None,
            "every 10 s": rss_values[::10],
        },
    }
