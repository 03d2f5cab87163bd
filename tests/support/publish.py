"""Helpers for the publishing tests: real distributions from PyPI (cached, the
``real_dists`` fixture, registered in tests/conftest.py), page parsing, S3 request counting.
"""

from __future__ import annotations

import collections
import fcntl
import os
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from privpi import publish
from privpi.storage import open_storage
from tests.support.serve import isolated_pip_env

CACHE = Path.home() / ".cache" / "privpi-tests" / "pypi"

# Small, old, immutable files that exercise real-world quirks (see the comments).
REAL = {
    # Metadata-Version 2.0, no Requires-Python
    "six-1.10.0-py2.py3-none-any.whl": ("six==1.10.0", "binary"),
    # capitalized old-style filename; Requires-Python with spaces and "!="
    "Jinja2-2.11.3-py2.py3-none-any.whl": ("Jinja2==2.11.3", "binary"),
    # post-release; project name differs from the module name
    "python_dateutil-2.9.0.post0-py2.py3-none-any.whl": ("python-dateutil==2.9.0.post0", "binary"),
    # classic setuptools sdist
    "six-1.16.0.tar.gz": ("six==1.16.0", "source"),
    # dotted project name in the sdist filename
    "zope.event-5.0.tar.gz": ("zope.event==5.0", "source"),
}


def _download(filename: str, requirement: str, kind: str) -> None:
    """pip download into a temp folder, then an atomic rename into the cache."""
    only = ["--only-binary", ":all:"] if kind == "binary" else ["--no-binary", ":all:"]
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--isolated", "-q"]
            + only
            + ["-d", tmp, requirement],
            env=isolated_pip_env(),
            timeout=300,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, f"pip download {requirement} failed:\n{r.stderr}"
        os.replace(Path(tmp) / filename, CACHE / filename)


@pytest.fixture(scope="session")
def real_dists() -> dict[str, Path]:
    """filename -> path of real distributions downloaded once from PyPI into the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # xdist workers share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        for filename, (requirement, kind) in REAL.items():
            if not (CACHE / filename).exists():
                _download(filename, requirement, kind)
    missing = [f for f in REAL if not (CACHE / f).exists()]
    assert not missing, f"pip download did not produce {missing}"
    return {filename: CACHE / filename for filename in REAL}


class LinkParser(HTMLParser):
    """An independent reading of a PEP 503 page: (attributes, text) of each <a>, metas."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[dict, str]] = []
        self.meta: dict[str, str] = {}
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), ""
        elif tag == "meta":
            attrs = dict(attrs)
            self.meta[attrs.get("name")] = attrs.get("content")

    def handle_data(self, data):
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open, self._text))
            self._open = None


def parse_links(html: bytes | str) -> LinkParser:
    parser = LinkParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return parser


class RequestCounter:
    """Counts the S3 requests (attempts, by operation) that a storage's client sends: a
    listener of privpi's S3 client (privpi/storage/s3client.py), observation only."""

    def __init__(self, client):
        self.calls = collections.Counter()
        client.listeners.append(self._count)

    def _count(self, call):
        self.calls[call.operation] += 1

    def take(self) -> collections.Counter:
        calls, self.calls = self.calls, collections.Counter()
        return calls


def publish_at_once(storage, paths, timeout: float = 300) -> list[str]:
    """Publish each file from its own thread with its own client (as separate publishers
    have), all released together; the failures, each naming its file."""
    errors: list[str] = []
    barrier = threading.Barrier(len(paths))

    def worker(path):
        own = open_storage(storage.url)
        barrier.wait()
        try:
            publish.publish(own, path)
        except Exception as e:  # reported by the caller, with the file
            errors.append(f"{path.name}: {e!r}")

    threads = [threading.Thread(target=worker, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return errors
