"""Shared fixtures: fresh storage per test on both backends, a moto S3 server over HTTP."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest
from hypothesis import settings

# Before the first import of a support module: pytest rewrites its asserts too (clear
# failure messages).
pytest.register_assert_rewrite("tests.support")

from privpi.storage import FolderStorage, open_storage  # noqa: E402
from tests.support.examples import PROFILES  # noqa: E402
from tests.support.net import moto  # noqa: E402
from tests.support.serve import TEST_ROUNDS  # noqa: E402

# Fixtures that live next to their helpers, available to every test module, and the hook
# that leaves out modules -m rules out whole (tests/support/selection.py).
pytest_plugins = (
    "tests.support.console",
    "tests.support.deploy",
    "tests.support.faults",
    "tests.support.publish",
    "tests.support.selection",
)

# Hypothesis: `ci` unless `--hypothesis-profile=fast` (make test-fast) picks the small one.
for _name, _count in PROFILES.items():
    settings.register_profile(_name, max_examples=_count)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's AWS setup or storage; fake credentials for moto."""
    for var in list(os.environ):
        if var.startswith(("AWS_", "PRIVPI_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("PRIVPI_PBKDF2_ROUNDS", TEST_ROUNDS)


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto S3 server on a free loopback port, for the whole session."""
    with moto("moto_server.py") as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch):
    """A fresh bucket on the moto server; AWS_ENDPOINT_URL points boto3 (and children) at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def folder_storage(tmp_path) -> FolderStorage:
    return FolderStorage(tmp_path / "repo")


@pytest.fixture
def s3_storage(s3_bucket):
    return open_storage(f"s3://{s3_bucket}")


@pytest.fixture(params=["folder", "s3"])
def storage(request, tmp_path):
    """The same test against both backends."""
    if request.param == "folder":
        return request.getfixturevalue("folder_storage")
    return request.getfixturevalue("s3_storage")


@pytest.fixture
def storage_url(storage) -> str:
    return storage.url
