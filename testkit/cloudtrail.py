"""Events as EventBridge delivers them to the follower: ECS's task definition calls recorded by
CloudTrail ("AWS API Call via CloudTrail"), and the scheduled sweep. The shapes follow AWS's
documentation of CloudTrail records for ECS and of EventBridge's envelope; moto emits neither, so
tests and the demo play EventBridge's part."""

from __future__ import annotations

import uuid
from typing import Any

from testkit.estate import ACCOUNT, REGION


def ecs_call(
    name: str,
    parameters: dict[str, Any],
    response: dict[str, Any] | None = None,
    *,
    account: str = ACCOUNT,
    region: str = REGION,
    error: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:pipeline",
            "arn": f"arn:aws:sts::{account}:assumed-role/deploy-pipeline/pipeline",
            "accountId": account,
        },
        "eventTime": "2026-11-29T06:00:00Z",
        "eventSource": "ecs.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": parameters,
        "responseElements": None if error else response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        detail["errorCode"] = error
        detail["errorMessage"] = "injected"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs",
        "account": account,
        "time": "2026-11-29T06:00:01Z",
        "region": region,
        "resources": [],
        "detail": detail,
    }


def registered(revision_arn: str, **kwargs: Any) -> dict[str, Any]:
    """RegisterTaskDefinition of the revision `revision_arn` (as ECS answered it)."""
    family, number = revision_arn.rsplit("/", 1)[1].split(":")
    return ecs_call(
        "RegisterTaskDefinition",
        {"family": family, "containerDefinitions": [{"name": "app", "image": "example"}]},
        {"taskDefinition": {"taskDefinitionArn": revision_arn, "family": family, "revision": int(number)}},
        **kwargs,
    )


def deregistered(revision: str, **kwargs: Any) -> dict[str, Any]:
    """DeregisterTaskDefinition of `revision` (family:revision or ARN)."""
    return ecs_call(
        "DeregisterTaskDefinition", {"taskDefinition": revision}, {"taskDefinition": {}}, **kwargs
    )


def deleted(*revisions: str, **kwargs: Any) -> dict[str, Any]:
    """DeleteTaskDefinitions of `revisions`."""
    return ecs_call(
        "DeleteTaskDefinitions", {"taskDefinitions": list(revisions)}, {"taskDefinitions": []}, **kwargs
    )


def sweep() -> dict[str, Any]:
    """The scheduled sweep, as an EventBridge schedule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-29T07:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ecs-state-machine-FollowSweepRule-EXAMPLE"],
        "detail": {},
    }
