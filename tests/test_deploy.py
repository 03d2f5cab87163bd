"""privpi deploy / destroy against a moto server over HTTP: stack order, outputs wired to the
next stack's parameters, idempotence, dry run, failures, the uploaded authenticator zip."""

from __future__ import annotations

import json
import re
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from privpi.aws import deploy as core
from privpi.aws import stacks
from privpi.aws.runtime import LAMBDA_PYTHON
from privpi.cli import main
from privpi.commands.deploy import run
from privpi.keys import ROOT_JSON
from tests.support.deploy import (
    EDGE,
    REGION,
    REPO,
    Recorder,
    authenticator_with_standin_web_acl,
    deploy,
    fresh_name,
    stack,
    template_dir,
)

# moto with every backend (for CloudFormation) takes seconds to start, before the first test
pytestmark = pytest.mark.slow


def test_stacks_created_in_order_with_outputs_passed_on(aws, tmp_path, capsys):
    name, rec = fresh_name(), Recorder()
    result = deploy(tmp_path, name, clients=rec)

    created = [
        (region, p["StackName"], p["ChangeSetType"]) for region, p in rec.ops("CreateChangeSet")
    ]
    assert created == [
        (REGION, f"{name}-bucket", "CREATE"),
        ("us-east-1", f"{name}-authenticator", "CREATE"),
        (REGION, f"{name}-distribution", "CREATE"),
        (REGION, f"{name}-bucket", "UPDATE"),  # the bucket policy learns the distribution
    ]
    assert len(rec.ops("ExecuteChangeSet")) == 4

    bucket, bucket_params = stack(f"{name}-bucket", REGION)
    auth, auth_params = stack(f"{name}-authenticator", "us-east-1")
    dist, dist_params = stack(f"{name}-distribution", REGION)
    assert auth_params["BucketName"] == bucket["BucketName"]
    assert auth_params["CodeBucket"] == f"privpi-{name}-artifacts-123456789012"
    assert dist_params["BucketRegionalDomainName"] == bucket["BucketRegionalDomainName"]
    assert dist_params["AuthenticatorVersionArn"] == auth["VersionArn"]
    assert bucket_params["DistributionArn"] == dist["DistributionArn"]
    assert bucket_params["ConsoleFunctionName"] == f"privpi-{name}-production"
    assert (auth_params["RateLimitPer5Minutes"], auth["WebAclArn"]) == ("0", "")  # no WAF
    assert dist_params["WebAclArn"] == ""

    out = capsys.readouterr().out
    assert result.repository_url == "https://d1standin.cloudfront.net/simple/"
    assert "Repository: https://d1standin.cloudfront.net/simple/" in out
    assert "pip install --index-url https://USER:PASSWORD@d1standin.cloudfront.net/simple/" in out
    assert f"--storage s3://{bucket['BucketName']} users add" in out


@pytest.mark.parametrize("upstream", [[], ["--upstream", "https://pypi.org/simple/"]])
def test_uploaded_zip_is_the_one_privpi_edge_build_makes(aws, tmp_path, upstream):
    name = fresh_name()
    deploy(tmp_path, name, upstream=upstream[1] if upstream else None)
    bucket, _ = stack(f"{name}-bucket", REGION)
    _, auth_params = stack(f"{name}-authenticator", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    uploaded = s3.get_object(Bucket=auth_params["CodeBucket"], Key=auth_params["CodeKey"])
    uploaded = uploaded["Body"].read()
    # a new bucket gets an empty root index: quarantine and upstream names (else: 503s)
    roots = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=bucket["BucketName"], Prefix=ROOT_JSON
    )
    assert roots.get("KeyCount", 0) == 1

    out = tmp_path / "edge.zip"
    args = ["edge", "build", "--bucket", bucket["BucketName"], "--region", REGION, "-o", out]
    res = CliRunner().invoke(main, [str(a) for a in [*args, *upstream]])
    assert res.exit_code == 0, res.output
    assert uploaded == out.read_bytes()
    # the function runs that very zip: its code is the uploaded object
    fn = boto3.client("lambda", region_name="us-east-1").get_function(
        FunctionName=f"{name}-authenticator-viewer-request"
    )
    assert fn["Configuration"]["Runtime"] == "python3.13"
    assert fn["Configuration"]["Handler"] == "viewer_request.handler"
    assert fn["Configuration"]["MemorySize"] == 128
    assert fn["Configuration"]["Timeout"] == 5


