"""Where the model test's scenarios run (tests/support/model.py): a real backend with faults.

- :class:`S3Backend`: a moto bucket reached through a FaultProxy (HTTP faults, the S3 client's own
  retries, the proxy's jitter); a request costs about 6.5 ms of moto's time.
- :class:`FolderBackend`: a folder (FolderStorage, privpi serve's laptop path) reached
  through FaultyStorage (tests/support/faultstore.py: the same fault kinds at the Storage
  interface, one retry as the S3 clients have); a call costs well under a millisecond, so
  its holds, jitter and grace period are scaled down with it.

Both take the scheduler's fault targets as (verb, storage key) pairs, the verbs named as the
S3 requests ("GET", "PUT", "HEAD", "DELETE", "LIST"), and its actions as the proxy's names
("503", "drop", "drop_after", "late").
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import uuid
from pathlib import Path

import boto3

from privpi.storage import FolderStorage
from privpi.storage.s3 import S3Config, S3Storage
from tests.support.faultproxy import FaultProxy
from tests.support.faultstore import Faults, FaultyStorage

READ_TIMEOUT = 1.0  # tests/test_races.py: a request held ("delay") past it arrives late
RETRIES = 1  # retries of the racing clients (privpi's own S3 client: 3)
MEMORY = Path("/dev/shm")  # a tmpfs on Linux: the folder run's files need no disk
# the proxy's actions as faults at the Storage interface: fail before, applied then failed
AS_STORE_ACTION = {"503": "error", "drop": "error", "drop_after": "lost", "late": "late"}


def s3_storage(bucket: str, endpoint: str, read_timeout: float = READ_TIMEOUT, retries: int = 3):
    """privpi's S3 storage with a client of its own (as separate publishers have); a short
    read timeout makes a held request time out, be retried and then arrive late."""
    return S3Storage(
        S3Config(bucket, endpoint_url=endpoint, read_timeout=read_timeout, attempts=retries + 1)
    )


class S3Backend:
    name = "s3"
    hold = 0.5  # a late request reaches S3 up to this much later, or when the step ends
    grace = 10.0  # index.GRACE for the run: longer than any hold, short enough to reuse names
    episode = 12  # steps on one bucket before a fresh one (deleted names stay deleted a while)
    pause_floor = 0.005  # index.PAUSE_FLOOR: privpi's own

    def __init__(self, endpoint: str, workers: int = 3) -> None:
        self.endpoint, self.workers = endpoint, workers
        self.proxy = FaultProxy(endpoint)
        self.maker = boto3.client("s3", endpoint_url=endpoint)  # makes buckets

    def fresh(self):
        """A new empty bucket: (a storage per worker, through the faults; one without)."""
        self.bucket = f"model-{uuid.uuid4().hex[:12]}"
        self.maker.create_bucket(Bucket=self.bucket)
        # One retry (two attempts): a fault is absorbed once or exhausts the call in two,
        # with the client's back-off paid once instead of three times.
        storages = [
            s3_storage(self.bucket, self.proxy.url, 5.0, RETRIES) for _ in range(self.workers)
        ]
        return storages, s3_storage(self.bucket, self.endpoint, 60)  # no faults: checks, re-runs

    def add_rule(self, method: str, key: str, action: str, **kw):
        path = f"/{self.bucket}$" if method == "LIST" else f"/{key}"
        # The proxy's 503 is S3's SlowDown, which a client backs off from for up to a second
        # (throttling); an error that fails a request is what the model means: a 500.
        action = "500" if action == "503" else action
        return self.proxy.add_rule("GET" if method == "LIST" else method, path, action, **kw)

    def jitter(self, rng: random.Random) -> None:
        rule = self.proxy.add_rule("*", "/", "delay", delay=rng.uniform(0.002, 0.02))
        rule.times, rule.chance, rule.rng = 10**9, 0.3, random.Random(rng.random())

    def rearm(self) -> None:
        self.proxy.rearm()

    def settle(self) -> None:
        """Clear the faults; held and late requests delivered."""
        self.proxy.clear()
        self.proxy.wait_idle()

    def close(self) -> None:
        self.proxy.close()


class FolderBackend:
    name = "folder"
    hold = 0.005  # scaled to a folder's speed (a call: tens of microseconds)
    grace = 0.25  # so that an episode outlives it: deleted names come back within a run
    episode = 40
    pause_floor = 0.0005  # index.PAUSE_FLOOR: a lost race's pause scaled to the folder's speed

    def __init__(self, scratch: Path, workers: int = 3) -> None:
        in_memory = MEMORY.is_dir() and os.access(MEMORY, os.W_OK)
        self.scratch, self.workers = MEMORY if in_memory else scratch, workers
        self.faults = Faults()
        self.root: Path | None = None

    def fresh(self):
        self._remove()
        self.root = Path(tempfile.mkdtemp(prefix="model-", dir=self.scratch))
        direct = FolderStorage(self.root)
        self.storages = [
            FaultyStorage(direct, self.faults, retries=RETRIES) for _ in range(self.workers)
        ]
        return self.storages, direct

    def add_rule(self, method: str, key: str, action: str, **kw):
        return self.faults.add_rule(method, key, AS_STORE_ACTION[action], **kw)

    def jitter(self, rng: random.Random) -> None:
        for storage in self.storages:
            storage.jitter, storage.rng = rng.uniform(0.0002, 0.002), random.Random(rng.random())

    def rearm(self) -> None:
        self.faults.rearm()

    def settle(self) -> None:
        self.faults.clear()
        self.faults.wait_idle()

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        self.faults.clear()
        self.faults.wait_idle()
        self._remove()
