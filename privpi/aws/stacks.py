"""CloudFormation stacks, one at a time: describe, apply a template through a change set,
delete, and say in one sentence why a stack failed.

An empty change set means "no changes": it is deleted and nothing is executed, so running
deploy twice changes nothing. Progress is the stack's own events, printed as they arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from ..errors import PrivpiError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import (
        DescribeChangeSetOutputTypeDef,
        StackEventTypeDef,
    )

Echo = Callable[[str], None]
SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"}
# "No updates" as CloudFormation words it for an empty change set (and moto, identically).
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
MAX_WAIT = 3600  # CloudFront distributions take minutes; an hour means something is stuck
# States no change set or delete of ours gets a stack out of: only the command way_out names.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html
# (RetainResources: "only for stacks in the DELETE_FAILED state")
STUCK = ("UPDATE_ROLLBACK_FAILED", "DELETE_FAILED")


class StackFailed(PrivpiError):
    """A stack operation failed: the message names the failed resources and their reasons."""


@dataclass
class Stack:
    name: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


def _no_such_stack(e: ClientError) -> bool:
    """CloudFormation answers a missing stack with a ValidationError saying so."""
    return "does not exist" in e.response["Error"].get("Message", "")


def describe(cf: CloudFormationClient, name: str) -> Stack | None:
    """The stack, or None when it does not exist (or was deleted)."""
    try:
        found = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as e:
        if _no_such_stack(e):
            return None
        raise
    if not found or found[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    s = found[0]
    params = s.get("Parameters") or ()
    return Stack(
        name=name,
        status=s["StackStatus"],
        # An output whose value is "" (an optional resource left out) may come without one.
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in s.get("Outputs") or ()},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in params},
    )


def apply(
    cf: CloudFormationClient,
    name: str,
    template: str,
    params: dict[str, str],
    echo: Echo,
    poll: float,
) -> Stack:
    """Create or update the stack through a change set; return it with its outputs."""
    stack = describe(cf, name)
    if stack and stack.status == "ROLLBACK_COMPLETE":
        # A stack whose creation failed can only be deleted; it holds no resources.
        echo(f"  {name} failed to create earlier: deleting it first")
        delete(cf, name, echo, poll)
        stack = None
    if stack and stack.status in STUCK:
        raise StackFailed(way_out(cf, name, stack.status))
    if stack and stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
        raise PrivpiError(f"stack {name} is busy ({stack.status}): wait for it and run again")
    kind: Literal["CREATE", "UPDATE"] = (
        "CREATE" if stack is None or stack.status == "REVIEW_IN_PROGRESS" else "UPDATE"
    )
    try:
        created = cf.create_change_set(
            StackName=name,
            ChangeSetName=f"privpi-{int(time.time() * 1000)}",
            ChangeSetType=kind,
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM"],
            Description="privpi deploy",
        )
    except ClientError as e:  # an invalid template or parameter, a stack in a failed state
        raise StackFailed(f"stack {name}: {e.response['Error'].get('Message')}") from None
    change_set = _wait_change_set(cf, created["Id"], poll)
    if change_set["Status"] == "FAILED":
        cf.delete_change_set(ChangeSetName=created["Id"])
        reason = change_set.get("StatusReason", "")
        if any(text in reason for text in NO_CHANGES):
            echo(f"  {name}: no changes")
            return stack if stack is not None else _existing(cf, name)
        raise StackFailed(f"stack {name}: CloudFormation refused the change: {reason}")
    for line in describe_changes(change_set):
        echo(line)
    since = latest_event(cf, name)
    try:
        cf.execute_change_set(ChangeSetName=created["Id"])
    except ClientError as e:
        err = e.response["Error"]
        raise StackFailed(f"stack {name} failed: {err.get('Code')}: {err.get('Message')}") from None
    final = wait(cf, name, since, echo, poll)
    _check(cf, name, final, since)
    return _existing(cf, name)


def _existing(cf: CloudFormationClient, name: str) -> Stack:
    """The stack just applied, which must be there."""
    stack = describe(cf, name)
    if stack is None:
        raise StackFailed(f"stack {name} is gone right after it was applied")
    return stack


def delete(cf: CloudFormationClient, name: str, echo: Echo, poll: float) -> bool:
    """Delete the stack and wait; False when there was none."""
    if describe(cf, name) is None:
        return False
    since = latest_event(cf, name)
    cf.delete_stack(StackName=name)
    final = wait(cf, name, since, echo, poll)
    _check(cf, name, final, since)
    return True


def _check(cf: CloudFormationClient, name: str, final: str, since: str | None) -> None:
    if final in SUCCESS:
        return
    message = failure_message(name, final, events_since(cf, name, since))
    if final in STUCK:
        message += ". " + way_out(cf, name, final)
    raise StackFailed(message)


def way_out(cf: CloudFormationClient, name: str, status: str) -> str:
    """The command that gets a stack out of a state (STUCK) nothing else can change."""
    region = cf.meta.region_name
    failed = " ".join(stuck_resources(cf, name))
    if status == "UPDATE_ROLLBACK_FAILED":
        skip = f" (add --resources-to-skip {failed} if they cannot roll back)" if failed else ""
        return (
            f"stack {name} is stuck in UPDATE_ROLLBACK_FAILED: run `aws cloudformation "
            f"continue-update-rollback --stack-name {name} --region {region}`{skip}, wait "
            "for UPDATE_ROLLBACK_COMPLETE, then run privpi deploy again"
        )
    retain = f" --retain-resources {failed}" if failed else ""
    return (
        f"stack {name} is stuck in DELETE_FAILED: remove what kept {failed or 'it'} from "
        f"being deleted and run privpi destroy again, or delete the stack and leave "
        f"{'them' if failed else 'its resources'} behind: `aws cloudformation delete-stack "
        f"--stack-name {name} --region {region}{retain}`"
    )


def stuck_resources(cf: CloudFormationClient, name: str) -> list[str]:
    """Logical ids of the resources that failed in the stack's last rollback or delete."""
    failed: list[str] = []
    for ev in events_since(cf, name, None):  # newest first: stop where that operation began
        if ev["LogicalResourceId"] == name:
            if ev["ResourceStatus"] in ("UPDATE_ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"):
                break
            continue
        if ev["ResourceStatus"].endswith("_FAILED") and ev["LogicalResourceId"] not in failed:
            failed.append(ev["LogicalResourceId"])
    return sorted(failed)


