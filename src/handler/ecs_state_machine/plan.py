"""From validated properties to everything the lifecycle writes: the definition, the role's
policy, and the attributes returned to CloudFormation. Both modes meet here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import definition as asl
from .errors import ProviderError
from .render import render_definition, render_role_policy, role_policy
from .resolve import check_role_place, resolve, resolve_definition

if TYPE_CHECKING:
    from .aws import Aws
    from .context import Place
    from .properties import Properties

# IAM's limit on the inline policies of one role, counted without white space.
ROLE_POLICY_LIMIT = 10_240


@dataclass(frozen=True)
class Plan:
    definition: dict[str, Any]
    policy: dict[str, Any]
    data: dict[str, str]


def make_plan(props: Properties, place: Place, aws: Aws) -> Plan:
    check_role_place(props, place)
    if props.definition is None:
        resolved = resolve(props, place, aws)
        td = resolved.task_definition
        plan = Plan(
            definition=render_definition(props, resolved),
            policy=render_role_policy(props, resolved),
            data={
                "TaskDefinitionArn": td.arn,
                "TaskDefinitionRevision": str(td.revision),
                "TaskDefinitionArns": td.arn,
                "ContainerName": resolved.container_name,
                "ContainerNames": ",".join(td.containers),
            },
        )
    else:
        asl.validate(props.definition)
        resolved_definition = resolve_definition(props, place, aws)
        plan = Plan(
            definition=resolved_definition.document,
            policy=role_policy(
                list(resolved_definition.grants),
                logging_enabled=bool(props.logging and props.logging.enabled),
                tracing_enabled=props.tracing_enabled,
                extra=props.policy_statements,
            ),
            data={"TaskDefinitionArns": ",".join(resolved_definition.task_definition_arns)},
        )
    size = len(json.dumps(plan.policy, separators=(",", ":")))
    if size > ROLE_POLICY_LIMIT and not props.role_arn:
        raise ProviderError(
            f"The role policy this state machine needs is {size} characters, over IAM's {ROLE_POLICY_LIMIT}. "
            "Split the workflow, or give RoleArn with a role you manage."
        )
    return plan
