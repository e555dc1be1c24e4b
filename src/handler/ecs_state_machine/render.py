"""Pure rendering: the state machine definition, the role's inline policy and its trust policy.

Nothing here calls AWS; every document is a function of the properties and the resolved facts.
Partition, region and account always come from resolved ARNs, never a hard-coded "aws".
"""

from __future__ import annotations

from typing import Any

from .properties import Properties
from .resolve import Resolved

TASK_STATE = "RunTask"
EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule"

_RESOURCE_SUFFIX = {"RUN_JOB": ".sync", "REQUEST_RESPONSE": "", "WAIT_FOR_TASK_TOKEN": ".waitForTaskToken"}

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


def _arn_parts(arn: str) -> tuple[str, str, str]:
    parts = arn.split(":")
    return parts[1], parts[3], parts[4]


def task_definition_parameter(props: Properties, resolved: Resolved) -> str:
    td = resolved.task_definition
    return td.arn if props.pin_revision else td.family


def render_definition(props: Properties, resolved: Resolved) -> dict[str, Any]:
    td = resolved.task_definition
    partition, _, _ = _arn_parts(td.arn)
    override: dict[str, Any] = {"Name": resolved.container_name, "Command.$": props.command_path}
    if props.environment_path:
        override["Environment.$"] = props.environment_path
    if props.integration_pattern == "WAIT_FOR_TASK_TOKEN":
        override["Environment"] = [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]

    parameters: dict[str, Any] = {
        "Cluster": resolved.cluster_arn,
        "TaskDefinition": task_definition_parameter(props, resolved),
    }
    if props.capacity_provider_strategy:
        parameters["CapacityProviderStrategy"] = [
            {
                "CapacityProvider": item.capacity_provider,
                **({"Weight": item.weight} if item.weight is not None else {}),
                **({"Base": item.base} if item.base is not None else {}),
            }
            for item in props.capacity_provider_strategy
        ]
    elif props.launch_type:
        parameters["LaunchType"] = props.launch_type
    if props.platform_version:
        parameters["PlatformVersion"] = props.platform_version
    if td.network_mode == "awsvpc":
        vpc: dict[str, Any] = {"Subnets": list(props.subnets)}
        if props.security_groups:
            vpc["SecurityGroups"] = list(props.security_groups)
        vpc["AssignPublicIp"] = "ENABLED" if props.assign_public_ip else "DISABLED"
        parameters["NetworkConfiguration"] = {"AwsvpcConfiguration": vpc}
    parameters["Overrides"] = {"ContainerOverrides": [override]}
    if props.propagate_tags == "TASK_DEFINITION":
        parameters["PropagateTags"] = "TASK_DEFINITION"
    if props.enable_execute_command:
        parameters["EnableExecuteCommand"] = True

    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::ecs:runTask{_RESOURCE_SUFFIX[props.integration_pattern]}",
        "Parameters": parameters,
    }
    if props.timeout_seconds:
        state["TimeoutSeconds"] = props.timeout_seconds
    if props.heartbeat_seconds:
        state["HeartbeatSeconds"] = props.heartbeat_seconds
    if props.retry:
        state["Retry"] = [dict(retrier) for retrier in props.retry]
    state["End"] = True

    label = (
        f"{td.family}:{td.revision}" if props.pin_revision else f"the latest ACTIVE revision of {td.family}"
    )
    return {
        "Comment": f"Runs a command in container {resolved.container_name} of {label}",
        "StartAt": TASK_STATE,
        "States": {TASK_STATE: state},
    }


def render_role_policy(props: Properties, resolved: Resolved) -> dict[str, Any]:
    """The least-privilege inline policy for the state machine's role."""
    td = resolved.task_definition
    partition, region, account = _arn_parts(td.arn)
    cluster_condition = {"ArnEquals": {"ecs:cluster": resolved.cluster_arn}}
    tasks_in_cluster = f"arn:{partition}:ecs:{region}:{account}:task/{resolved.cluster_name}/*"
    run_task_resource = td.arn if props.pin_revision else f"{td.family_arn_prefix}:*"

    statements: list[dict[str, Any]] = [
        {
            "Sid": "RunTask",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": run_task_resource,
            "Condition": cluster_condition,
        }
    ]
    if td.roles:
        statements.append(
            {
                "Sid": "PassTaskRoles",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": list(td.roles) if len(td.roles) > 1 else td.roles[0],
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            }
        )
    if props.integration_pattern == "RUN_JOB":
        statements.append(
            {
                "Sid": "WatchTask",
                "Effect": "Allow",
                "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
                "Resource": tasks_in_cluster,
                "Condition": cluster_condition,
            }
        )
        statements.append(
            {
                "Sid": "TaskEventsRule",
                "Effect": "Allow",
                "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                "Resource": f"arn:{partition}:events:{region}:{account}:rule/{EVENTS_RULE}",
            }
        )
    if props.propagate_tags == "TASK_DEFINITION":
        statements.append(
            {
                "Sid": "TagNewTask",
                "Effect": "Allow",
                "Action": "ecs:TagResource",
                "Resource": tasks_in_cluster,
                "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
            }
        )
    if props.logging and props.logging.enabled:
        # Step Functions' log delivery APIs support no resource-level permissions.
        statements.append(
            {"Sid": "LogDelivery", "Effect": "Allow", "Action": LOG_DELIVERY_ACTIONS, "Resource": "*"}
        )
    if props.tracing_enabled:
        statements.append({"Sid": "XRay", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def render_trust_policy(partition: str, region: str, account: str) -> dict[str, Any]:
    """Step Functions may assume the role only for state machines of this account and region."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:states:{region}:{account}:stateMachine:*"},
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
