"""The model-based consistency test for longer: random operations racing on S3 under faults.

    .venv/bin/python bench/model_soak.py [--seconds 600] [--seed N] [--parallel 8]

The same scheduler, model and invariant as tests/test_model_consistency.py (see
tests/support/model.py), on its own moto S3 server (tests/support/moto_server.py, atomic
conditional writes): --parallel scenarios at once (seeds N, N+1, ...; each its own bucket,
fault proxy and clients), step after step until the time is up. Prints the seed, progress
every 30 s and the figures; on a violation it prints the step's report (with the seed to
replay) and exits 1.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

from privpi import index  # noqa: E402
from tests.support.model import GRACE, run_scenarios  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=8, help="scenarios at once")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**9)
    print(f"seeds {seed}..{seed + args.parallel - 1} (replay: --seed {seed}), {args.seconds:.0f} s")
    index.GRACE = GRACE  # as in the test: longer than any hold, short enough to reuse names
    start = time.monotonic()
    shown = [start]

    def until(stats: dict) -> bool:
        now = time.monotonic()
        if now - shown[0] >= 30:
            shown[0] = now
            print(f"  {now - start:6.0f} s  a scenario at {stats}", flush=True)
        return now - start < args.seconds

    with tempfile.TemporaryDirectory(prefix="privpi-soak-") as tmp:
        scratch = Path(tmp)
        fake_aws_env(scratch)
        with moto() as endpoint:
            start = time.monotonic()
            try:
                stats = run_scenarios(seed, endpoint, scratch, args.parallel, until)
            except AssertionError as e:
                print(f"VIOLATION:\n{e}")
                return 1
    elapsed = time.monotonic() - start
    print(f"done in {elapsed:.0f} s: {stats}")
    print(
        f"  {stats['steps'] / elapsed:.1f} schedules/s, {stats['ops'] / elapsed:.1f} operations/s, "
        f"{stats['racing']} schedules with operations racing, {stats['faults']} faults injected"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
