"""The model-based consistency test for longer: random operations racing on S3 under faults.

    .venv/bin/python bench/model_soak.py [--seconds 600] [--seed N] [--workers 3]

The same scheduler, model and invariant as tests/test_model_consistency.py (see
tests/support/model.py), on its own moto S3 server (tests/support/moto_server.py, atomic
conditional writes) behind the fault proxy, step after step until the time is up. Prints
the seed, progress every 50 steps and the figures; on a violation it prints the step's
report (with the seed to replay) and exits 1.
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
from tests.support.model import GRACE, Scenario  # noqa: E402
from tests.support.net import fake_aws_env, moto  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=3, help="operations at once, at most")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**9)
    print(f"seed {seed} (replay: --seed {seed}), {args.seconds:.0f} s")
    index.GRACE = GRACE  # as in the test: longer than any hold, short enough to reuse names
    with tempfile.TemporaryDirectory(prefix="privpi-soak-") as tmp:
        scratch = Path(tmp)
        fake_aws_env(scratch)
        with moto() as endpoint:
            scenario = Scenario(seed, endpoint, scratch, workers=args.workers)
            start = time.monotonic()
            try:
                while time.monotonic() - start < args.seconds:
                    scenario.step()
                    if scenario.stats["steps"] % 50 == 0:
                        print(f"  {time.monotonic() - start:6.0f} s  {scenario.stats}")
            except AssertionError as e:
                print(f"VIOLATION after {scenario.stats['steps']} steps:\n{e}")
                return 1
            finally:
                scenario.close()
    elapsed = time.monotonic() - start
    stats = scenario.stats
    print(f"done in {elapsed:.0f} s: {stats}")
    print(f"  {stats['steps'] / elapsed:.1f} steps/s, {stats['racing']} with operations racing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