def test_second_run_changes_nothing(aws, tmp_path, capsys):
    name = fresh_name()
    templates = template_dir(tmp_path)
    deploy(tmp_path, name, templates=templates)
    capsys.readouterr()

    rec = Recorder()
    again = deploy(tmp_path, name, clients=rec, templates=templates)
    assert rec.ops("ExecuteChangeSet") == []
    assert rec.ops("PutObject") == []  # the zip is already there under its hash
    assert len(rec.ops("DeleteChangeSet")) == 3  # each empty change set is cleaned up
    out = capsys.readouterr().out
    for part in ("bucket", "authenticator", "distribution"):
        assert f"{name}-{part}: no changes" in out
    assert again.repository_url == "https://d1standin.cloudfront.net/simple/"


def test_changed_option_updates_only_what_it_touches(aws, tmp_path, capsys):
    name = fresh_name()
    templates = template_dir(tmp_path)
    deploy(tmp_path, name, templates=templates)
    rec = Recorder()
    deploy(tmp_path, name, clients=rec, templates=templates, console_origin="https://c.example")
    executed = [p["ChangeSetName"] for _, p in rec.ops("ExecuteChangeSet")]
    assert len(executed) == 1
    _, params = stack(f"{name}-bucket", REGION)
    assert params["ConsoleOrigin"] == "https://c.example"
    # not given next time: the deployed value stays
    rec = Recorder()
    deploy(tmp_path, name, clients=rec, templates=templates)
    assert rec.ops("ExecuteChangeSet") == []


def test_rate_limit_reaches_the_web_acl_and_the_distribution_and_is_remembered(aws, tmp_path):
    name = fresh_name()
    templates = template_dir(tmp_path, authenticator=authenticator_with_standin_web_acl())
    deploy(tmp_path, name, templates=templates, rate_limit=1000)
    auth, auth_params = stack(f"{name}-authenticator", EDGE)
    assert auth_params["RateLimitPer5Minutes"] == "1000"
    acl = boto3.client("ssm", region_name=EDGE).get_parameter(
        Name=f"/standin/{name}-authenticator/web-acl"
    )
    assert acl["Parameter"]["Value"] == "limit=1000"
    assert auth["WebAclArn"].endswith(f":global/webacl/{name}-authenticator-rate-limit/0")
    assert stack(f"{name}-distribution", REGION)[1]["WebAclArn"] == auth["WebAclArn"]

    for again in ({"rate_limit": 1000}, {}):  # the same option, then none: the deployed value
        rec = Recorder()
        deploy(tmp_path, name, clients=rec, templates=templates, **again)
        assert rec.ops("ExecuteChangeSet") == []

    # Off again: the distribution loses its web ACL. (moto does not add or remove a resource
    # whose condition flips in an update, so the stand-in's own removal is not checked.)
    deploy(tmp_path, name, templates=templates, rate_limit=0)
    auth, auth_params = stack(f"{name}-authenticator", EDGE)
    assert (auth_params["RateLimitPer5Minutes"], auth.get("WebAclArn", "")) == ("0", "")
    assert stack(f"{name}-distribution", REGION)[1]["WebAclArn"] == ""


def test_dry_run_makes_no_mutating_call(aws, tmp_path):
    name, rec = fresh_name(), Recorder()
    settings = core.Settings(name=name, region=REGION, template_dir=template_dir(tmp_path))
    run(settings, None, dry_run=True, clients=rec, poll=0)
    assert rec.calls, "the plan reads the current state"
    assert rec.mutating() == []
    cf = boto3.client("cloudformation", region_name=REGION)
    with pytest.raises(ClientError, match="does not exist"):
        cf.describe_stacks(StackName=f"{name}-bucket")


