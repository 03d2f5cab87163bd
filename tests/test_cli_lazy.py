"""The command line loads only what a command uses: the cheap commands start without boto3,
the console's Flask and waitress, the deploy modules, the page renderer (jinja2), the
password hasher or packaging; every command's --help without any of them
(bench/cli_imports.py times them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from privpi.cli import COMMANDS, main

HEAVY = (
    "boto3",
    "botocore",
    "flask",
    "waitress",
    "webadmin",
    "privpi.aws",
    "jinja2",
    "passlib",
    "packaging",
    "privpi.index",
)

# Runs the command line in a fresh interpreter, then prints the heavy modules it imported.
PROBE = """
import json, sys
from privpi.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
loaded = sorted(m for m in sys.modules if m.split('.')[0] in HEAVY or m.startswith(HEAVY))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def loaded_by(tmp_path, *argv: str) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRIVPI_", "AWS_"))}
    env["PRIVPI_STORAGE"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    *output, last = run.stdout.splitlines()
    result = json.loads(last)
    return result["code"], result["loaded"], "\n".join(output)


# Each probe is a fresh interpreter (a fifth of a second of CPU): make test-fast keeps
# `--help` and `users list`, make test runs every command's help too.
@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["users", "list"],
        *(pytest.param([name, "--help"], marks=pytest.mark.slow) for name in sorted(COMMANDS)),
    ],
    ids=" ".join,
)
def test_cheap_commands_and_every_help_load_no_heavy_module(tmp_path, argv):
    code, loaded, output = loaded_by(tmp_path, *argv)
    assert code == 0, output
    assert output  # the command did its work: the help text, or "No users yet..."
    assert loaded == []


def test_users_list_lists_without_the_hasher_or_packaging(tmp_path):
    add = ["--storage", str(tmp_path), "users", "add", "alice", "--password-stdin"]
    added = CliRunner().invoke(main, add, input="a long password here\n")
    assert added.exit_code == 0, added.output
    code, loaded, output = loaded_by(tmp_path, "users", "list")
    assert code == 0, output
    assert "alice" in output
    assert loaded == []


def test_the_probe_sees_what_a_command_loads(tmp_path):
    code, loaded, output = loaded_by(tmp_path, "claims")
    assert code == 0, output
    assert "Nothing is claimed" in output
    assert "privpi.index" in loaded
    assert "jinja2" in loaded


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_command_loads_under_its_name_with_its_help_line(name):
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert command.name == name
    assert COMMANDS[name][2] == command.get_short_help_str(limit=1000)


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output
