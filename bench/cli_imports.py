"""Start-up cost of the command line: import time and ``--help`` wall time of each command.

    .venv/bin/python bench/cli_imports.py [--runs 5] [--bytecode cached|none]

For ``privpi`` itself and each command: the import time of what it loads (``python -X
importtime`` summed over every module the process imports, cumulative at top level) and the
median wall time of ``privpi [COMMAND] --help`` and its median CPU time (user + system); then
the same of ``privpi users list`` on an empty folder. Wall times depend on the machine's load;
the CPU times and the import sums less so. Prints figures, never fails on them.

``--bytecode cached`` (the default) is what an installed privpi sees: pip compiles bytecode at
install and Python caches it on first use, so the bench runs every command once first with a
private PYTHONPYCACHEPREFIX. ``--bytecode none`` measures with PYTHONDONTWRITEBYTECODE as the
calling environment has it: where nothing was compiled (``uv pip install`` without
``--compile-bytecode``), every start compiles each imported module's source again.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def wall(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``argv`` run to completion."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


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
    parser.add_argument("--bytecode", choices=["cached", "none"], default="cached")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRIVPI_", "AWS_"))}
        env["PRIVPI_STORAGE"] = scratch
        if args.bytecode == "cached":
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        rows = [["--help"]] + [[name, "--help"] for name in commands()]
        rows.append(["users", "list"])
        for argv in rows:  # compiles and caches (cached), or warms the file system (none)
            subprocess.run([PRIVPI, *argv], check=True, stdout=subprocess.DEVNULL, env=env)
        print(f"bytecode: {args.bytecode}")
        print(f"{'command':<28}{'imports s':>10}{'modules':>9}{'wall s':>9}{'cpu s':>8}")
        for argv in rows:
            seconds, modules = import_seconds(["-m", "privpi", *argv], env)
            took, cpu = wall([PRIVPI, *argv], args.runs, env)
            print(f"{' '.join(argv):<28}{seconds:>10.3f}{modules:>9}{took:>9.3f}{cpu:>8.3f}")
        took, cpu = wall([sys.executable, "-c", "pass"], args.runs, env)
        print(f"{'(python -c pass)':<28}{'':>10}{'':>9}{took:>9.3f}{cpu:>8.3f}")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
