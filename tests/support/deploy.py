"""Helpers for the deploy tests: a moto server with working change sets, template folders
with stand-ins, and a client factory that records every AWS call deploy makes.

moto's CloudFormation has no CloudFront resources, so the distribution stack runs as a
stand-in (tests/deploy_standins/distribution.yaml, same parameters and outputs) through
the same code path; the bucket and authenticator templates run as they are.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import boto3
import pytest

from privpi.aws import deploy as core
from privpi.aws.deploy import TEMPLATES
from privpi.commands.deploy import run
from tests.support.net import moto

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
STANDINS = TESTS / "deploy_standins"
READ_ONLY = ("Describe", "Get", "List", "Head")
REGION = "eu-west-1"
EDGE = "us-east-1"


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


def fresh_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def deploy(tmp_path, name, clients=None, zappa=None, templates=None, **options):
    """privpi deploy of a new or existing repository NAME, as the command runs it."""
    settings = core.Settings(
        name=name, region=REGION, template_dir=templates or template_dir(tmp_path), **options
    )
    return run(settings, zappa, dry_run=False, clients=clients or Recorder(), poll=0)


def authenticator_with_standin_web_acl() -> str:
    """The real authenticator template with its WAF web ACL swapped for an SSM parameter:
    moto's CloudFormation cannot create AWS::WAFv2::WebACL. The condition, the parameter and
    the output's shape stay; the stand-in keeps the limit it was given, to be read back."""
    real = (TEMPLATES / "authenticator.yaml").read_text()
    start, end = real.index("  WebAcl:\n"), real.index("\nOutputs:\n")
    standin = (
        "  WebAcl:\n"
        "    Type: AWS::SSM::Parameter\n"
        "    Condition: HasRateLimit\n"
        "    Properties:\n"
        '      Name: !Sub "/standin/${AWS::StackName}/web-acl"\n'
        "      Type: String\n"
        '      Value: !Sub "limit=${RateLimitPer5Minutes}"\n'
    )
    output = '!If [HasRateLimit, !GetAtt WebAcl.Arn, ""]'
    arn = '"arn:aws:wafv2:us-east-1:${AWS::AccountId}:global/webacl/${AWS::StackName}-rate-limit/0"'
    assert output in real
    text = real[:start] + standin + real[end:]
    return text.replace(output, f'!If [HasRateLimit, !Sub {arn}, ""]')
