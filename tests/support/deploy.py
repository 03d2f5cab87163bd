"""Helpers for the deploy tests: a moto server with working change sets, template folders
with stand-ins, and a client factory that records every AWS call deploy makes.

moto's CloudFormation has no CloudFront resources, so the distribution stack runs as a
stand-in (tests/deploy_standins/distribution.yaml, same parameters and outputs) through
the same code path; the bucket and authenticator templates run as they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from privpi.aws.deploy import TEMPLATES
from tests.support.net import moto

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
STANDINS = TESTS / "deploy_standins"
READ_ONLY = ("Describe", "Get", "List", "Head")


@pytest.fixture(scope="module", name="cfn_endpoint")
def cfn_endpoint_fixture():
    """moto (every service) with CloudFormation change sets that refresh outputs."""
    with moto("moto_cfn_server.py", cwd=TESTS) as endpoint:
        yield endpoint


@pytest.fixture(name="aws")
def aws_fixture(cfn_endpoint, monkeypatch):
    """Every boto3 client of the test (and of deploy) talks to the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", cfn_endpoint)
    return cfn_endpoint


def template_dir(tmp_path: Path, **replacements: str) -> Path:
    """The real bucket and authenticator templates, the stand-in distribution, and any
    template given as text (bucket=..., ...) in place of its namesake."""
    folder = tmp_path / "templates"
    folder.mkdir()
    shutil.copy(TEMPLATES / "bucket.yaml", folder)
    shutil.copy(TEMPLATES / "authenticator.yaml", folder)
    shutil.copy(STANDINS / "distribution.yaml", folder)
    for part, text in replacements.items():
        (folder / f"{part}.yaml").write_text(text)
    return folder


class Recorder:
    """The deploy client factory, plus a log of (service, region, operation, params)."""

    def __init__(self):
        self.calls: list[tuple[str, str, str, dict]] = []

    def __call__(self, service: str, region: str):
        client = boto3.client(service, region_name=region)

        def record(model, params, **_):
            self.calls.append((service, region, model.name, dict(params)))

        client.meta.events.register("before-parameter-build.*.*", record)
        return client

    def ops(self, name: str) -> list[tuple[str, dict]]:
        return [(region, params) for _, region, op, params in self.calls if op == name]

    def mutating(self) -> list[str]:
        return [op for _, _, op, _ in self.calls if not op.startswith(READ_ONLY)]


def stack(name: str, region: str):
    """(outputs, parameters) of a deployed stack, read back with a plain boto3 client."""
    cf = boto3.client("cloudformation", region_name=region)
    s = cf.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
    params = {p["ParameterKey"]: p["ParameterValue"] for p in s.get("Parameters", [])}
    return outputs, params
