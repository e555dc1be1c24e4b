"""The property parser: CloudFormation's strings in, one typed object out, or a Reason that
names the property, shows the bad value and says the fix, in at most 256 characters."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.schema.properties import parse

BASE = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p", "TaskDefinition": "hogefuga"}


def parsed(**props: Any):
    return parse({**BASE, **props})


def test_defaults_match_the_documented_ones():
    props = parse(BASE)
    assert props.task_definition.family == "hogefuga" and props.task_definition.revision is None
    assert props.cluster == "default"
    assert props.launch_type == "FARGATE"
    (override,) = props.overrides("app")
    assert override.command_path == "$.command" and override.container_name == "app"
    assert props.integration_pattern == "RUN_JOB"
    assert props.pin_revision is True
    assert props.state_machine_type == "STANDARD"
    assert props.assign_public_ip is False
    assert props.tags == ()


@pytest.mark.parametrize(
    ("raw", "family", "revision"),
    [
        ("hogefuga", "hogefuga", None),
        ("hogefuga:7", "hogefuga", 7),
        ("arn:aws:ecs:us-east-1:123456789012:task-definition/hogefuga:12", "hogefuga", 12),
        ("arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/batch_job-2", "batch_job-2", None),
        ("123", "123", None),  # a family may be all digits: never guessed to be a number
    ],
)
def test_task_definition_forms(raw, family, revision):
    ref = parsed(TaskDefinition=raw).task_definition
    assert (ref.family, ref.revision) == (family, revision)


@pytest.mark.parametrize(
    ("props", "attr", "expected"),
    [
        ({"AssignPublicIp": "true", "Subnets": ["subnet-0a1b2c3d"]}, "assign_public_ip", True),
        ({"AssignPublicIp": "false"}, "assign_public_ip", False),
        ({"AssignPublicIp": "ENABLED", "Subnets": ["subnet-0a1b2c3d"]}, "assign_public_ip", True),
        ({"AssignPublicIp": "DISABLED"}, "assign_public_ip", False),
        ({"AssignPublicIp": True, "Subnets": ["subnet-0a1b2c3d"]}, "assign_public_ip", True),
        ({"PinRevision": "false"}, "pin_revision", False),
        ({"TimeoutSeconds": "300"}, "timeout_seconds", 300),
        ({"TimeoutSeconds": 300}, "timeout_seconds", 300),
        ({"HeartbeatSeconds": "60", "TimeoutSeconds": "600"}, "heartbeat_seconds", 60),
        ({"IntegrationPattern": "request_response"}, "integration_pattern", "REQUEST_RESPONSE"),
        ({"EnableExecuteCommand": "true"}, "enable_execute_command", True),
        ({"TracingEnabled": "true"}, "tracing_enabled", True),
        ({"Subnets": "subnet-0a1b2c3d,subnet-0a1b2c3e"}, "subnets", ("subnet-0a1b2c3d", "subnet-0a1b2c3e")),
        ({"CommandPath": "$.job['args']"}, "command_path", "$.job['args']"),
        ({"CommandPath": "$$.Execution.Input.command"}, "command_path", "$$.Execution.Input.command"),
        ({"Tags": [{"Key": "team", "Value": "data"}]}, "tags", (("team", "data"),)),
        ({"Tags": {"team": "data"}}, "tags", (("team", "data"),)),
        (
            {"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c1"},
            "cluster",
            "arn:aws:ecs:us-east-1:123456789012:cluster/c1",
        ),
        ({"ServiceTimeout": "600"}, "task_definition", parse(BASE).task_definition),
    ],
)
def test_strings_are_converted_by_declared_type(props, attr, expected):
    assert getattr(parsed(**props), attr) == expected


def test_retry_numbers_arrive_as_strings_and_leave_as_numbers():
    props = parsed(
        Retry=[
            {
                "ErrorEquals": ["ECS.AmazonECSException"],
                "IntervalSeconds": "5",
                "MaxAttempts": "3",
                "BackoffRate": "1.5",
            },
            {
                "ErrorEquals": ["States.ALL"],
                "BackoffRate": "2.0",
                "MaxDelaySeconds": "30",
                "JitterStrategy": "FULL",
            },
        ]
    )
    first, second = props.retry
    assert first == {
        "ErrorEquals": ["ECS.AmazonECSException"],
        "IntervalSeconds": 5,
        "MaxAttempts": 3,
        "BackoffRate": 1.5,
    }
    assert second["BackoffRate"] == 2 and isinstance(second["MaxDelaySeconds"], int)


def test_capacity_provider_strategy_replaces_the_default_launch_type():
    props = parsed(
        CapacityProviderStrategy=[{"CapacityProvider": "FARGATE_SPOT", "Weight": "2", "Base": "1"}]
    )
    assert props.launch_type is None
    item = props.capacity_provider_strategy[0]
    assert (item.capacity_provider, item.weight, item.base) == ("FARGATE_SPOT", 2, 1)


def test_logging_group_arn_gets_the_suffix_step_functions_needs():
    props = parsed(
        Logging={
            "Level": "ALL",
            "IncludeExecutionData": "true",
            "LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/batch",
        }
    )
    assert props.logging.log_group_arn.endswith(":log-group:/sfn/batch:*")
    assert props.logging.include_execution_data is True


# Each bad input: the property the Reason must start with, and a fragment of the fix.
BAD = [
    ({"TaskDefinition": None}, "TaskDefinition", "is required"),
    ({"Subnet": ["subnet-0a1b2c3d"]}, "Subnet", "Did you mean Subnets?"),
    ({"taskdefinition": "x"}, "taskdefinition", "Did you mean TaskDefinition?"),
    ({"Bogus": "1"}, "Bogus", "Known properties"),
    ({"TaskDefinition": "hoge fuga"}, "TaskDefinition", "family name, family:revision"),
    ({"TaskDefinition": "hogefuga:0"}, "TaskDefinition", "family name"),
    ({"TaskDefinition": "arn:aws:ecs:us-east-1:123:task-definition/x:1"}, "TaskDefinition", "ARN"),
    ({"TaskDefinition": ["a"]}, "TaskDefinition", "must be a string"),
    ({"Cluster": "my cluster"}, "Cluster", "cluster name or an ECS cluster ARN"),
    ({"LaunchType": "LAMBDA"}, "LaunchType", "FARGATE, EC2, EXTERNAL"),
    (
        {"LaunchType": "EC2", "CapacityProviderStrategy": [{"CapacityProvider": "cp"}]},
        "LaunchType",
        "Remove one",
    ),
    (
        {"CapacityProviderStrategy": [{"Weight": "1"}]},
        "CapacityProviderStrategy[0].CapacityProvider",
        "is required",
    ),
    (
        {"CapacityProviderStrategy": [{"CapacityProvider": "cp", "Weight": "heavy"}]},
        "CapacityProviderStrategy[0].Weight",
        "0 to 1000",
    ),
    ({"Subnets": ["subnet-xyz"]}, "Subnets[0]", "subnet IDs"),
    (
        {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["default"]},
        "SecurityGroups[0]",
        "security group IDs",
    ),
    ({"SecurityGroups": ["sg-0a1b2c3d"]}, "Subnets", "required when SecurityGroups"),
    ({"AssignPublicIp": "maybe"}, "AssignPublicIp", "true or false"),
    ({"CommandPath": "command"}, "CommandPath", "JSONPath"),
    ({"CommandPath": "$..command"}, "CommandPath", "JSONPath"),
    ({"CommandPath": "$.a[?(@.x)]"}, "CommandPath", "no filters"),
    ({"EnvironmentPath": "$.env[*]"}, "EnvironmentPath", "JSONPath"),
    (
        {"EnvironmentPath": "$.env", "IntegrationPattern": "WAIT_FOR_TASK_TOKEN"},
        "EnvironmentPath",
        "TASK_TOKEN",
    ),
    ({"IntegrationPattern": "SYNC"}, "IntegrationPattern", "RUN_JOB, REQUEST_RESPONSE, WAIT_FOR_TASK_TOKEN"),
    ({"PinRevision": "yes please"}, "PinRevision", "true or false"),
    ({"StateMachineName": "nightly batch"}, "StateMachineName", "1-80"),
    ({"StateMachineName": "x" * 81}, "StateMachineName", "1-80"),
    ({"StateMachineType": "EXPRESS"}, "StateMachineType", "REQUEST_RESPONSE"),
    ({"StateMachineType": "FAST"}, "StateMachineType", "STANDARD, EXPRESS"),
    ({"TimeoutSeconds": "soon"}, "TimeoutSeconds", "1 to 99999999"),
    ({"TimeoutSeconds": "0"}, "TimeoutSeconds", "1 to 99999999"),
    ({"TimeoutSeconds": "1.5"}, "TimeoutSeconds", "whole number"),
    ({"HeartbeatSeconds": "600", "TimeoutSeconds": "60"}, "HeartbeatSeconds", "TimeoutSeconds"),
    ({"Retry": [{"MaxAttempts": "3"}]}, "Retry[0].ErrorEquals", "is required"),
    ({"Retry": [{"ErrorEquals": ["States.ALL"], "Backoff": "2"}]}, "Retry[0].Backoff", "Use only"),
    (
        {"Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": "0.5"}]},
        "Retry[0].BackoffRate",
        "1.0 to 1000.0",
    ),
    ({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}, "Retry[0]", "Put it last"),
    ({"Retry": "States.ALL"}, "Retry[0]", "must be a map"),
    ({"PropagateTags": "SERVICE"}, "PropagateTags", "TASK_DEFINITION"),
    ({"RoleArn": "my-role"}, "RoleArn", "IAM role ARN"),
    (
        {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "RolePermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
        },
        "RolePermissionsBoundary",
        "Remove one",
    ),
    ({"RolePermissionsBoundary": "boundary"}, "RolePermissionsBoundary", "managed policy ARN"),
    ({"Logging": {"Level": "ALL"}}, "Logging.LogGroupArn", "Level: OFF"),
    (
        {"Logging": {"Level": "LOUD", "LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:g"}},
        "Logging.Level",
        "ALL, ERROR, FATAL, OFF",
    ),
    ({"Logging": "ALL"}, "Logging", "must be a map"),
    ({"Tags": [{"Key": "team"}]}, "Tags[0].Value", "is required"),
    ({"Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "x"}]}, "Tags[0].Key", "reserved"),
    ({"Tags": [{"Key": "ecs-state-machine:stack-id", "Value": "x"}]}, "Tags[0].Key", "reserved"),
    ({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "Tags[1].Key", "once"),
    ({"Tags": [{"Key": "k" * 129, "Value": "v"}]}, "Tags[0].Key", "1-128"),
    ({"Tags": [{"Key": "k", "Value": "v" * 257}]}, "Tags[0].Value", "0-256"),
    ({"PlatformVersion": "1.4"}, "PlatformVersion", "LATEST"),
    ({"PlatformVersion": "1.4.0", "LaunchType": "EC2"}, "PlatformVersion", "Remove it for EC2"),
]


@pytest.mark.parametrize(("props", "prop", "fix"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_names_the_property_and_the_fix(props, prop, fix):
    raw = {**BASE, **props}
    if props.get("TaskDefinition", "") is None:
        del raw["TaskDefinition"]
    with pytest.raises(PropertyError) as caught:
        parse(raw)
    reason = caught.value.reason
    assert reason.startswith(prop), reason
    assert fix in reason, reason
    assert len(reason) <= 256


def test_huge_and_unprintable_values_still_give_a_short_printable_reason():
    with pytest.raises(PropertyError) as caught:
        parsed(Cluster="\u202e" + "x\n" * 5000)
    reason = caught.value.reason
    assert reason.startswith("Cluster") and len(reason) <= 256 and reason.isprintable()
    assert "Use a cluster name or an ECS cluster ARN." in reason


def test_not_a_map():
    with pytest.raises(PropertyError, match=r"^ResourceProperties"):
        parse(["TaskDefinition", "x"])
