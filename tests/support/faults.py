"""Fixtures for the fault-injection tests: S3 storage reached through a FaultProxy.

tests/conftest.py registers them for every test module.
boto3's standard retry mode with ``max_attempts: 3`` (privpi/storage/s3.py) means 3
*retries*: 4 attempts per call, each of 500, 503 and a dropped connection retried.
``faultproxy.EXHAUST`` faults in a row fail one storage call; fewer are absorbed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3
import pytest

from privpi.storage import Storage, open_storage
from tests.support.faultproxy import FaultProxy


@dataclass
class Faulty:
    proxy: FaultProxy
    storage: Storage  # through the proxy
    direct: Storage  # the same bucket straight on moto, to inspect without faults
    bucket: str
    env: dict  # environment for a subprocess that should go through the proxy


@pytest.fixture
def fault_proxy(moto_endpoint):
    proxy = FaultProxy(moto_endpoint)
    yield proxy
    proxy.close()


@pytest.fixture
def faulty(fault_proxy, moto_endpoint, monkeypatch) -> Faulty:
    """A fresh bucket; ``faulty.storage`` goes through the proxy, ``.direct`` does not."""
    bucket = f"fault-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    direct = open_storage(f"s3://{bucket}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    through = open_storage(f"s3://{bucket}")
    env = {"AWS_ENDPOINT_URL": fault_proxy.url, "PRIVPI_STORAGE": f"s3://{bucket}"}
    return Faulty(fault_proxy, through, direct, bucket, env)
