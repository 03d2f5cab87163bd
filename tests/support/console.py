"""Helpers for the console tests: a console over fresh folder storage with one user per
role, a client signed in as any of them, and CSRF tokens read from the pages themselves."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from privpi import keys
from privpi.storage import FolderStorage
from privpi.users import UserStore
from tests.support.distfactory import wheel_filename
from webadmin import create_app

PASSWORD = "correct horse battery"
ROLES = ("reader", "publisher", "admin")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the whole test process. Each test makes its own
    app, whose fresh Jinja environment would otherwise compile every template it renders
    again: that was most of a console test's time. Jinja checks each template's source
    before reusing its code, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def make_console(storage, **config):
    app = create_app({"TESTING": True, "SECRET_KEY": "tests-" + "k" * 40, **config}, storage)
    app.jinja_env.bytecode_cache = COMPILED
    return app


def seed_users(storage) -> None:
    store = UserStore(storage, actor="tests")
    for role in ROLES:
        store.add(role, PASSWORD, role)


def csrf_token(client, path: str | None = None) -> str:
    """A token for this client's session, from path (default: a page with a form)."""
    page = client.get(path or "/login")
    if path is None and page.status_code == 302:  # signed in: /login redirects
        page = client.get("/logout")
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")  # signed-in clients sign in again from a new one
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def post(client, path: str, data: dict | None = None, token_from: str | None = None):
    """A POST carrying a valid CSRF token of this client's session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)})


def text(response) -> str:
    return response.get_data(as_text=True)


def snapshot(storage) -> dict:
    """Everything in storage except the audit log and the console's own summaries (a view
    renders one on first sight): to assert that nothing changed."""
    skip = ("config/audit/", keys.CONSOLE)
    return {info.key: info.etag for info in storage.list("") if not info.key.startswith(skip)}


@pytest.fixture(name="repo")
def repo_fixture(tmp_path) -> FolderStorage:
    storage = FolderStorage(Path(tmp_path) / "repo")
    seed_users(storage)
    return storage


@pytest.fixture(name="app")
def app_fixture(repo):
    return make_console(repo)


@pytest.fixture(name="client")
def client_fixture(app):
    return app.test_client()


@pytest.fixture(name="as_role")
def as_role_fixture(app):
    """as_role("admin") -> a test client signed in as the admin."""

    def sign_in(role: str | None):
        c = app.test_client()
        if role:
            assert login(c, role).status_code == 303
        return c

    return sign_in


def seed_root_index(storage, names) -> None:
    """A root index listing names, written directly (projects pages are not needed)."""
    doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
    storage.write(keys.ROOT_JSON, json.dumps(doc).encode(), content_type=keys.JSON_TYPE)


def wheel_with_metadata(directory: Path, name: str, version: str, headers: dict, body: str):
    """A real wheel whose METADATA carries the given headers and description body."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"{k}: {v}" for k, v in headers.items()]
    files = {
        f"{module}/__init__.py": b"",
        f"{dist_info}/METADATA": ("\n".join(meta) + "\n\n" + body).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{dist_info}/RECORD"] = ("\n".join(record + [f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = Path(directory) / wheel_filename(name, version)
    with zipfile.ZipFile(path, "w") as zf:
        for p, data in files.items():
            zf.writestr(p, data)
    return path
