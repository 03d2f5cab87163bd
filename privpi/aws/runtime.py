"""The one Python runtime privpi runs on in AWS: the console (Zappa) and the authenticator.

python3.13: Lambda deprecates it on 30 June 2029 and blocks creating functions with it from
31 July 2029, the latest dates of the Python runtimes Lambda@Edge accepts today; python3.11
was deprecated on 30 June 2026 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
The authenticator template names it literally (so cfn-lint can check it) and
``zappa_settings.json`` holds it for Zappa; tests/test_runtime.py fails when either names
another, and ``privpi deploy`` writes it into the console's settings.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys

LAMBDA_PYTHON = "python3.13"
VERSION = tuple(int(n) for n in LAMBDA_PYTHON.removeprefix("python").split("."))


def local_python(version: tuple[int, ...] = VERSION) -> tuple[str, bool]:
    """An interpreter of this machine for the runtime: (path, exact). Without one of that
    version, the closest one (the running Python if nothing is closer), exact False."""
    if sys.version_info[:2] == version:
        return sys.executable, True
    found: dict[int, str] = {}  # minor version -> interpreter
    for path in [
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))),
        *(shutil.which(f"python3.{minor}") for minor in range(8, 20)),
    ]:
        minor = _minor(path)
        if path is not None and minor is not None:
            found.setdefault(minor, path)
    found.setdefault(sys.version_info[1], sys.executable)
    best = min(found, key=lambda m: (abs(m - version[1]), -m))
    return found[best], best == version[1]


def _minor(path: str | None) -> int | None:
    """The minor version of a Python 3 executable, from its real file name (python3.N)."""
    if not path or "/shims/" in path or not os.access(path, os.X_OK):
        return None  # a pyenv shim may refuse to run a version that is not selected
    name = os.path.basename(os.path.realpath(path))
    if not name.startswith("python3.") or not name[8:].isdigit():
        return None
    return int(name[8:])
