"""``zappa package production`` from requirements.txt alone: a fresh virtualenv gets exactly
requirements.txt (and zappa to run it), the zip stays under Lambda's 50 MB, holds only the
console's code, and its handler serves the console's sign-in page with nothing but the zip
on sys.path."""

from __future__ import annotations

import importlib.metadata
import json
import os
import secrets
import subprocess
import zipfile
from pathlib import Path

import pytest

from privpi.aws.runtime import LAMBDA_PYTHON, local_python

REPO = Path(__file__).resolve().parent.parent
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024

# Runs with `python -S`: no site-packages, so every import comes from the extracted zip.
INVOKE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import handler
import readme_renderer.rst  # docutils is in the package although Zappa leaves it out
event = {
    "httpMethod": "GET", "path": "/login", "resource": "/{proxy+}",
    "headers": {"Host": "abc.execute-api.eu-west-1.amazonaws.com", "Accept": "text/html"},
    "multiValueHeaders": {}, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": {"proxy": "login"},
    "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"stage": "production", "httpMethod": "GET", "path": "/production/login",
                       "identity": {"sourceIp": "127.0.0.1"}, "resourcePath": "/{proxy+}"},
}
response = handler.lambda_handler(event, None)
import webadmin
print(json.dumps({"status": response["statusCode"], "body": response["body"],
                  "webadmin": webadmin.__file__}))
"""


def clean_env(**extra: str) -> dict[str, str]:
    """No PIP_*/UV_*/VIRTUAL_ENV/PYTHON* from outside: the venv sees requirements.txt alone."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def console_zip(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("zappa")
    venv = tmp / "venv"
    python, exact = local_python()
    # Zappa copies the compiled packages of the Python it runs in: that must be the runtime's.
    assert exact, f"packaging the console needs {LAMBDA_PYTHON} on this machine"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    zappa = f"zappa=={importlib.metadata.version('zappa')}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--isolated", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "-q", "-r", str(REPO / "requirements.txt"), zappa],
        check=True,
        timeout=600,
        env=clean_env(),
    )
    out = tmp / "console.zip"
    env = clean_env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    res = subprocess.run(
        [str(venv / "bin" / "zappa"), "package", "production", "-o", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return out, venv / "bin" / "python"


@pytest.mark.slow
def test_package_is_under_the_lambda_limit_and_holds_only_the_console(console_zip):
    console_zip, _ = console_zip
    size = console_zip.stat().st_size
    print(f"zappa package production: {size / 1024 / 1024:.1f} MiB")
    assert size < LAMBDA_ZIP_LIMIT
    names = zipfile.ZipFile(console_zip).namelist()
    for needed in (
        "handler.py",
        "zappa_settings.py",
        "webadmin/wsgi.py",
        "webadmin/templates/base.html",
        "privpi/storage/s3.py",
        "flask/__init__.py",
        "flask_login/__init__.py",
        "flask_wtf/__init__.py",
        "wtforms/__init__.py",
        "passlib/__init__.py",
        "readme_renderer/__init__.py",
        "docutils/__init__.py",
    ):
        assert needed in names, needed
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"tests", "bench", "cloudformation", "edge", ".venv", ".git", ".ci"}
    assert not [n for n in names if n.endswith(".pyc") or "/tests/" in f"/{n}"]


@pytest.mark.slow
def test_handler_imports_the_app_and_serves_the_sign_in_page(console_zip, tmp_path):
    console_zip, python = console_zip  # the runtime's Python, as in Lambda
    extracted = tmp_path / "lambda"
    zipfile.ZipFile(console_zip).extractall(extracted)
    settings = (extracted / "zappa_settings.py").read_text()
    assert "APP_MODULE='webadmin.wsgi'" in settings
    assert "APP_FUNCTION='app'" in settings
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PRIVPI_SECRET_KEY": secrets.token_hex(32),
    }
    res = subprocess.run(
        [str(python), "-S", "-c", INVOKE, str(extracted)],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    answer = json.loads(res.stdout.strip().splitlines()[-1])
    assert answer["webadmin"].startswith(str(extracted))
    assert answer["status"] == 200
    assert "Sign in" in answer["body"]
