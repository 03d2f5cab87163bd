"""The model-based test: random operations racing on S3 under faults keep the invariant.

See tests/support/model.py for the model, the invariant and the scheduler. A run picks
fixed seeds (``PRIVPI_MODEL_SEED=random`` a fresh one) and prints them; replay one with
``PRIVPI_MODEL_SEED=<seed>``. Longer runs:
``bench/model_soak.py --seconds 600``.
"""

from __future__ import annotations

import os
import random

import pytest

from privpi import index
from tests.support.model import GRACE, run_scenarios

# 8 scenarios x 40 steps: 320 schedules of 1-3 racing operations (about 700 operations and
# 200 injected faults). Most of a step is waiting on moto and on boto3's back-off, so the
# scenarios, each on its own bucket, proxy and clients, overlap in threads.
STEPS = int(os.environ.get("PRIVPI_MODEL_STEPS", "40"))  # per scenario
PARALLEL = 8  # scenarios at once, seeds SEED .. SEED+7
# Read at import: the suite's autouse fixture removes PRIVPI_* variables before each test.
# make test runs fixed seeds, so that a red run is a reproducible regression, not a new
# schedule found by chance; PRIVPI_MODEL_SEED=random (and bench/model_soak.py) explore.
SEED = os.environ.get("PRIVPI_MODEL_SEED", "404931583")


@pytest.mark.slow
def test_random_interleavings_under_faults_keep_the_invariant(moto_endpoint, tmp_path, monkeypatch):
    seed = random.randrange(10**9) if SEED == "random" else int(SEED)
    print(f"model seeds {seed}..{seed + PARALLEL - 1} (replay: PRIVPI_MODEL_SEED={seed})")
    monkeypatch.setattr(index, "GRACE", GRACE)
    stats = run_scenarios(seed, moto_endpoint, tmp_path, PARALLEL, lambda s: s["steps"] < STEPS)
    print(f"model seed {seed}: {stats}")
    assert stats["steps"] == STEPS * PARALLEL
    assert stats["racing"] > stats["steps"] // 2
    assert stats["faults"] > stats["steps"] // 4
    assert stats["failed"] > 0
