"""``privpi tokens`` and ``privpi users grant/ungrant``: output, exit codes, one-line errors."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from privpi.cli import main
from privpi.keys import USERS_KEY
from privpi.users import UserStore

PASSWORD = "a long password here"


@pytest.fixture
def run(folder_storage):
    store = UserStore(folder_storage)
    store.add("alice", PASSWORD, "publisher")
    store.add("rita", PASSWORD, "reader")

    def invoke(*args):
        return CliRunner().invoke(main, ["--storage", folder_storage.url, *args])

    return invoke


def test_create_prints_the_token_once_alone_on_the_last_line(run, folder_storage):
    r = run(
        "tokens",
        "create",
        "alice",
        "--name",
        "ci",
        "--scope",
        "publish",
        "--project",
        "Acme_Lib",
        "--project",
        "other",
        "--expires",
        "30",
    )
    assert r.exit_code == 0, r.output
    *text, token = r.output.splitlines()
    assert token.startswith("privpi_")
    assert " " not in token
    assert "publish token 'ci' for alice (only acme-lib, other, expires 20" in text[0]
    doc = json.loads(folder_storage.read(USERS_KEY).body)
    assert (
        doc["users"]["alice"]["tokens"]["ci"]["sha256"]
        == hashlib.sha256(token.encode()).hexdigest()
    )
    assert token not in run("tokens", "list").output


def test_list_shows_label_scope_projects_created_and_expiry(run):
    run("tokens", "create", "alice", "--name", "ci", "--scope", "publish", "--project", "a")
    run("tokens", "create", "rita", "--name", "laptop", "--expires", "5")
    lines = run("tokens", "list").output.splitlines()
    assert lines[0].split() == ["USER", "LABEL", "SCOPE", "PROJECTS", "CREATED", "EXPIRES"]
    alice, rita = (line.split() for line in lines[1:])
    assert alice[:4] == ["alice", "ci", "publish", "a"]
    assert alice[5] == "never"
    assert rita[:4] == ["rita", "laptop", "read", "*"]
    assert rita[5].startswith("20")
    assert len(run("tokens", "list", "rita").output.splitlines()) == 2


def test_revoke(run):
    run("tokens", "create", "alice", "--name", "ci")
    r = run("tokens", "revoke", "alice", "ci")
    assert (r.exit_code, r.output) == (0, "Revoked token 'ci' of alice.\n")
    assert run("tokens", "list").output.startswith("No tokens.")


def test_grant_and_ungrant(run):
    r = run("users", "grant", "alice", "acme-*")
    assert (r.exit_code, r.output) == (0, "alice may publish projects matching acme-* (acme-*).\n")
    assert run("users", "list").output.splitlines()[1].split()[-1] == "acme-*"
    r = run("users", "ungrant", "alice", "acme-*")
    assert r.exit_code == 0
    assert "may publish every project" in r.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["tokens", "create", "rita", "--scope", "publish"], 1, "rita is a reader"),
        (["tokens", "create", "ghost"], 1, "no user named 'ghost'"),
        (["tokens", "create", "alice", "--scope", "admin"], 2, "Invalid value for '--scope'"),
        (["tokens", "create", "alice", "--expires", "0"], 2, "Invalid value for '--expires'"),
        (["tokens", "create", "alice", "--expires", "99999"], 1, "expires in 1 to 3650 days"),
        (["tokens", "create", "alice", "--name", "a b"], 1, "token label 'a b'"),
        (["tokens", "revoke", "alice", "nope"], 1, "alice has no token labelled 'nope'"),
        (["tokens", "list", "ghost"], 1, "no user named 'ghost'"),
        (["users", "grant", "alice", "a/b"], 1, "grant pattern 'a/b'"),
        (["users", "ungrant", "alice", "x-*"], 1, "alice has no grant 'x-*'"),
    ],
)
def test_errors_are_one_clear_line(run, folder_storage, args, code, message):
    before = folder_storage.read(USERS_KEY).body
    r = run(*args)
    assert r.exit_code == code, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert folder_storage.read(USERS_KEY).body == before
