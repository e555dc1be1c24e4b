"""Pure rendering of the role: its inline policy (each task state's grant, merged) and its trust
policy; and the logging and tracing configuration (TaskDefinition mode's definition is
`single_task`'s, a Definition is the stack's own).

Nothing here calls AWS; every document is a function of the properties and the resolved facts.
Partition, region and account always come from resolved ARNs, never a hard-coded "aws".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..base.arn import Arn, Place, state_machine_name
from ..schema.resolved import Resolved, TaskGrant, grant_for

if TYPE_CHECKING:
    from ..schema.model import Properties, SingleTask

EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule"

LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
XRAY_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


def _parsed(arn: str) -> Arn:
    parsed = Arn.parse(arn)
    if parsed is None:
        raise ValueError(f"not an ARN: {arn}")
    return parsed


def _place(arn: str) -> Place:
    return _parsed(arn).place


def _name(arn: str) -> str:
    return _parsed(arn).name


def single_task_grant(props: SingleTask, resolved: Resolved) -> TaskGrant:
    return grant_for(
        props.integration_pattern,
        resolved.cluster_arn,
        (resolved.task_definition,),
        exact=props.pin_revision,
        tags_task=props.propagate_tags == "TASK_DEFINITION",
    )


def _allow(sid: str, action: str | list[str], resources: list[str], condition: Any = None) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resources}
    return {**statement, "Condition": condition} if condition else statement


def task_statements(grant: TaskGrant) -> list[dict[str, Any]]:
    """Exactly what one task state needs, no more: CDK's EcsRunTask statements, scoped tighter."""
    if grant.assume_role:
        return [_allow("AssumeTaskCredentials", "sts:AssumeRole", [grant.assume_role])]
    assert grant.cluster_arn, "a grant without Credentials names its cluster"
    place = _place(grant.cluster_arn)
    cluster_condition = {"ArnEquals": {"ecs:cluster": grant.cluster_arn}}
    tasks_in_cluster = place.arn("ecs", f"task/{_name(grant.cluster_arn)}/*")
    statements = [_allow("RunTask", "ecs:RunTask", list(grant.run_task_resources), cluster_condition)]
    if grant.pass_roles:
        passed_to_ecs = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        statements.append(_allow("PassTaskRoles", "iam:PassRole", list(grant.pass_roles), passed_to_ecs))
    if grant.pattern == "RUN_JOB":
        statements += [
            _allow("WatchTask", ["ecs:DescribeTasks", "ecs:StopTask"], [tasks_in_cluster], cluster_condition),
            _allow(
                "TaskEventsRule",
                ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                [place.arn("events", f"rule/{EVENTS_RULE}")],
            ),
        ]
    if grant.tags_task:
        on_run = {"StringEquals": {"ecs:CreateAction": "RunTask"}}
        statements.append(_allow("TagNewTask", "ecs:TagResource", [tasks_in_cluster], on_run))
    return statements


def merge_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One statement per (effect, actions, condition), resources united in first-seen order; a
    single resource is written as a string. Sids stay unique."""
    merged: dict[str, dict[str, Any]] = {}
    for statement in statements:
        key = json.dumps(
            [statement["Effect"], statement["Action"], statement.get("Condition")], sort_keys=True
        )
        if key in merged:
            resources = merged[key]["Resource"]
            resources.extend(r for r in statement["Resource"] if r not in resources)
        else:
            merged[key] = {**statement, "Resource": list(statement["Resource"])}
    result, used = [], set()
    for statement in merged.values():
        sid, counter = statement["Sid"], 2
        while sid in used:
            sid, counter = f"{statement['Sid']}{counter}", counter + 1
        used.add(sid)
        resource = statement["Resource"]
        result.append({**statement, "Sid": sid, "Resource": resource[0] if len(resource) == 1 else resource})
    return result


def union(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements granting what `first` and `second` grant, merged."""
    listed = [
        {**s, "Resource": s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]}
        for s in (*first, *second)
    ]
    return merge_statements(listed)


def role_policy(
    grants: list[TaskGrant],
    *,
    logging_enabled: bool = False,
    tracing_enabled: bool = False,
    extra: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The state machine role's inline policy: the union of what each task state needs, plus
    log delivery and X-Ray only when enabled, plus the stack author's own statements."""
    statements = merge_statements([s for grant in grants for s in task_statements(grant)])
    if logging_enabled:
        # Step Functions' log delivery APIs support no resource-level permissions.
        statements.append(
            {"Sid": "LogDelivery", "Effect": "Allow", "Action": LOG_DELIVERY_ACTIONS, "Resource": "*"}
        )
    if tracing_enabled:
        statements.append({"Sid": "XRay", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"})
    ours = {s["Sid"] for s in statements}
    for index, statement in enumerate(extra):
        own = dict(statement)
        if own.get("Sid") in ours or "Sid" not in own:
            own["Sid"] = f"Stack{index + 1}"
        statements.append(own)
    return {"Version": "2012-10-17", "Statement": statements}


def render_role_policy(props: SingleTask, resolved: Resolved) -> dict[str, Any]:
    """The least-privilege inline policy for TaskDefinition mode's one task state."""
    return role_policy(
        [single_task_grant(props, resolved)],
        logging_enabled=bool(props.logging and props.logging.enabled),
        tracing_enabled=props.tracing_enabled,
    )


def render_trust_policy(state_machine_arn: str) -> dict[str, Any]:
    """Step Functions may assume the role only for this one state machine: its own ARN, and the
    ARNs Step Functions derives from it (`name:version`, `name:alias`, `name/map-run-label`). A
    state machine name holds neither ':' nor '/', so no other state machine matches."""
    account = _place(state_machine_arn).account
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {
                        "aws:SourceArn": [
                            state_machine_arn,
                            f"{state_machine_arn}:*",
                            f"{state_machine_arn}/*",
                        ]
                    },
                },
            }
        ],
    }


def logging_configuration(props: Properties) -> dict[str, Any]:
    if not props.logging or not props.logging.enabled:
        return {"level": "OFF", "includeExecutionData": False}
    return {
        "level": props.logging.level,
        "includeExecutionData": props.logging.include_execution_data,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": props.logging.log_group_arn}}],
    }


def tracing_configuration(props: Properties) -> dict[str, Any]:
    return {"enabled": props.tracing_enabled}


def key_statements(
    key_arn: str | None, state_machine_arn: str, logging: dict[str, Any]
) -> list[dict[str, Any]]:
    """A customer-managed key: the role encrypts and decrypts with it only for this state machine
    (AWS's documented encryption context), and, when it logs, CloudWatch Logs' delivery may have data
    keys made for the account's log groups."""
    if not key_arn:
        return []
    place = _place(state_machine_arn)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EncryptionKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn}
            },
        }
    ]
    if logging.get("level", "OFF") != "OFF":
        statements.append(
            {
                "Sid": "EncryptionKeyForLogs",
                "Effect": "Allow",
                "Action": "kms:GenerateDataKey",
                "Resource": key_arn,
                # As AWS documents it: the value is the account's logs ARN ending in "*".
                "Condition": {
                    "StringEquals": {"kms:EncryptionContext:SourceArn": place.arn("logs", resource="*")}
                },
            }
        )
    return statements


def child_execution_statements(state_machine_arn: str) -> list[dict[str, Any]]:
    """A Distributed Map starts, watches and stops child executions of its own state machine."""
    place, name = _place(state_machine_arn), state_machine_name(state_machine_arn)
    return [
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
            "Resource": place.arn("states", f"execution:{name}/*"),
        },
    ]
