"""A retention for the authenticator's logs in every region Lambda@Edge runs it.

Lambda@Edge logs in the region nearest to where the function ran, into a group named
``/aws/lambda/us-east-1.FUNCTION`` in each of them ("Edge function logs",
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-logs.html).
Lambda creates such a group on first use without a retention, so it keeps logs forever.
A CloudFormation stack creates resources in its own region only (across regions takes
StackSets, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/what-is-cfnstacksets.html):
the authenticator stack owns the us-east-1 group, and deploy creates the group, or sets
the retention of the one that exists, in every other region enabled in the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import LogGroupTypeDef

    from .deploy import Clients
    from .stacks import Echo

EDGE_REGION = "us-east-1"
RETENTION_DAYS = 30  # the authenticator stack's LogRetentionDays, which deploy passes


def log_group(function: str) -> str:
    return f"/aws/lambda/us-east-1.{function}"


def regions(clients: Clients) -> list[str]:
    """The regions enabled in the account (DescribeRegions leaves out opt-in regions that
    are not enabled), but us-east-1, whose group is in the authenticator stack."""
    found = clients("ec2", EDGE_REGION).describe_regions()["Regions"]
    names: list[str] = [r["RegionName"] for r in found if r["RegionName"] != EDGE_REGION]
    return sorted(names)


def _find(logs: CloudWatchLogsClient, name: str) -> LogGroupTypeDef | None:
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((g for g in groups if g["logGroupName"] == name), None)


def keep_for(clients: Clients, function: str, days: int, echo: Echo) -> list[str]:
    """Give the function's edge log group this retention in every region; returns the
    regions where something changed (none when deploy runs again)."""
    name = log_group(function)
    changed: list[str] = []
    for region in regions(clients):
        logs: CloudWatchLogsClient = clients("logs", region)
        group = _find(logs, name)
        if group is not None and group.get("retentionInDays") == days:
            continue
        if group is None:
            try:
                logs.create_log_group(logGroupName=name)
            except ClientError as e:  # created by a replica meanwhile: set its retention
                if e.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise
        logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        changed.append(region)
    if changed:
        echo(f"  log retention {days} days for {name} in {len(changed)} regions")
    return changed


def remove(clients: Clients, function: str) -> list[str]:
    """Delete the function's edge log groups outside us-east-1; returns their regions."""
    name = log_group(function)
    removed: list[str] = []
    for region in regions(clients):
        logs: CloudWatchLogsClient = clients("logs", region)
        if _find(logs, name) is not None:
            logs.delete_log_group(logGroupName=name)
            removed.append(region)
    return removed
