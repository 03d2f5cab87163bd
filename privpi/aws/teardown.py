"""``privpi destroy``: remove what deploy made, in reverse order.

The repository bucket is kept (its stack retains it) unless asked to delete it; it is then
emptied first, every object version and delete marker included, since S3 deletes only an
empty bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..errors import PrivpiError
from . import edgelogs, stacks
from .deploy import EDGE_REGION, Deployer

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

REPLICAS_NOTE = (
    "CloudFront is still removing the authenticator's Lambda@Edge replicas (this takes up "
    "to a few hours after the distribution is gone): run privpi destroy again later"
)


def destroy(d: Deployer, delete_bucket: bool = False) -> None:
    s = d.s
    bucket_stack = stacks.describe(d.home, s.stack("bucket"))
    bucket = bucket_stack.outputs.get("BucketName") if bucket_stack else None
    _delete(d, d.home, s.stack("distribution"))
    try:
        _delete(d, d.edge, s.stack("authenticator"))
    except stacks.StackFailed as e:
        if "replicated function" in str(e):
            raise PrivpiError(REPLICAS_NOTE) from None
        raise
    removed = edgelogs.remove(d.clients, f"{s.stack('authenticator')}-viewer-request")
    if removed:
        d.echo(f"deleted the authenticator's log groups in {len(removed)} regions")
    _delete(d, d.home, s.stack("bucket"))
    artifacts = d.artifact_bucket(d.account())
    if remove_bucket(d.clients("s3", EDGE_REGION), artifacts):
        d.echo(f"deleted the artifact bucket {artifacts}")
    console_code = d.console_code_bucket()
    if remove_bucket(d.clients("s3", s.region), console_code):
        d.echo(f"deleted the console's code bucket {console_code}")
    if bucket and delete_bucket:
        remove_bucket(d.clients("s3", s.region), bucket)
        d.echo(f"deleted the repository bucket {bucket} and every package in it")
    elif bucket:
        d.echo(f"kept the repository bucket {bucket} (privpi destroy --delete-bucket removes it)")
    elif delete_bucket:
        # The name was an output of the bucket stack: without it, guessing could hit the
        # wrong bucket, so nothing is deleted.
        raise PrivpiError(
            f"the stack {s.stack('bucket')} is gone, so the repository bucket is unknown: "
            "delete it in the S3 console (its name starts with "
            f"{s.stack('bucket')}-bucket-)"
        )


def _delete(d: Deployer, cf: CloudFormationClient, name: str) -> None:
    d.echo(f"deleting stack {name}")
    if not stacks.delete(cf, name, d.echo, d.poll):
        d.echo(f"  {name} does not exist")


def remove_bucket(s3: S3Client, bucket: str) -> bool:
    """Empty the bucket (all versions and delete markers) and delete it; False if absent."""
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            doomed: list[ObjectIdentifierTypeDef] = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(doomed), 1000):  # DeleteObjects takes 1000 at most
                s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True}
                )
        s3.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchBucket":
            return False
        raise
    return True