def test_dry_run_prints_the_plan_through_the_cli(aws, tmp_path):
    name = fresh_name()
    templates = template_dir(tmp_path)
    deploy(tmp_path, name, templates=templates)
    args = ["deploy", "--name", name, "--region", REGION, "--dry-run"]
    res = CliRunner().invoke(main, [*args, "--template-dir", str(templates)])
    assert res.exit_code == 0, res.output
    assert "dry run: nothing is changed" in res.output
    for part in ("bucket", "authenticator", "distribution"):
        assert f"stack {name}-{part} " in res.output
    assert "already uploaded" in res.output


def test_failed_stack_is_reported_as_its_resource_and_reason(aws, tmp_path):
    taken = f"taken-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=taken, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    real = (core.TEMPLATES / "bucket.yaml").read_text()
    anchor = "    Properties:\n      PublicAccessBlockConfiguration:"
    assert anchor in real
    named = anchor.replace("Properties:\n", f"Properties:\n      BucketName: {taken}\n")
    broken = real.replace(anchor, named, 1)  # a name another bucket already has
    templates = template_dir(tmp_path, bucket=broken)
    name = fresh_name()
    res = CliRunner().invoke(
        main, ["deploy", "--name", name, "--region", REGION, "--template-dir", str(templates)]
    )
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert re.match(rf"Error: stack {name}-bucket failed: BucketAlreadyExists: ", last), last
    assert "Traceback" not in res.output


