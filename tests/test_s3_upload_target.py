"""Browser uploads to the bucket: signed with Signature Version 4 for the bucket's regional
virtual-hosted endpoint in every region, as S3 requires of a new bucket (botocore's
defaults would sign SigV2 in us-east-1 and eu-west-1 and post to the global endpoint)."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from privpi.storage.s3 import S3Config, S3Storage

BUCKET = "privpi-demo-bucket-1a2b3c"
# Every region of the aws partition botocore knows for S3: the templates and privpi deploy
# take any of them (deploy.validate checks the form only).
REGIONS = boto3.session.Session().get_available_regions("s3")


@pytest.fixture
def aws_account(monkeypatch):
    """Credentials to sign with, and no AWS_ENDPOINT_URL: the real endpoints' shape."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def test_the_region_list_covers_the_old_sigv2_regions():
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1"} <= set(REGIONS)
    assert len(REGIONS) > 15


@pytest.mark.parametrize("region", REGIONS)
def test_presigned_post_is_sigv4_to_the_regional_virtual_hosted_endpoint(aws_account, region):
    storage = S3Storage(S3Config(bucket=BUCKET, region=region))
    target = storage.upload_target("incoming/0123/demo-1.0.tar.gz", 1000, expires=600)
    assert (target.method, target.url) == ("POST", f"https://{BUCKET}.s3.{region}.amazonaws.com/")
    fields = target.fields
    assert "AWSAccessKeyId" not in fields
    assert "signature" not in fields
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    _key_id, _date, signed_region, service, terminator = fields["x-amz-credential"].split("/")
    assert (signed_region, service, terminator) == (region, "s3", "aws4_request")
    assert len(fields["x-amz-signature"]) == 64
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"bucket": BUCKET} in policy["conditions"]
    assert ["content-length-range", 1, 1000] in policy["conditions"]
    assert fields["key"] == "incoming/0123/demo-1.0.tar.gz"


def test_another_s3_server_is_addressed_path_style(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    storage = S3Storage(
        S3Config(bucket=BUCKET, region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    )
    target = storage.upload_target("incoming/0123/demo-1.0.tar.gz", 1000, expires=600)
    assert target.url == f"http://127.0.0.1:9/{BUCKET}"
    assert target.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
