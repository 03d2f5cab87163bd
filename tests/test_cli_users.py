"""The ``privpi users`` commands: output, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from privpi.cli import main
from privpi.keys import USERS_KEY

PASSWORD = "a long password here"


@pytest.fixture
def run(storage_url):
    def invoke(*args, input=None):
        return CliRunner().invoke(main, ["--storage", storage_url, *args], input=input)

    return invoke


def test_add_list_passwd_disable_enable_remove(run, storage):
    r = run("users", "add", "alice", "--role", "publisher", "--password-stdin", input=PASSWORD)
    assert (r.exit_code, r.output) == (0, "Added alice (publisher).\n")
    r = run("users", "add", "bob", input=f"{PASSWORD}\n{PASSWORD}\n")  # prompted twice
    assert r.exit_code == 0, r.output
    r = run("users", "list")
    lines = r.output.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "ENABLED", "CREATED", "GRANTS"]
    assert lines[1].split()[:3] == ["alice", "publisher", "yes"]
    assert lines[2].split()[:3] == ["bob", "reader", "yes"]
    assert run("users", "disable", "bob").exit_code == 0
    assert run("users", "list").output.splitlines()[2].split()[:3] == ["bob", "reader", "no"]
    assert run("users", "enable", "bob").exit_code == 0
    r = run("users", "passwd", "bob", "--password-stdin", input="new password 12345\n")
    assert (r.exit_code, r.output) == (0, "Password of bob changed.\n")
    assert run("users", "role", "bob", "--role", "admin").exit_code == 0
    assert run("users", "remove", "alice").output == "Removed alice.\n"
    assert [line.split()[0] for line in run("users", "list").output.splitlines()] == ["NAME", "bob"]


def test_prompt_mismatch_asks_again(run):
    r = run(
        "users", "add", "carol", input=f"{PASSWORD}\nother password!!\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert r.exit_code == 0
    assert "do not match" in r.output


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["users", "add", "x", "--password-stdin"], "short\n", 1, "at least 12 characters"),
        (["users", "add", "a:b", "--password-stdin"], PASSWORD, 1, "may not contain ':'"),
        (["users", "remove", "ghost"], None, 1, "no user named 'ghost'"),
        (["users", "passwd", "ghost", "--password-stdin"], PASSWORD, 1, "no user named 'ghost'"),
        (["users", "add", "x", "--role", "root"], None, 2, "Invalid value for '--role'"),
        (["users", "frobnicate"], None, 2, "No such command"),
    ],
)
def test_errors_are_one_clear_line(run, args, stdin, code, message):
    r = run(*args, input=stdin)
    assert r.exit_code == code
    assert message in r.output
    assert "Traceback" not in r.output


def test_duplicate_user_leaves_store_unchanged(run, storage):
    run("users", "add", "alice", "--password-stdin", input=PASSWORD)
    before = storage.read(USERS_KEY).body
    r = run("users", "add", "alice", "--password-stdin", input=PASSWORD)
    assert (r.exit_code, r.output.strip()) == (1, "Error: a user named 'alice' already exists")
    assert storage.read(USERS_KEY).body == before


def test_corrupt_store_reported_by_cli(run, storage):
    storage.write(USERS_KEY, b"garbage")
    r = run("users", "list")
    assert r.exit_code == 1
    assert "user store config/users.json is corrupt" in r.output
    assert storage.read(USERS_KEY).body == b"garbage"


def cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "privpi", *args], capture_output=True, text=True, **kw
    )


@pytest.mark.slow
def test_real_process_errors_have_no_traceback(tmp_path, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    r = cli("--storage", "s3://missing-bucket-abc", "users", "list")
    assert (r.returncode, r.stderr.strip()) == (
        1,
        "Error: bucket missing-bucket-abc does not exist",
    )
    r = cli("--storage", "gopher://x", "users", "list")
    assert r.returncode == 1
    assert "unknown storage URL scheme 'gopher'" in r.stderr
    r = cli("--storage", str(tmp_path), "users", "list", "--bogus")
    assert r.returncode == 2
    assert "No such option" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow  # a real privpi process
def test_environment_variable_selects_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVPI_STORAGE", str(tmp_path / "envrepo"))
    r = cli("users", "add", "zed", "--password-stdin", input=PASSWORD)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "envrepo" / USERS_KEY).exists()
