"""The model-based consistency test for longer: random operations racing under faults.

    .venv/bin/python bench/model_soak.py [--backend s3|folder] [--seconds 600] [--seed N]
                                         [--parallel P]

The same scheduler, model and invariant as tests/test_model_consistency.py (see
tests/support/model.py), on S3 (its own moto server, tests/support/moto_server.py, atomic
conditional writes; a fault proxy per scenario) or on a folder (FaultyStorage: the same
faults at the Storage calls; tests/support/model_backends.py): --parallel scenarios at once
(seeds N, N+1, ...; each its own bucket or folder), step after step until the time is up.
Prints the seed, progress every 30 s and the figures; on a violation it prints the step's
report (with the seed to replay) and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

from privpi import index  # noqa: E402
from tests.support.model import run_scenarios  # noqa: E402
from tests.support.model_backends import FolderBackend, S3Backend  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["s3", "folder"], default="s3")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=None, help="scenarios at once")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # privpi's warnings about injected faults: expected
    parallel = args.parallel or (8 if args.backend == "s3" else 4)
    seed = args.seed if args.seed is not None else random.randrange(10**9)
    print(
        f"{args.backend}: seeds {seed}..{seed + parallel - 1} (replay: --backend "
        f"{args.backend} --seed {seed}), {args.seconds:.0f} s"
    )
    kind = S3Backend if args.backend == "s3" else FolderBackend
    # as in the test: a grace period longer than any hold, short enough to reuse names
    index.GRACE, index.PAUSE_FLOOR = kind.grace, kind.pause_floor
    shown = [time.monotonic()]

    def until(stats: dict) -> bool:
        now = time.monotonic()
        if now - shown[0] >= 30:
            shown[0] = now
            print(f"  {now - start:6.0f} s  a scenario at {stats}", flush=True)
        return now - start < args.seconds

    with tempfile.TemporaryDirectory(prefix="privpi-soak-") as tmp:
        scratch = Path(tmp)
        fake_aws_env(scratch)
        with moto() if args.backend == "s3" else nullcontext() as endpoint:
            if args.backend == "s3":
                backends = [S3Backend(endpoint) for _ in range(parallel)]
            else:
                backends = [FolderBackend(scratch) for _ in range(parallel)]
            start = time.monotonic()
            try:
                stats = run_scenarios(seed, backends, scratch, until)
            except AssertionError as e:
                print(f"VIOLATION:\n{e}")
                return 1
    elapsed = time.monotonic() - start
    print(f"done in {elapsed:.0f} s: {stats}")
    print(
        f"  {stats['steps']} schedules ({stats['steps'] / elapsed:.1f}/s), {stats['ops']} "
        f"operations, {stats['racing']} schedules with operations racing, "
        f"{stats['faults']} faults injected, {stats['failed']} operations failed and run again"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
