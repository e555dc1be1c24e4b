"""Lambda entry point of the Custom::EcsStateMachine provider: wiring only.

CloudFormation invokes this function with a custom resource request. `Provider` (crhelper's
request lifecycle) checks the ResponseURL and dispatches by RequestType to create/update/delete
below; each confirms with CloudFormation that it made the request, acts through `Lifecycle`, and
returns the PhysicalResourceId. Every outcome ends in exactly one response to CloudFormation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from ecs_state_machine import __version__
from ecs_state_machine.applying.deploy import Outcome
from ecs_state_machine.base.aws import Aws, Deadline, invoked_place
from ecs_state_machine.base.errors import ProviderError, Refused
from ecs_state_machine.base.log import SERVICE
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.cloudformation.authenticity import confirm, still_waiting
from ecs_state_machine.cloudformation.lifecycle import Lifecycle
from ecs_state_machine.cloudformation.provider import Provider
from ecs_state_machine.schema.request import Request

logger = Logger(service=SERVICE)
logger.append_keys(provider_version=__version__)
helper = Provider()

Operation = Callable[[Lifecycle, Request], Outcome | None]


def _act(request: Request, context: Any, operation: Operation) -> str | None:
    settings = Settings.from_environment(os.environ)
    aws = Aws(Deadline(helper.remaining_ms))
    lifecycle = Lifecycle(
        aws,
        invoked_place(context, request.stack_id, aws, sam_local=settings.sam_local),
        settings,
        report_id=helper.report_id,
        timed_out=helper.timed_out,
    )
    if request.request_type == "Delete" and not lifecycle.is_state_machine_arn(request.physical_id):
        # A failed Create's id (or one CloudFormation invented): there is nothing to touch.
        logger.info("nothing to delete: the id is not a state machine of this account and region")
        return None
    if settings.sam_local:
        logger.warning("not confirmed with CloudFormation: running under sam local invoke, there is no stack")
    else:
        confirm(aws, request, lifecycle.place)
    outcome = operation(lifecycle, request)
    if outcome is None:
        return None
    if (
        outcome.physical_id != request.physical_id
        and not settings.sam_local
        and not still_waiting(aws, request)
    ):
        # Cancelled or timed out: CloudFormation will never adopt what this request made.
        lifecycle.discard(request, outcome.physical_id)
        raise Refused(
            "CloudFormation stopped waiting for this request (the stack operation was cancelled or timed "
            "out); what it made was removed. Deploy again."
        )
    helper.Data.update(outcome.data)
    return outcome.physical_id


def _serve(event: dict[str, Any], context: Any, operation: Operation) -> str | None:
    request = Request.from_event(event)
    try:
        physical_id = _act(request, context, operation)
    except ProviderError as err:
        # A Reason may show a property's value: the log names the category and property only.
        logger.warning(
            "request failed",
            extra={
                "outcome": "FAILED",
                "error_category": err.category,
                "property": getattr(err, "prop", None),
            },
        )
        raise
    except Exception as err:
        logger.exception(
            "request failed unexpectedly", extra={"outcome": "FAILED", "error_category": "internal"}
        )
        raise ProviderError(
            f"The provider hit an unexpected {type(err).__name__}; nothing was left half made. "
            f"See the provider's log for RequestId {request.request_id}."
        ) from err
    logger.info("request done", extra={"outcome": "SUCCESS", "physical_id": physical_id})
    return physical_id


@helper.create
def create(event: dict[str, Any], context: Any) -> str | None:
    return _serve(event, context, Lifecycle.create)


@helper.update
def update(event: dict[str, Any], context: Any) -> str | None:
    return _serve(event, context, Lifecycle.update)


@helper.delete
def delete(event: dict[str, Any], context: Any) -> str | None:
    return _serve(event, context, Lifecycle.delete)


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