def describe_changes(change_set: DescribeChangeSetOutputTypeDef) -> list[str]:
    signs = {"Add": "+", "Modify": "~", "Remove": "-", "Import": "<", "Dynamic": "?"}
    lines: list[str] = []
    for change in change_set.get("Changes") or []:
        rc = change.get("ResourceChange", {})
        action = rc.get("Action", "Modify")
        replace = " (replaced)" if rc.get("Replacement") == "True" else ""
        lines.append(
            f"  {signs.get(action, '~')} {rc.get('LogicalResourceId')} "
            f"({rc.get('ResourceType')}){replace}"
        )
    return lines


def _wait_change_set(
    cf: CloudFormationClient, change_set_id: str, poll: float
) -> DescribeChangeSetOutputTypeDef:
    deadline = time.monotonic() + MAX_WAIT
    while True:
        cs = cf.describe_change_set(ChangeSetName=change_set_id)
        if cs["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return cs
        if time.monotonic() > deadline:
            raise PrivpiError(f"change set {change_set_id} is still {cs['Status']} after an hour")
        time.sleep(poll)


def wait(cf: CloudFormationClient, name: str, since: str | None, echo: Echo, poll: float) -> str:
    """Print the stack's new events until it settles; return its final status."""
    seen: set[str] = set()
    deadline = time.monotonic() + MAX_WAIT
    while True:
        for ev in reversed(events_since(cf, name, since)):
            if ev["EventId"] not in seen:
                seen.add(ev["EventId"])
                if ev["LogicalResourceId"] != name:  # the stack's own events: in the status
                    echo(f"    {ev['LogicalResourceId']} {ev['ResourceStatus']}")
        stack = describe(cf, name)
        status = stack.status if stack else "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            return status
        if time.monotonic() > deadline:
            raise PrivpiError(f"stack {name} is still {status} after an hour")
        time.sleep(poll)


def latest_event(cf: CloudFormationClient, name: str) -> str | None:
    """The id of the stack's newest event: later ones belong to the operation we start."""
    try:
        events = cf.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError as e:
        if _no_such_stack(e):
            return None
        raise
    return events[0]["EventId"] if events else None


def events_since(cf: CloudFormationClient, name: str, since: str | None) -> list[StackEventTypeDef]:
    """The stack's events after event id since, newest first (as CloudFormation lists them).

    An event id, not a time: the local clock may differ from CloudFormation's.
    """
    found: list[StackEventTypeDef] = []
    try:
        for page in cf.get_paginator("describe_stack_events").paginate(StackName=name):
            for ev in page["StackEvents"]:
                if ev["EventId"] == since:
                    return found
                found.append(ev)
    except ClientError as e:
        if not _no_such_stack(e):
            raise
    return found


def failure_message(name: str, status: str, events: list[StackEventTypeDef]) -> str:
    """One sentence: the stack, its status, and each failed resource with its reason.

    The first failure is the cause; the ones CloudFormation cancelled because of it are noise.
    """
    failed = []
    for ev in reversed(events):  # oldest first: the root cause leads
        reason = ev.get("ResourceStatusReason") or ""
        if not ev["ResourceStatus"].endswith("_FAILED") or ev["LogicalResourceId"] == name:
            continue
        if "cancelled" in reason.lower():
            continue
        failed.append(f"{ev['LogicalResourceId']} ({ev.get('ResourceType')}): {reason}")
    if not failed:
        stack_reasons = [
            ev.get("ResourceStatusReason") or ""
            for ev in reversed(events)
            if ev["LogicalResourceId"] == name and ev.get("ResourceStatusReason")
        ]
        failed = stack_reasons[-1:] or ["no reason given; see the stack's events in the console"]
    return f"stack {name} failed ({status}): " + "; ".join(failed)
