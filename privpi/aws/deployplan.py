"""``privpi deploy --dry-run``: what deploy would do, from read-only calls alone.

Describing stacks, reading the caller's account and looking for an uploaded zip change
nothing; no change set is created (that would be a write), so an existing stack is shown
as "update if anything changed" with the parameters it would get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import keys
from ..keys import CONSOLE_ENV_KEY
from . import edgelogs
from .deploy import EDGE_REGION, Deployer, object_exists
from .stacks import Stack

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PARTS = ("bucket", "authenticator", "distribution")


def plan(d: Deployer) -> list[str]:
    now = d.current()
    s = d.s
    lines = [f"Plan for privpi repository {s.name!r} (dry run: nothing is changed)"]
    for part in PARTS:
        d.template(part)  # a template missing from the install fails here, not mid-deploy
    lines.append(f"Templates: {', '.join(p + '.yaml' for p in PARTS)} in {s.template_dir}")
    bucket_out = now["bucket"].outputs if now["bucket"] else {}
    auth_out = now["authenticator"].outputs if now["authenticator"] else {}

    def later(stack: str, key: str) -> str:
        return f"<{key} from {s.stack(stack)}>"

    bucket_name = bucket_out.get("BucketName") or later("bucket", "BucketName")
    lines += _stack(lines, s.stack("bucket"), s.region, now["bucket"], d.bucket_params(now))

    artifacts = d.artifact_bucket(d.account())
    if "BucketName" in bucket_out:
        _, key, sha = d.authenticator_zip(bucket_out["BucketName"])
        s3: S3Client = d.clients("s3", EDGE_REGION)
        uploaded = _bucket_exists(s3, artifacts) and object_exists(s3, artifacts, key)
        what = "already uploaded" if uploaded else "upload"
        code = {"CodeKey": key, "CodeSha256": sha}
    else:
        key, what = "authenticator/<sha256>.zip", "build and upload"
        code = {"CodeKey": key, "CodeSha256": "<sha256 of the zip>"}
    lines.append(
        f"{_next(lines)}. authenticator zip for bucket {bucket_name}: {what} s3://{artifacts}/{key}"
    )
    auth_params = d.authenticator_params(
        now, {"BucketName": bucket_name, "CodeBucket": artifacts, **code}
    )
    attached = now["distribution"].parameters.get("WebAclArn") if now["distribution"] else ""
    if attached and auth_params["RateLimitPer5Minutes"] == "0":
        lines.append(
            f"{_next(lines)}. stack {s.stack('distribution')}: detach the web ACL {attached} "
            "(WAF deletes no web ACL a distribution uses)"
        )
    lines += _stack(lines, s.stack("authenticator"), EDGE_REGION, now["authenticator"], auth_params)
    group = edgelogs.log_group(f"{s.stack('authenticator')}-viewer-request")
    lines.append(
        f"{_next(lines)}. log group {group}: {edgelogs.RETENTION_DAYS} days' retention in "
        "every enabled region (created where missing)"
    )

    domain_name = bucket_out.get("BucketRegionalDomainName")
    bucket_for_dist = {
        "BucketRegionalDomainName": domain_name or later("bucket", "BucketRegionalDomainName")
    }
    version = auth_out.get("VersionArn") or later("authenticator", "VersionArn")
    # The web ACL exists only with a limit: its ARN is known once the stack has made it.
    web_acl = ""
    if auth_params["RateLimitPer5Minutes"] != "0":
        web_acl = auth_out.get("WebAclArn") or later("authenticator", "WebAclArn")
    dist_params = d.distribution_params(now, bucket_for_dist, version, web_acl)
    lines += _stack(lines, s.stack("distribution"), s.region, now["distribution"], dist_params)
    if not (now["bucket"] and now["bucket"].parameters.get("DistributionArn")):
        lines.append(
            f"{_next(lines)}. stack {s.stack('bucket')}: update DistributionArn to "
            f"{later('distribution', 'DistributionArn')} (bucket policy for CloudFront)"
        )
    secret = f"s3://{bucket_name}/{CONSOLE_ENV_KEY}"
    lines.append(f"{_next(lines)}. console secret key: {secret}, if missing")
    lines.append(
        f"{_next(lines)}. distribution id for invalidations: s3://{bucket_name}/{keys.DISTRIBUTION}"
    )
    lines.append(
        f"{_next(lines)}. bucket for the console's code (Zappa's s3_bucket): "
        f"{d.console_code_bucket()} ({s.region}), if missing"
    )
    return lines


def _stack(
    before: list[str], name: str, region: str, stack: Stack | None, params: dict[str, str]
) -> list[str]:
    action = "create" if stack is None else f"update if anything changed (now {stack.status})"
    lines = [f"{_next(before)}. stack {name} ({region}): {action}"]
    lines += [f"     {k} = {v}" for k, v in params.items()]
    return lines


def _next(lines: list[str]) -> int:
    """The number of the next step: one more than the numbered lines so far."""
    return 1 + sum(1 for line in lines if line[:1].isdigit())


def _bucket_exists(s3: S3Client, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except Exception:  # any refusal means deploy would have to create it
        return False
