"""``privpi ARGS`` with a profile of where its time went: one JSON line on stderr at exit.

    python bench/upload_probe.py LAUNCHED ARGS...

LAUNCHED is the parent's ``time.time()`` when it started this process. Phases, in seconds:
``start`` (launch to this script's first line: the interpreter), ``imports`` (what ``privpi
upload`` imports), ``client`` (opening the storage: the S3 client), ``run``
(the command itself), and within it ``requests`` (S3 calls, by operation, with their time),
``conflicts`` (412/409 answers: a lost race), ``pauses`` and ``paused`` (the commit's backoff
sleeps) and ``commit`` (time in the page commits, their retries included).
bench/concurrent_publish.py --profile runs each publisher through it. It observes privpi
from outside (a listener of privpi's S3 client, wrappers around three privpi functions) and changes
nothing it does.
"""

from __future__ import annotations

import sys
import time

LAUNCHED, STARTED = float(sys.argv[1]), time.time()
T0 = time.perf_counter()

import json  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

import privpi.cli  # noqa: E402
import privpi.commands.publish  # noqa: E402
import privpi.publish  # noqa: E402
import privpi.storage.s3  # noqa: E402
from privpi import index  # noqa: E402
from privpi.commands import context  # noqa: E402

IMPORTED = time.perf_counter()
profile: dict[str, Any] = {
    "start": STARTED - LAUNCHED,
    "imports": IMPORTED - T0,
    "client": 0.0,
    "requests": Counter(),
    "request_s": 0.0,
    "conflicts": 0,
    "pauses": 0,
    "paused": 0.0,
    "commit": 0.0,
}


def timed(name: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            profile[name] += time.perf_counter() - start

    return wrapper


def count(call: Any) -> None:
    profile["requests"][call.operation] += 1
    profile["request_s"] += call.seconds
    if call.status in (409, 412):
        profile["conflicts"] += 1


def open_storage(url: str) -> Any:
    start = time.perf_counter()
    storage = OPEN(url)
    profile["client"] += time.perf_counter() - start
    storage.client.listeners.append(count)
    return storage


def pause(*args: Any, **kwargs: Any) -> None:
    profile["pauses"] += 1
    PAUSE(*args, **kwargs)


OPEN, PAUSE = context.open_storage, index.pause
context.open_storage = open_storage
index.pause = timed("paused", pause)
index.commit = timed("commit", index.commit)

code: int | str | None = 0
RUN = time.perf_counter()
try:
    privpi.cli.main(sys.argv[2:])
except SystemExit as e:
    code = e.code
profile["run"] = time.perf_counter() - RUN - profile["client"]
profile["total"] = time.time() - LAUNCHED
print(json.dumps({"code": code, **profile}), file=sys.stderr)
sys.exit(code)
