"""Soak: ``privpi serve`` under many pip-like clients while publishes and user changes go on.

The soak itself (what runs, what counts as lost) is tests/support/soak.py; this prints
its figures.

    .venv/bin/python bench/soak.py [--duration 120] [--clients 50] [--threads 8] [--no-writes]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Run as ``python bench/soak.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.soak import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8, help="privpi serve --threads")
    parser.add_argument("--storage", help="storage URL (default: a fresh temporary folder)")
    parser.add_argument(
        "--no-writes", action="store_true", help="readers only: no publishes or user changes"
    )
    args = parser.parse_args()
    if not 1 <= args.duration <= 1800 or not 1 <= args.clients <= 200:
        parser.error("--duration must be 1..1800 s and --clients 1..200")
    result = run(args.duration, args.clients, args.threads, args.storage, not args.no_writes)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
