"""privpi deploy and destroy where AWS is stricter than moto: the order that lets WAF delete
a web ACL, stacks stuck in states only a command gets them out of, the authenticator's log
groups outside us-east-1, and the distribution id publishers need for invalidations."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from privpi import keys
from privpi.aws import edgelogs
from privpi.cli import main
from privpi.errors import PrivpiError
from tests.support.deploy import (
    EDGE,
    REGION,
    Recorder,
    authenticator_with_standin_web_acl,
    deploy,
    fresh_name,
    stack,
    template_dir,
)

pytestmark = pytest.mark.slow  # moto with every backend, as in test_deploy.py

# A stack moto can create, left in a stuck state by the stand-in server's tags.
STUCK_TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Resource:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/standin/${AWS::StackName}/stuck"
      Type: String
      Value: stuck
"""


def stuck_stack(name: str, region: str, **tags: str) -> None:
    boto3.client("cloudformation", region_name=region).create_stack(
        StackName=name,
        TemplateBody=STUCK_TEMPLATE,
        Tags=[
            {"Key": f"privpi-standin:{k.replace('_', '-')}", "Value": v} for k, v in tags.items()
        ],
    )


def _params(change_set: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}


def test_rate_limit_off_detaches_the_web_acl_before_the_authenticator_deletes_it(aws, tmp_path):
    name = fresh_name()
    templates = template_dir(tmp_path, authenticator=authenticator_with_standin_web_acl())
    deploy(tmp_path, name, templates=templates, rate_limit=1000)
    acl = stack(f"{name}-authenticator", EDGE)[0]["WebAclArn"]
    assert stack(f"{name}-distribution", REGION)[1]["WebAclArn"] == acl

    rec = Recorder()
    deploy(tmp_path, name, clients=rec, templates=templates, rate_limit=0)
    steps = [
        (p["StackName"].removeprefix(f"{name}-"), _params(p)) for _, p in rec.ops("CreateChangeSet")
    ]
    assert [(part, p.get("WebAclArn"), p.get("RateLimitPer5Minutes")) for part, p in steps] == [
        ("bucket", None, None),
        ("distribution", "", None),  # the distribution lets go of the web ACL first,
        ("authenticator", None, "0"),  # then its stack deletes it,
        ("distribution", "", None),  # then the usual step: nothing left to change
    ]
    assert len(rec.ops("ExecuteChangeSet")) == 2
    assert stack(f"{name}-distribution", REGION)[1]["WebAclArn"] == ""


def test_dry_run_says_the_web_acl_is_detached_first(aws, tmp_path):
    name = fresh_name()
    templates = template_dir(tmp_path, authenticator=authenticator_with_standin_web_acl())
    deploy(tmp_path, name, templates=templates, rate_limit=1000)
    args = ["deploy", "--name", name, "--region", REGION, "--rate-limit", "0", "--dry-run"]
    res = CliRunner().invoke(main, [*args, "--template-dir", str(templates)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    detach = next(i for i, line in enumerate(lines) if "detach the web ACL" in line)
    update = next(i for i, line in enumerate(lines) if f"stack {name}-authenticator " in line)
    assert detach < update


def test_update_rollback_failed_is_answered_with_the_command_that_continues_it(aws, tmp_path):
    name = fresh_name()
    stuck_stack(f"{name}-bucket", REGION, status="UPDATE_ROLLBACK_FAILED", failed="ConsoleRole")
    args = ["deploy", "--name", name, "--region", REGION]
    res = CliRunner().invoke(main, [*args, "--template-dir", str(template_dir(tmp_path))])
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: stack {name}-bucket is stuck in UPDATE_ROLLBACK_FAILED")
    command = "aws cloudformation continue-update-rollback"
    assert f"`{command} --stack-name {name}-bucket --region {REGION}`" in last
    assert "--resources-to-skip ConsoleRole" in last
    assert "Traceback" not in res.output


def test_delete_failed_is_answered_with_the_delete_that_retains_what_failed(aws, tmp_path):
    name = fresh_name()
    stuck_stack(f"{name}-distribution", REGION, **{"delete-fails": "Distribution"})
    res = CliRunner().invoke(main, ["destroy", "--name", name, "--region", REGION, "--yes"])
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert f"stack {name}-distribution failed (DELETE_FAILED)" in last
    command = f"aws cloudformation delete-stack --stack-name {name}-distribution"
    assert f"`{command} --region {REGION} --retain-resources Distribution`" in last

    # deploy meets the same stack: the same way out, before any change set for it
    rec = Recorder()
    with pytest.raises(PrivpiError) as failed:
        deploy(tmp_path, name, clients=rec)
    assert f"stack {name}-distribution is stuck in DELETE_FAILED" in str(failed.value)
    assert "--retain-resources Distribution" in str(failed.value)
    assert not [p for _, p in rec.ops("CreateChangeSet") if "distribution" in p["StackName"]]


def test_edge_log_groups_get_a_retention_in_every_region_and_go_with_destroy(aws, tmp_path):
    name = fresh_name()
    function = f"{name}-authenticator-viewer-request"
    group = f"/aws/lambda/us-east-1.{function}"
    # a replica already ran in Frankfurt: its group exists, kept forever
    boto3.client("logs", region_name="eu-central-1").create_log_group(logGroupName=group)
    templates = template_dir(tmp_path)
    deploy(tmp_path, name, templates=templates)

    regions = [r["RegionName"] for r in boto3.client("ec2", EDGE).describe_regions()["Regions"]]
    assert {"eu-central-1", "ap-northeast-1", "sa-east-1", EDGE} <= set(regions)
    for region in regions:
        found = boto3.client("logs", region_name=region).describe_log_groups(
            logGroupNamePrefix=group
        )["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in found] == [
            (group, edgelogs.RETENTION_DAYS)
        ], region  # us-east-1: the authenticator stack's own group
    _, params = stack(f"{name}-authenticator", EDGE)
    assert params["LogRetentionDays"] == str(edgelogs.RETENTION_DAYS)

    rec = Recorder()
    deploy(tmp_path, name, clients=rec, templates=templates)
    assert [op for op in rec.mutating() if op.endswith(("LogGroup", "RetentionPolicy"))] == []

    res = CliRunner().invoke(main, ["destroy", "--name", name, "--region", REGION, "--yes"])
    assert res.exit_code == 0, res.output
    for region in regions:
        logs = boto3.client("logs", region_name=region)
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == [], region


def test_deploy_tells_publishers_the_distribution_id_through_the_bucket(aws, tmp_path):
    name = fresh_name()
    deploy(tmp_path, name)
    bucket, _ = stack(f"{name}-bucket", REGION)
    dist, _ = stack(f"{name}-distribution", REGION)
    s3 = boto3.client("s3", region_name=REGION)
    body = s3.get_object(Bucket=bucket["BucketName"], Key=keys.DISTRIBUTION)["Body"].read()
    assert json.loads(body) == {"distribution_id": dist["DistributionId"]}
