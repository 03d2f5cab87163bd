"""The authenticator's cold start sized like Lambda@Edge: 128 MB, 7.2 % of one CPU.

    .venv/bin/python bench/edge_coldstart.py [--rounds N] [--runs 3] [--warm 300]

Builds the zip ``privpi edge build`` writes, unpacks it, and runs it in the Python the
template names (privpi/aws/runtime.py; the closest one on this machine if that one is
missing, said in the output) against a moto S3 server of its own: once unconstrained, once
inside a Linux cgroup holding the process to 7.2 % of one CPU and 128 MB, which is what a
128 MB function gets (Lambda gives a full vCPU at 1,769 MB:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Prints, side by
side: init (process start to handler imported, which includes the store read: the handler
does it at import time), the first request (one PBKDF2 at the store's rounds), warm p50/p99,
and the PBKDF2 rounds that would fill the rest of a 2.5 s budget (half the 5 s viewer-request
limit). Figures only, never pass/fail. Needs root for the cgroup; says so when it cannot.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from passlib.hash import pbkdf2_sha256  # noqa: E402

from privpi.aws.edgebuild import build_zip  # noqa: E402
from privpi.aws.runtime import LAMBDA_PYTHON, local_python  # noqa: E402
from privpi.keys import USERS_KEY  # noqa: E402
from privpi.settings import DEFAULT_PBKDF2_ROUNDS  # noqa: E402
from tests.support.net import FAKE_AWS, moto  # noqa: E402

CPU_SHARE = 128 / 1769  # 7.2 %: Lambda's CPU grows with memory, one vCPU at 1,769 MB
MEMORY = 128 * 1024 * 1024
PERIOD_US = 100_000
BUDGET = 2.5  # seconds for init + first request: half the 5 s viewer-request limit
REGION = "eu-west-1"
PASSWORD = "a-long-enough-password"

# Runs in the function's Python with nothing but the unpacked zip: -I -S, no site-packages.
PROBE = r"""
import json, sys, time
started = time.time()
unpacked, event_file, warm = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, unpacked)
import viewer_request
imported, cpu_imported = time.time(), time.process_time()
text = open(event_file).read()
answer = viewer_request.handler(json.loads(text))
first, cpu_first = time.time(), time.process_time()
assert answer.get("uri", "").startswith("/packages/"), answer
events = [json.loads(text) for _ in range(warm)]
samples = []
for event in events:
    t = time.perf_counter()
    viewer_request.handler(event)
    samples.append(time.perf_counter() - t)
print(json.dumps({"started": started, "imported": imported, "first": first, "warm": samples,
                  "cpu_imported": cpu_imported, "cpu_first": cpu_first}))
