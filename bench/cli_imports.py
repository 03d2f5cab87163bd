"""Start-up cost of the command line: import time and ``--help`` wall time of each command.

    .venv/bin/python bench/cli_imports.py [--runs 5]

For ``privpi`` itself and each command: the import time of what it loads (``python -X
importtime`` summed over every module the process imports, cumulative at top level) and the
median wall time of ``privpi [COMMAND] --help``; then the wall time of ``privpi users list``
on an empty folder. Wall times depend on the machine's load; the import sums less so. Prints
figures, never fails on them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from privpi.cli import main as privpi  # the static command list: no command module loads

ROOT = Path(__file__).resolve().parent.parent
PRIVPI = str(Path(sys.executable).with_name("privpi"))


def wall(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Median seconds of ``argv`` run to completion, output discarded."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_seconds(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds of imports (top-level cumulative sums of -X importtime) and modules imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    total, count = 0, 0
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        count += 1
        if not name.startswith("  "):  # depth 0 (one space after '|'): not counted twice
            total += int(cumulative)
    return total / 1e6, count


def commands() -> list[str]:
    return privpi.list_commands(click.Context(privpi))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="wall-time runs (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRIVPI_", "AWS_"))}
        env["PRIVPI_STORAGE"] = scratch
        print(f"{'command':<28}{'imports s':>10}{'modules':>9}{'wall s':>9}")
        rows = [["--help"]] + [[name, "--help"] for name in commands()]
        rows.append(["users", "list"])
        for argv in rows:
            seconds, modules = import_seconds(["-m", "privpi", *argv], env)
            took = wall([PRIVPI, *argv], args.runs, env)
            print(f"{' '.join(argv):<28}{seconds:>10.3f}{modules:>9}{took:>9.3f}")
        baseline = wall([sys.executable, "-c", "pass"], args.runs, env)
        print(f"{'(python -c pass)':<28}{'':>10}{'':>9}{baseline:>9.3f}")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
