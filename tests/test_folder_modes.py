"""Folder storage keeps the private keys private: config/ 0700, its files 0600, and a
stricter mode the owner set survives the next rewrite."""

from __future__ import annotations

import os

from privpi.storage import FolderStorage
from privpi.users import UserStore


def mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_user_store_is_created_private(tmp_path):
    UserStore(FolderStorage(tmp_path / "repo")).add("alice", "correct horse battery", "admin")
    assert mode(tmp_path / "repo" / "config") == 0o700
    assert mode(tmp_path / "repo" / "config" / "users.json") == 0o600


def test_served_files_stay_readable(tmp_path):
    FolderStorage(tmp_path / "repo").write("packages/simple/index.html", b"<html></html>")
    assert mode(tmp_path / "repo" / "packages" / "simple" / "index.html") == 0o644


def test_a_stricter_mode_survives_a_rewrite(tmp_path):
    storage = FolderStorage(tmp_path / "repo")
    UserStore(storage).add("carol", "correct horse battery", "admin")
    users = tmp_path / "repo" / "config" / "users.json"
    os.chmod(users, 0o644)  # an older privpi's mode: the next rewrite tightens it
    UserStore(storage).add("alice", "correct horse battery", "admin")
    assert mode(users) == 0o600
    os.chmod(users, 0o400)  # the owner's choice: stricter than ours, kept
    UserStore(storage).add("bob", "correct horse battery", "reader")
    assert mode(users) == 0o400