"""


class Cgroup:
    """A cgroup holding a process to a CPU share and a memory limit (v2 or v1)."""

    def __init__(self, cpu_share: float, memory: int):
        self.name = f"privpi-bench-{os.getpid()}"
        self.dirs: list[Path] = []
        self.procs: list[Path] = []
        try:
            self._create(int(PERIOD_US * cpu_share), memory)
        except OSError:
            self.remove()  # whatever part was made
            raise

    def _create(self, quota: int, memory: int) -> None:
        v2 = Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").exists():
            self.kind = "v2"
            (v2 / "cgroup.subtree_control").write_text("+cpu +memory")
            self._make(v2, {"cpu.max": f"{quota} {PERIOD_US}", "memory.max": str(memory)})
            self.peak = v2 / self.name / "memory.peak"
        else:
            self.kind = "v1"
            self._make(
                v2 / "cpu", {"cpu.cfs_period_us": str(PERIOD_US), "cpu.cfs_quota_us": str(quota)}
            )
            self._make(v2 / "memory", {"memory.limit_in_bytes": str(memory)})
            self.peak = v2 / "memory" / self.name / "memory.max_usage_in_bytes"
        self.limits = f"cgroup {self.kind}: {quota} us per {PERIOD_US} us, {memory >> 20} MB"

    def _make(self, root: Path, settings: dict[str, str]) -> None:
        path = root / self.name
        path.mkdir()
        self.dirs.append(path)
        for name, value in settings.items():
            (path / name).write_text(value)
        self.procs.append(path / "cgroup.procs")

    def enter(self) -> None:
        """In the child between fork and exec: the interpreter starts already limited."""
        for procs in self.procs:
            procs.write_text(str(os.getpid()))

    def peak_mb(self) -> str:
        try:
            return f"{int(self.peak.read_text()) / 2**20:.0f} MB"
        except (OSError, ValueError):
            return "n/a"

    def remove(self) -> None:
        for path in reversed(self.dirs):
            for _ in range(50):  # the exited process may take a moment to leave
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def store_and_event(endpoint: str, rounds: int, tmp: Path) -> tuple[str, Path]:
    """A bucket with a one-user store hashed at ``rounds``; a request event with its password."""
    bucket = f"coldstart-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **_keys())
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    digest = pbkdf2_sha256.using(rounds=rounds).hash(PASSWORD)
    user = {"hash": digest, "roles": ["reader"], "enabled": True}
    s3.put_object(
        Bucket=bucket, Key=USERS_KEY, Body=json.dumps({"version": 1, "users": {"alice": user}})
    )
    auth = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    headers = {
        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
        "authorization": [{"key": "Authorization", "value": auth}],
    }
    request = {"clientIp": "203.0.113.178", "headers": headers, "method": "GET",
               "querystring": "", "uri": "/simple/some-project/"}  # fmt: skip
    event = tmp / "event.json"
    event.write_text(json.dumps({"Records": [{"cf": {"request": request}}]}))
    return bucket, event


def _keys() -> dict:
    return {"aws_access_key_id": FAKE_AWS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_AWS["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip


def run_once(python: str, unpacked: Path, event: Path, endpoint: str, warm: int, cgroup=None):
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": endpoint, **FAKE_AWS}
    spawned = time.time()
    proc = subprocess.run(
        [python, "-I", "-S", "-c", PROBE, str(unpacked), str(event), str(warm)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=cgroup.enter if cgroup else None,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the handler failed:\n{proc.stderr}")
    out = json.loads(proc.stdout)
    warm_ms = sorted(s * 1e3 for s in out["warm"])
    return {
        "interpreter start": out["started"] - spawned,
        "init (start to imported)": out["imported"] - spawned,
        "first request": out["first"] - out["imported"],
        "init + first request": out["first"] - spawned,
        "CPU s: init": out["cpu_imported"],
        "CPU s: first request": out["cpu_first"] - out["cpu_imported"],
        "warm p50 (ms)": warm_ms[len(warm_ms) // 2],
        "warm p99 (ms)": warm_ms[int(len(warm_ms) * 0.99)],
    }


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def timed(python: str, setup: str, work: str, cgroup=None) -> float:
    """CPU seconds one statement takes in a fresh interpreter (held to the cgroup if given)."""
    code = f"{setup}\nimport time\nt = time.process_time()\n{work}\nprint(time.process_time() - t)"
    out = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True,
                         check=True, preexec_fn=cgroup.enter if cgroup else None)  # fmt: skip
    return float(out.stdout)


EXTRAS = {  # what the runs against moto (plain HTTP) leave out, and the cost of rounds
    "CPU s: PBKDF2 100,000 rounds": (
        "import hashlib",
        "hashlib.pbkdf2_hmac('sha256', b'x' * 20, b's' * 16, 100_000)",
    ),
    "CPU s: TLS context*": ("import ssl", "ssl.create_default_context()"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rounds", type=int, default=DEFAULT_PBKDF2_ROUNDS, help="PBKDF2 rounds of the store"
    )
    ap.add_argument("--runs", type=int, default=3, help="cold starts per setting (median shown)")
    ap.add_argument("--warm", type=int, default=300, help="warm requests per cold start")
    args = ap.parse_args()

    python, exact = local_python()
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    print(f"runtime: {LAMBDA_PYTHON} (privpi/aws/runtime.py)")
    if exact:
        print(f"python:  {python} ({version})")
    else:
        print(f"python:  {python} ({version}): {LAMBDA_PYTHON} is not on this machine, "
              "this is the closest one")  # fmt: skip
    try:
        cgroup = Cgroup(CPU_SHARE, MEMORY)
        print(f"limits:  {cgroup.limits} ({CPU_SHARE:.1%} of one CPU)")
    except OSError as e:
        cgroup = None
        print(f"limits:  CANNOT CREATE A CGROUP ({e}): only the unconstrained run is shown")

    try:
        free, held = measure(args, python, cgroup)
        peak = cgroup.peak_mb() if held else ""  # before the cgroup goes
    finally:
        if cgroup:
            cgroup.remove()
    report(args, free, held, peak)


def measure(args, python: str, cgroup) -> tuple[dict, dict | None]:
    """Median figures of the unconstrained runs and, with a cgroup, of the held ones."""
    with tempfile.TemporaryDirectory(prefix="privpi-coldstart-") as tmp, moto() as endpoint:
        tmp = Path(tmp)
        bucket, event = store_and_event(endpoint, args.rounds, tmp)
        data = build_zip(bucket, REGION)
        zipfile.ZipFile(io.BytesIO(data)).extractall(tmp / "zip")
        print(f"zip:     {len(data):,} bytes; store hashed at {args.rounds:,} PBKDF2 rounds")
        runs = []
        for held_to in [None, cgroup] if cgroup else [None]:
            cold = [run_once(python, tmp / "zip", event, endpoint, args.warm, held_to)
                    for _ in range(args.runs)]  # fmt: skip
            extra = {k: timed(python, *v, held_to) for k, v in EXTRAS.items()}
            runs.append(median_of(cold) | extra)
    return runs[0], (runs[1] if cgroup else None)


def report(args, free: dict, held: dict | None, peak: str) -> None:
    label = f"{CPU_SHARE:.1%} CPU, 128 MB"
    print(f"\nmedian of {args.runs} cold starts, {args.warm} warm requests each (seconds)")
    print(f"{'':30}{'unconstrained':>14}{label:>20}{'CPU s / ' + f'{CPU_SHARE:.1%}':>16}")
    for key, value in free.items():
        other = f"{held[key]:.3f}" if held else "n/a"
        projected = f"{value / CPU_SHARE:.3f}" if key.startswith("CPU s") else ""
        print(f"{key:30}{value:>14.3f}{other:>20}{projected:>16}")
    print(f"{'memory peak':30}{'':>14}{peak:>20}")
    print("* the real endpoint is HTTPS: Lambda's init adds this (moto here is plain HTTP)")
    print("Wall times on a busy host include waiting for other processes; CPU time does not,")
    print(f"and CPU time / {CPU_SHARE:.1%} is the wall time a 128 MB function would take.")
    cpu = held or free  # the held run's CPU time when there is one
    cpu_init = cpu["CPU s: init"] + cpu["CPU s: TLS context*"]
    total = (cpu_init + cpu["CPU s: first request"]) / CPU_SHARE
    fit = (BUDGET * CPU_SHARE - cpu_init) / cpu["CPU s: PBKDF2 100,000 rounds"] * 100_000
    print(f"\ngoal: init + first request <= {BUDGET} s at {label}")
    print(f"projected (TLS included) at {args.rounds:,} rounds: {total:.2f} s")
    print(f"PBKDF2 rounds that fill the rest of the {BUDGET} s budget: about {int(fit):,}")


if __name__ == "__main__":
    main()
