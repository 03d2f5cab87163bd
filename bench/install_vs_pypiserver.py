"""pip install of 7 real packages through ``privpi serve`` and through pypiserver, side by side.

    .venv/bin/python bench/install_vs_pypiserver.py [--rounds 5]

Both servers hold the same 7 wheels (downloaded once from PyPI into ~/.cache/privpi-bench)
and require HTTP Basic credentials (privpi: its user store, PBKDF2 100,000 rounds;
pypiserver: an htpasswd file through passlib, here libpass). Each round installs
requests, attrs and six (the other four resolved from the index) into fresh venvs with pip
and with uv, alternating servers; then per-request latency on a keep-alive connection.
Last, ``uv pip compile`` resolves the same set through a byte-counting proxy: privpi
serves PEP 658 metadata, so uv never downloads a wheel to resolve.
Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from passlib.apache import HtpasswdFile

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/x.py``: the repository root on sys.path for tests.support.
sys.path.insert(0, str(ROOT))
from tests.support.net import free_port, wait_for_port  # noqa: E402
from tests.support.serve import isolated_pip_env, make_venv, start_server, stop  # noqa: E402

BIN = Path(sys.executable).parent
CACHE = Path.home() / ".cache" / "privpi-bench"
PINS = [
    "requests==2.32.3",
    "urllib3==2.2.3",
    "idna==3.10",
    "certifi==2024.8.30",
    "charset-normalizer==3.4.0",
    "attrs==24.2.0",
    "six==1.16.0",
]
TOP = ["requests==2.32.3", "attrs==24.2.0", "six==1.16.0"]  # the rest come as dependencies
USER, PASSWORD = "bench", "bench-password-123"
REQUESTS_WHEEL = "requests-2.32.3-py3-none-any.whl"


def download() -> list[Path]:
    """The 7 wheels, fetched from PyPI once (pip's ordinary client, this machine's config off)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for pin in PINS:
        name = pin.split("==")[0].replace("-", "_")
        if not list(CACHE.glob(f"{name}-{pin.split('==')[1]}-*.whl")):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--isolated", "-q", "--no-deps",
                 "--only-binary", ":all:", "-d", str(CACHE), pin],
                env=isolated_pip_env(), check=True, timeout=300,
            )  # fmt: skip
    return sorted(CACHE.glob("*.whl"))


def start_pypiserver(packages: Path, htpasswd: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "--server",
         "auto", "-P", str(htpasswd), "-a", "download,list,update", str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, proc)
    return f"http://127.0.0.1:{port}", proc


def creds_url(base: str) -> str:
    return base.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple/"