def test_failure_message_names_the_cause_not_the_cancellations():
    # describe_stack_events as CloudFormation returns them, newest first
    events = [
        {"EventId": "5", "LogicalResourceId": "s", "ResourceType": "AWS::CloudFormation::Stack",
         "ResourceStatus": "ROLLBACK_COMPLETE"},
        {"EventId": "4", "LogicalResourceId": "Version", "ResourceType": "AWS::Lambda::Version",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Resource creation cancelled"},
        {"EventId": "3", "LogicalResourceId": "Function", "ResourceType": "AWS::Lambda::Function",
         "ResourceStatus": "CREATE_FAILED",
         "ResourceStatusReason": "Error occurred while GetObject. S3 Error Code: NoSuchKey."},
        {"EventId": "2", "LogicalResourceId": "Role", "ResourceType": "AWS::IAM::Role",
         "ResourceStatus": "CREATE_COMPLETE"},
    ]  # fmt: skip
    assert stacks.failure_message("s", "ROLLBACK_COMPLETE", events) == (
        "stack s failed (ROLLBACK_COMPLETE): Function (AWS::Lambda::Function): "
        "Error occurred while GetObject. S3 Error Code: NoSuchKey."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Bad_Name"], "invalid name 'Bad_Name'"),
        (["--name", "ok", "--region", "mars"], "invalid AWS region 'mars'"),
        (["--name", "ok", "--domain", "pypi.example.com"], "--domain and --certificate-arn go"),
        (
            ["--name", "ok", "--domain", "p.example.com", "--certificate-arn",
             "arn:aws:acm:eu-west-1:123456789012:certificate/abc"],
            "CloudFront needs an ACM certificate in us-east-1",
        ),
        (["--name", "ok", "--console-origin", "https://c.example/path"], "without a path"),
        (["--name", "ok", "--rate-limit", "9"], "--rate-limit must be 0 (no limit) or 10 to"),
        (["--name", "ok", "--upstream", "pypi.org/simple/"], "invalid upstream index URL"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_change(aws, args, message):
    if "--region" not in args:
        args = [*args, "--region", REGION]
    res = CliRunner().invoke(main, ["deploy", *args])
    assert res.exit_code == 1, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_zappa_settings_get_the_bucket_stack_outputs(aws, tmp_path):
    name = fresh_name()
    settings_file = tmp_path / "zappa_settings.json"
    older = json.loads((REPO / "zappa_settings.json").read_text())
    older["production"]["runtime"] = "python3.11"  # deploy sets the product's one runtime
    settings_file.write_text(json.dumps(older))
    before = older["production"]
    deploy(tmp_path, name, zappa=settings_file)

    bucket, _ = stack(f"{name}-bucket", REGION)
    stage = json.loads(settings_file.read_text())["production"]
    assert stage["role_arn"] == bucket["ConsoleRoleArn"]
    assert stage["manage_roles"] is False
    assert stage["aws_region"] == REGION
    assert stage["runtime"] == LAMBDA_PYTHON
    # one fixed bucket for Zappa's uploads, made by deploy in the console's region
    assert stage["s3_bucket"] == f"privpi-{name}-console-123456789012"
    s3 = boto3.client("s3", region_name=REGION)
    location = s3.get_bucket_location(Bucket=stage["s3_bucket"])["LocationConstraint"]
    assert location == REGION
    blocked = s3.get_public_access_block(Bucket=stage["s3_bucket"])
    assert all(blocked["PublicAccessBlockConfiguration"].values())
    assert stage["environment_variables"]["PRIVPI_STORAGE"] == bucket["StorageUrl"]
    assert stage["environment_variables"]["PRIVPI_UPSTREAM_URL"] == ""  # off unless given
    assert stage["app_function"] == before["app_function"] == "webadmin.wsgi.app"
    assert stage["exclude"] == before["exclude"]
    # the secret key is in the bucket, for Zappa's remote_env, not in the settings file
    bucket_name, key = stage["remote_env"].removeprefix("s3://").split("/", 1)
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket_name, Key=key)
    secret = json.loads(body["Body"].read())["PRIVPI_SECRET_KEY"]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert secret not in settings_file.read_text()


def test_destroy_removes_the_stacks_and_keeps_the_bucket(aws, tmp_path):
    name = fresh_name()
    deploy(tmp_path, name)
    bucket, _ = stack(f"{name}-bucket", REGION)
    res = CliRunner().invoke(main, ["destroy", "--name", name, "--region", REGION, "--yes"])
    assert res.exit_code == 0, res.output
    for part, region in (("bucket", REGION), ("distribution", REGION), ("authenticator", EDGE)):
        cf = boto3.client("cloudformation", region_name=region)
        assert stacks.describe(cf, f"{name}-{part}") is None
    s3 = boto3.client("s3", region_name=REGION)
    s3.head_bucket(Bucket=bucket["BucketName"])  # kept, with every package in it
    for made_by_deploy in ("artifacts", "console"):
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket=f"privpi-{name}-{made_by_deploy}-123456789012")
    assert f"kept the repository bucket {bucket['BucketName']}" in res.output


def test_destroy_delete_bucket_empties_every_version_first(aws, tmp_path):
    name = fresh_name()
    deploy(tmp_path, name)
    bucket, _ = stack(f"{name}-bucket", REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(
        Bucket=bucket["BucketName"], VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"one", b"two"):  # two versions of one key, then a delete marker
        s3.put_object(Bucket=bucket["BucketName"], Key="packages/simple/index.html", Body=body)
    s3.delete_object(Bucket=bucket["BucketName"], Key="packages/simple/index.html")
    args = ["destroy", "--name", name, "--region", REGION, "--yes", "--delete-bucket"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket["BucketName"])


def test_destroy_asks_first(aws):
    res = CliRunner().invoke(
        main, ["destroy", "--name", "nothing", "--region", REGION], input="n\n"
    )
    assert res.exit_code == 1
    assert "Delete the stacks of repository 'nothing'" in res.output


def test_missing_credentials_is_one_clear_line(aws, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance endpoint
    res = CliRunner().invoke(main, ["deploy", "--name", "x", "--region", REGION, "--dry-run"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("Error: no AWS credentials found")
