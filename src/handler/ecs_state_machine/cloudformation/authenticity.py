"""Act only on requests CloudFormation really made, and answer only CloudFormation.

Anyone who may deploy a stack with the ServiceToken may also invoke the function directly, with an
event of their own making: `StackId`, `LogicalResourceId` and `PhysicalResourceId` in an event prove
nothing. Two checks stand between such an event and the provider's IAM power:

- the `ResponseURL` must be an https URL of CloudFormation's response buckets (checked before
  anything else: a request that fails it gets no answer at all, so the function can never be made
  to send a request to a host of someone's choosing);
- CloudFormation's own record must show the resource waiting for exactly this request:
  `DescribeStackResource` on the event's stack and logical id names a `Custom::EcsStateMachine`
  whose status and physical id fit the request type (`judge` says which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..base.arn import STACK, Arn
from ..base.aws import AwsError
from ..base.errors import Refused

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..base.settings import Settings
    from ..schema.request import Request

RESOURCE_TYPE = "Custom::EcsStateMachine"

# DNS suffixes of the AWS partitions (botocore's endpoints.json): where CloudFormation's response
# buckets live.
PARTITION_DNS_SUFFIXES = (
    "amazonaws.com",
    "amazonaws.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
    "amazonaws.eu",
)
_SUFFIX = "|".join(re.escape(s) for s in PARTITION_DNS_SUFFIXES)
# cloudformation-custom-resource-response-useast1.s3.amazonaws.com, ...-uswest2.s3-us-west-2.amazonaws.com,
# ...-apsoutheast5.s3.ap-southeast-5.amazonaws.com, ...-cnnorth1.s3.cn-north-1.amazonaws.com.cn
_BUCKET = r"cloudformation-custom-resource-response-[a-z0-9-]{1,40}"
_S3 = r"s3(?:[.-](?:dualstack\.)?[a-z0-9-]{1,30})?"
_VIRTUAL_HOSTED = re.compile(rf"^{_BUCKET}\.{_S3}\.(?:{_SUFFIX})$")
_PATH_STYLE_HOST = re.compile(rf"^{_S3}\.(?:{_SUFFIX})$")
_PATH_STYLE_PATH = re.compile(rf"^/{_BUCKET}/")


def response_url_problem(url: Any, settings: Settings) -> str | None:
    """Why `url` is not a ResponseURL to answer (None: it is). Never echoes the URL (a credential)."""
    if not isinstance(url, str):
        return "the ResponseURL is missing"
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "the ResponseURL is not a URL"
    if parts.scheme != "https" or not host:
        return "the ResponseURL is not an https URL"
    if parts.username is not None or parts.password is not None:
        return "the ResponseURL carries credentials of its own"
    if host in settings.allowed_response_hosts or f"{host}:{port or 443}" in settings.allowed_response_hosts:
        return None
    if port not in (None, 443):
        return "the ResponseURL is not on the https port of a CloudFormation response bucket"
    if _VIRTUAL_HOSTED.fullmatch(host) or (
        _PATH_STYLE_HOST.fullmatch(host) and _PATH_STYLE_PATH.match(parts.path)
    ):
        return None
    return "the ResponseURL is not a CloudFormation response bucket"


def response_host(url: Any) -> str:
    """The host of a ResponseURL, for a log line (the host is no secret; its path and query are)."""
    try:
        return (urlsplit(url).hostname or "")[:120] if isinstance(url, str) else ""
    except ValueError:
        return ""


# --------------------------------------------------------------------------- CloudFormation's record
CLEANUP_STATUSES = ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
WAITING_STATUSES = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS"}
REREAD_DELAYS = (0.5, 1.0)  # CloudFormation's own record may lag the request by a moment


@dataclass(frozen=True)
class Record:
    """What DescribeStackResource says of the resource."""

    resource_type: str
    status: str
    physical_id: str


def confirm(aws: Aws, request: Request, place: Place) -> None:
    """Return if CloudFormation waits for exactly this request; else raise Refused, having changed
    and read nothing beyond CloudFormation's record."""
    if not STACK.match(request.stack_id) or not place.holds(Arn.parse(request.stack_id)):
        raise Refused(
            f"Refused: StackId is not a stack of this account and region ({place.account}, {place.region}); "
            "nothing was changed. Use the provider deployed where the stack is."
        )
    problem = ""
    for delay in (0.0, *REREAD_DELAYS):
        if delay:
            aws.pause(delay)
        problem = judge(request, read(aws, request), lambda: stack_status(aws, request.stack_id))
        if not problem:
            return
    raise Refused(
        f"Refused: CloudFormation does not show {request.logical_id[:60]} waiting for this {request.request_type} "
        f"({problem}); nothing was changed. Only CloudFormation may send requests to this provider."
    )


def judge(request: Request, record: Record | None, stack_status: Any) -> str:
    """Why `record` does not fit `request` ('' when it does). `stack_status()` is read only when the
    request can only be a replacement's cleanup."""
    if record is None:
        return "no such resource in that stack"
    if record.resource_type != RESOURCE_TYPE:
        return f"the resource is a {record.resource_type[:40]}, not a {RESOURCE_TYPE}"
    kind = request.request_type
    if kind == "Create":
        return "" if record.status == WAITING_STATUSES[kind] else "it is not being created"
    if kind == "Update":
        if record.status != WAITING_STATUSES[kind]:
            return "it is not being updated"
        return "" if record.physical_id == request.physical_id else "another PhysicalResourceId"
    if kind == "Delete":
        if record.physical_id == request.physical_id:
            return "" if record.status == "DELETE_IN_PROGRESS" else "it is not being deleted"
        # The old resource of a replacement (or of a rolled-back one) goes in the cleanup phase,
        # when CloudFormation's record already names the resource that replaced it.
        return "" if stack_status() in CLEANUP_STATUSES else "another PhysicalResourceId"
    return "an unknown request type"


def read(aws: Aws, request: Request) -> Record | None:
    try:
        detail = aws.call(
            "cloudformation",
            "describe_stack_resource",
            "confirming the request with CloudFormation",
            StackName=request.stack_id,
            LogicalResourceId=request.logical_id,
        )["StackResourceDetail"]
    except AwsError as err:
        if err.code == "ValidationError":  # no such stack, or no such resource in it
            return None
        raise
    return Record(
        str(detail.get("ResourceType", "")),
        str(detail.get("ResourceStatus", "")),
        str(detail.get("PhysicalResourceId") or ""),
    )


def stack_status(aws: Aws, stack_id: str) -> str:
    try:
        stacks = aws.call(
            "cloudformation",
            "describe_stacks",
            "confirming the request with CloudFormation",
            StackName=stack_id,
        )["Stacks"]
    except AwsError as err:
        if err.code == "ValidationError":
            return ""
        raise
    return str(stacks[0].get("StackStatus", "")) if stacks else ""


def still_waiting(aws: Aws, request: Request) -> bool:
    """After a Create or a replacement: does CloudFormation still wait for this request? It stops
    when the stack operation was cancelled or timed out; what the request made is then nobody's.
    A failed read keeps what was made (a read error must not destroy a good deployment)."""
    try:
        record = read(aws, request)
    except AwsError:
        return True
    return record is not None and record.status == WAITING_STATUSES.get(request.request_type)