def pip_install(python: Path, index: str, report: Path) -> float:
    cmd = [sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "-q",
           "--no-cache-dir", "--no-input", "--keyring-provider", "disabled", "--index-url", index,
           "--report", str(report), *TOP]  # fmt: skip
    t = time.perf_counter()
    r = subprocess.run(cmd, env=isolated_pip_env(), capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t
    if r.returncode:
        raise SystemExit(f"pip install through {index} failed:\n{r.stderr}")
    return elapsed


def check_report(report: Path, wheels: dict[str, str]) -> None:
    """All 7 installed, each with the sha256 of the very file both servers hold."""
    got = {
        i["download_info"]["url"].rsplit("/", 1)[1].split("#")[0]: i["download_info"][
            "archive_info"
        ]["hashes"]["sha256"]
        for i in json.loads(report.read_text())["install"]
    }
    assert got == wheels, (got, wheels)


def uv_install(python: Path, index: str) -> float:
    cmd = [str(BIN / "uv"), "pip", "install", "-q", "--no-config", "--no-cache", "--python",
           str(python), "--index-url", index, *TOP]  # fmt: skip
    t = time.perf_counter()
    r = subprocess.run(cmd, env=isolated_pip_env(), capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise SystemExit(f"uv pip install through {index} failed:\n{r.stderr}")
    return time.perf_counter() - t


def latency(base: str, path: str, n: int = 300) -> tuple[float, float]:
    """p50 and p95 milliseconds of authenticated GETs on one keep-alive connection."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Basic {token}"})
        resp = conn.getresponse()
        resp.read()
        samples.append((time.perf_counter() - t) * 1e3)
        assert resp.status == 200, (base, path, resp.status)
    conn.close()
    samples.sort()
    return samples[n // 2], samples[int(n * 0.95)]


class CountingProxy:
    """A TCP forwarder counting the bytes the server sends to the client."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.bytes = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self.pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, True), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while data := src.recv(65536):
                if count:
                    with self.lock:
                        self.bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def uv_resolve_bytes(base: str) -> tuple[int, str]:
    proxy = CountingProxy(int(base.rsplit(":", 1)[1]))
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy.port}/simple/"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "req.in").write_text("\n".join(TOP) + "\n")
        r = subprocess.run(
            [str(BIN / "uv"), "pip", "compile", "--no-config", "--no-cache", "-q",
             "--python-version", "3.11", "--index-url", url, str(Path(tmp) / "req.in")],
            env=isolated_pip_env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    if r.returncode:
        raise SystemExit(f"uv pip compile failed:\n{r.stderr}")
    time.sleep(0.2)
    return proxy.bytes, r.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    files = download()
    wheels = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    total = sum(p.stat().st_size for p in files)
    print(f"{len(files)} wheels, {total:,} bytes: {', '.join(sorted(wheels))}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = str(tmp / "repo")
        env = {**os.environ, "PRIVPI_ADMIN_PASSWORD": "admin-password-123"}
        subprocess.run([str(BIN / "privpi"), "--storage", repo, "users", "add", USER,
                        "--password-stdin"], input=PASSWORD + "\n", text=True, env=env,
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([str(BIN / "privpi"), "--storage", repo, "upload", *map(str, files)],
                       env=env, check=True, capture_output=True)  # fmt: skip
        htpasswd = HtpasswdFile(str(tmp / "htpasswd"), new=True)  # apr_md5_crypt, like htpasswd
        htpasswd.set_password(USER, PASSWORD)
        htpasswd.save()
        privpi_base, privpi_proc = start_server(repo, env=env)
        pypi_base, pypi_proc = start_pypiserver(CACHE, tmp / "htpasswd")
        try:
            servers = {"privpi serve": privpi_base, "pypiserver": pypi_base}
            times = {(tool, label): [] for tool in ("pip", "uv") for label in servers}
            for n in range(rounds):
                order = list(servers.items())
                for label, base in order if n % 2 == 0 else order[::-1]:  # ABBA: no drift bias
                    python = make_venv(tmp / f"venv-{label.split()[0]}-{n}")
                    report = tmp / "report.json"
                    times["pip", label].append(pip_install(python, creds_url(base), report))
                    check_report(report, wheels)
                    python = make_venv(tmp / f"uvenv-{label.split()[0]}-{n}")
                    times["uv", label].append(uv_install(python, creds_url(base)))
            print(f"\ninstall {' '.join(TOP)} (+4 dependencies), fresh venv, {rounds} rounds:")
            for (tool, label), ts in times.items():
                med, low = statistics.median(ts), min(ts)
                print(f"  {tool:3s} via {label:13s} median {med:6.2f} s   min {low:6.2f} s")
            print("\nauthenticated GET, one keep-alive connection, 300 requests (p50 / p95 ms):")
            paths = {
                "privpi serve": ("/simple/requests/", "/files/requests/" + REQUESTS_WHEEL),
                "pypiserver": ("/simple/requests/", "/packages/" + REQUESTS_WHEEL),
            }
            for label, base in servers.items():
                page, wheel = (latency(base, p) for p in paths[label])
                print(f"  {label:13s} index page {page[0]:5.2f} / {page[1]:5.2f}"
                      f"   wheel {wheel[0]:5.2f} / {wheel[1]:5.2f}")  # fmt: skip
            print("\nuv pip compile (resolution only) of the same set, bytes received:")
            for label, base in (("privpi serve", privpi_base), ("pypiserver", pypi_base)):
                got, out = uv_resolve_bytes(base)
                print(f"  {label:13s} {got:>10,} bytes  ({got / total:.1%} of the wheels' bytes)")
        finally:
            stop(privpi_proc)
            pypi_proc.terminate()
            pypi_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
