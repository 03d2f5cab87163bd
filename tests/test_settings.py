"""One settings object for the command line and the console, read from the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from privpi.cli import main
from privpi.errors import PrivpiError
from privpi.settings import Settings
from tests.support.distfactory import make_wheel
from webadmin import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_any_variable():
    s = Settings.from_environment({})
    assert s == Settings()
    assert (s.storage, s.realm, s.session_hours) == ("./privpi-data", "privpi", 8.0)
    assert (s.max_upload_bytes, s.max_browser_upload_bytes) == (100 * 2**20, 2**30)


def test_every_variable_is_read():
    s = Settings.from_environment(
        {
            "PRIVPI_STORAGE": "s3://bucket/team",
            "PRIVPI_MAX_UPLOAD_BYTES": "5000",
            "PRIVPI_MAX_BROWSER_UPLOAD_BYTES": "2GiB",
            "PRIVPI_REALM": "team",
            "PRIVPI_SECRET_KEY": "k" * 40,
            "PRIVPI_REPOSITORY_URL": "https://pypi.example.com/simple/",
            "PRIVPI_UPSTREAM_URL": "https://pypi.org/simple",
            "PRIVPI_SESSION_HOURS": "0.5",
            "PRIVPI_SESSION_COOKIE_SECURE": "false",
            "PRIVPI_ADMIN_PASSWORD": "first admin pw",
            "AWS_LAMBDA_FUNCTION_NAME": "privpi-console",
        }
    )
    assert s == Settings(
        storage="s3://bucket/team",
        max_upload_bytes=5000,
        max_browser_upload_bytes=2 * 2**30,
        realm="team",
        secret_key="k" * 40,
        repository_url="https://pypi.example.com/simple/",
        upstream_url="https://pypi.org/simple/",
        session_hours=0.5,
        session_cookie_secure=False,
        admin_password="first admin pw",
        on_lambda=True,
    )


def test_the_former_name_of_the_upload_limit_still_works_and_the_new_one_wins():
    assert Settings.from_environment({"PRIVPI_MAX_UPLOAD_SIZE": "1kB"}).max_upload_bytes == 1000
    both = {"PRIVPI_MAX_UPLOAD_SIZE": "1kB", "PRIVPI_MAX_UPLOAD_BYTES": "2kB"}
    assert Settings.from_environment(both).max_upload_bytes == 2000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRIVPI_MAX_UPLOAD_BYTES", "lots"),
        ("PRIVPI_MAX_UPLOAD_BYTES", "0"),
        ("PRIVPI_MAX_BROWSER_UPLOAD_BYTES", "-5"),
        ("PRIVPI_SESSION_HOURS", "eight"),
        ("PRIVPI_UPSTREAM_URL", "pypi.org/simple/"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(variable, value):
    with pytest.raises(PrivpiError, match=f"^{variable}='{value}' is not a valid value$"):
        Settings.from_environment({variable: value})


def test_the_command_line_takes_its_upload_limit_from_the_settings(
    storage_url, tmp_path, monkeypatch
):
    wheel = make_wheel(tmp_path, "limited", "1.0")
    monkeypatch.setenv("PRIVPI_MAX_UPLOAD_BYTES", "100")
    r = CliRunner().invoke(main, ["--storage", storage_url, "upload", str(wheel)])
    assert r.exit_code == 1
    assert "over the 100-byte size limit" in r.output


def test_the_command_line_names_a_bad_variable_in_one_line(storage_url, monkeypatch):
    monkeypatch.setenv("PRIVPI_MAX_UPLOAD_BYTES", "lots")
    r = CliRunner().invoke(main, ["--storage", storage_url, "projects"])
    assert (r.exit_code, r.output) == (
        1,
        "Error: PRIVPI_MAX_UPLOAD_BYTES='lots' is not a valid value\n",
    )


def test_the_console_asks_for_credentials_in_the_configured_realm(repo, monkeypatch):
    monkeypatch.setenv("PRIVPI_REALM", "team packages")
    app = create_app({"TESTING": True}, repo)
    r = app.test_client().post("/legacy/", data={":action": "file_upload"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="team packages", charset="UTF-8"'


def _reads_the_environment(path: Path) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
    )


# The S3 backend reads AWS's own variables (endpoint, region, credentials, CA bundle), as
# every AWS tool reads them.
READERS = {"privpi/settings.py", "privpi/storage/__init__.py", "privpi/storage/awsenv.py"}


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(ROOT).as_posix()
        for d in ("privpi", "webadmin")
        for p in (ROOT / d).rglob("*.py")
    ),
)
def test_only_the_settings_module_reads_the_environment(path):
    assert _reads_the_environment(ROOT / path) == (path in READERS)
