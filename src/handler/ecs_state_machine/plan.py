"""From validated properties to everything the lifecycle writes: the definition, the role's
policy, and the attributes returned to CloudFormation. Both modes meet here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import definition as asl
from .context import policy_statements_allowed
from .errors import MISSING, PropertyError, ProviderError
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
    runs_child_executions: bool = False  # a Distributed Map starts executions of its own state machine

    def policy_for(self, state_machine_arn: str) -> dict[str, Any]:
        """The role policy for the state machine `state_machine_arn` (which a Distributed Map needs)."""
        if not self.runs_child_executions:
            return self.policy
        partition, region, account, name = (state_machine_arn.split(":")[i] for i in (1, 3, 4, 6))
        statements = [
            *self.policy["Statement"],
            {
                "Sid": "DistributedMapStart",
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": state_machine_arn,
            },
            {
                "Sid": "DistributedMapWatch",
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": f"arn:{partition}:states:{region}:{account}:execution:{name}/*",
            },
        ]
        return {**self.policy, "Statement": statements}


def make_plan(props: Properties, place: Place, aws: Aws) -> Plan:
    check_role_place(props, place)
    if props.policy_statements and not policy_statements_allowed():
        raise PropertyError(
            "PolicyStatements",
            MISSING,
            "is turned off for this account (the provider stack sets AllowPolicyStatements=false)",
            "Remove it and give RoleArn with a role you manage for the other integrations.",
        )
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
            runs_child_executions=asl.has_distributed_map(props.definition),
        )
    size = len(json.dumps(plan.policy_for(place.state_machine_arn("x" * 80)), separators=(",", ":")))
    if size > ROLE_POLICY_LIMIT and not props.role_arn:
        raise ProviderError(
            f"The role policy this state machine needs is {size} characters, over IAM's {ROLE_POLICY_LIMIT}. "
            "Split the workflow, or give RoleArn with a role you manage."
        )
    return plan
