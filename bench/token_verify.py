"""Token against password verification at the authenticator, cold and warm, in microseconds.

    .venv/bin/python bench/token_verify.py [--users 1000] [--held]

Prints figures; never passes or fails. The store holds ``--users`` users with one token
each. "Cold" is the first check after the store was read (a fresh cache: the password
runs PBKDF2 at the production rounds, the token one SHA-256 and a dict lookup in the
index built at load); "warm" is the same check again (the password a verified-credential
cache hit). The index build, paid once per store read, is printed too. ``--held`` runs it
again held to what Lambda@Edge gives at 128 MB (7.2 % of one CPU; bench/edge_coldstart.py's
cgroup, needs root).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from passlib.hash import pbkdf2_sha256

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as python bench/x.py

from edge_coldstart import CPU_SHARE, MEMORY, Cgroup

from edge.userstore import UserCache, index_tokens
from privpi import tokens
from privpi.settings import DEFAULT_PBKDF2_ROUNDS

PASSWORD = "a-long-enough-password"


class Source:
    def __init__(self, body: bytes):
        self.body = body

    def fetch(self, etag):
        return None if etag == '"1"' else (self.body, '"1"')


def store(users: int) -> tuple[bytes, str]:
    """A version-2 store: user-0 has the real password; every user has one token."""
    real = pbkdf2_sha256.using(rounds=DEFAULT_PBKDF2_ROUNDS).hash(PASSWORD)
    doc, last = {"version": 2, "users": {}}, ""
    for i in range(users):
        last = tokens.new_token()
        tok = {"sha256": hashlib.sha256(last.encode()).hexdigest(), "scope": "read",
               "projects": None, "created": "2026-01-01T00:00:00Z", "expires": None}  # fmt: skip
        doc["users"][f"user-{i}"] = {"hash": real, "roles": ["reader"], "enabled": True,
                                     "tokens": {"ci": tok}}  # fmt: skip
    return json.dumps(doc).encode(), last


def micros(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def cold(body: bytes, user: str, secret: str, runs: int) -> float:
    """Median time of the first check of a freshly loaded cache."""
    times = []
    for _ in range(runs):
        cache = UserCache(Source(body))
        cache.prime()  # the store read and the token index: outside the timing
        t = time.perf_counter()
        assert cache.access(user, secret) is not None
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def warm(body: bytes, user: str, secret: str, runs: int) -> float:
    cache = UserCache(Source(body))
    cache.prime()
    assert cache.access(user, secret) is not None
    t = time.perf_counter()
    for _ in range(runs):
        cache.access(user, secret)
    return (time.perf_counter() - t) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--held", action="store_true", help="Also run held to Lambda's share.")
    args = parser.parse_args()
    measure(args.users)
    if args.held:
        held(args.users)


def held(users: int) -> None:
    cgroup = Cgroup(CPU_SHARE, MEMORY)
    try:
        print(f"\nheld: {cgroup.limits} ({CPU_SHARE:.1%} of one CPU)", flush=True)
        cmd = [sys.executable, __file__, "--users", str(users)]
        subprocess.run(cmd, check=True, preexec_fn=cgroup.enter)
    finally:
        cgroup.remove()


def measure(users_count: int) -> None:
    body, secret = store(users_count)
    users = json.loads(body)["users"]
    t = time.perf_counter()
    index_tokens(users)
    build = time.perf_counter() - t
    print(f"store: {users_count} users, one token each; PBKDF2 rounds {DEFAULT_PBKDF2_ROUNDS:,}")
    print(f"token index build (once per store read): {micros(build)}")
    print(f"{'':10}{'cold':>16}{'warm':>16}")
    rows = [
        ("token", cold(body, "__token__", secret, 200), warm(body, "__token__", secret, 20000)),
        ("password", cold(body, "user-0", PASSWORD, 5), warm(body, "user-0", PASSWORD, 20000)),
    ]
    for name, c, w in rows:
        print(f"{name:10}{micros(c):>16}{micros(w):>16}")


if __name__ == "__main__":
    main()
