"""Lambda entry point of the Custom::EcsStateMachine provider: wiring only.

CloudFormation invokes this function with a custom resource request; crhelper (through
`Provider`) dispatches it to create/update/delete below, which parse, act through `Lifecycle`
and return the PhysicalResourceId. Every outcome ends in exactly one response to CloudFormation.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from ecs_state_machine.aws import Aws, Deadline
from ecs_state_machine.context import SERVICE, Place, place_of, provider_boundary, role_path
from ecs_state_machine.errors import ProviderError
from ecs_state_machine.lifecycle import Lifecycle, Request
from ecs_state_machine.provider import Provider

logger = Logger(service=SERVICE)
helper = Provider()


def _place(event: dict[str, Any], context: Any, aws: Aws) -> Place:
    if os.environ.get("AWS_SAM_LOCAL"):
        # `sam local invoke` passes a made-up function ARN: ask which account the credentials are for.
        caller = aws.call("sts", "get_caller_identity", "finding the account of the credentials")
        return Place(
            caller["Arn"].split(":")[1], os.environ.get("AWS_REGION", "us-east-1"), caller["Account"]
        )
    return place_of(context, event)


def _lifecycle(event: dict[str, Any], context: Any) -> Lifecycle:
    aws = Aws(Deadline(helper.remaining_ms))
    return Lifecycle(
        aws,
        _place(event, context, aws),
        role_path=role_path(),
        enforced_boundary=provider_boundary(),
        report_id=helper.report_id,
        timed_out=helper.timed_out,
    )


def _run(action: str, event: dict[str, Any], context: Any) -> str | None:
    request = Request.from_event(event)
    try:
        lifecycle = _lifecycle(event, context)
        if action == "delete":
            lifecycle.delete(request)
            logger.info("request done", extra={"outcome": "SUCCESS"})
            return None
        outcome = lifecycle.create(request) if action == "create" else lifecycle.update(request)
    except ProviderError as err:
        logger.warning("request failed", extra={"outcome": "FAILED", "reason": err.reason})
        raise
    except Exception as err:
        logger.exception("request failed unexpectedly", extra={"outcome": "FAILED"})
        raise ProviderError(
            f"The provider hit an unexpected {type(err).__name__}; nothing was left half made. "
            f"See the provider's log for RequestId {request.request_id}."
        ) from err
    helper.Data.update(outcome.data)
    logger.info("request done", extra={"outcome": "SUCCESS", "physical_id": outcome.physical_id})
    return outcome.physical_id


@helper.create
def create(event: dict[str, Any], context: Any) -> str | None:
    return _run("create", event, context)


@helper.update
def update(event: dict[str, Any], context: Any) -> str | None:
    return _run("update", event, context)


@helper.delete
def delete(event: dict[str, Any], context: Any) -> str | None:
    return _run("delete", event, context)


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    if isinstance(event, dict):
        logger.append_keys(
            request_type=event.get("RequestType"),
            stack_id=event.get("StackId"),
            logical_id=event.get("LogicalResourceId"),
            request_id=event.get("RequestId"),
        )
    try:
        helper(event, context)
    finally:
        logger.remove_keys(["request_type", "stack_id", "logical_id", "request_id"])
