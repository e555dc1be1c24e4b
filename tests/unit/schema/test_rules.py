"""The rules that need no AWS call: the administrator's, the place's, and those against the facts
resolved from the account."""

from __future__ import annotations

import pytest

from ecs_state_machine.base.arn import Place
from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.schema import rules, state_rules, task_rules
from ecs_state_machine.schema.definition import ecs_tasks
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.resolved import TaskDefinition

HERE = Place("aws", "us-east-1", "123456789012")
OPEN = Settings(passable_role_pattern="sfn/*", task_role_pattern="tasks/*")


def revision(
    task_role: str | None = "arn:aws:iam::123456789012:role/tasks/etl", **changes: object
) -> TaskDefinition:
    fields: dict[str, object] = {
        "arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3",
        "family": "etl",
        "revision": 3,
        "containers": ("app", "sidecar"),
        "network_mode": "awsvpc",
        "compatibilities": ("FARGATE",),
        "task_role_arn": task_role,
        "execution_role_arn": "arn:aws:iam::123456789012:role/tasks/etl-execution",
    }
    fields.update(changes)
    return TaskDefinition(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "settings", "problem"),
    [
        ("arn:aws:iam::123456789012:role/sfn/nightly", OPEN, None),
        (
            "arn:aws:iam::123456789012:role/sfn-admin",
            OPEN,
            "does not match the provider stack's PassableRolePattern",
        ),
        ("arn:aws:iam::123456789012:role/sfn/nightly", Settings(), "PassableRolePattern parameter is empty"),
        ("arn:aws:iam::999999999999:role/sfn/nightly", OPEN, "is not in this account"),
        ("arn:aws-cn:iam::123456789012:role/sfn/nightly", OPEN, "is not in this account"),
        (
            "arn:aws:iam::123456789012:role/ecs-state-machine/other",
            Settings(passable_role_pattern="*"),
            "where the provider keeps",
        ),
    ],
)
def test_a_handed_role_must_be_opened_up_in_this_account_and_off_the_providers_path(role, settings, problem):
    if problem is None:
        rules.check_role_arn(role, HERE, settings)
        return
    with pytest.raises(PropertyError, match=problem):
        rules.check_role_arn(role, HERE, settings)


@pytest.mark.parametrize(
    ("group", "problem"),
    [
        ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/x:*", None),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*", "LogGroupPattern"),
        (
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/x:*",
            "this account and region",
        ),
    ],
)
def test_logs_go_only_to_the_allowed_log_groups(group, problem):
    if problem is None:
        rules.check_log_group(group, HERE, Settings())
        return
    with pytest.raises(PropertyError, match=problem):
        rules.check_log_group(group, HERE, Settings())


def test_a_revisions_roles_must_fit_the_task_role_pattern():
    rules.check_task_roles(revision(), "TaskDefinition", HERE, OPEN)
    with pytest.raises(PropertyError, match="task role outside the provider stack's TaskRolePattern"):
        rules.check_task_roles(revision("arn:aws:iam::123456789012:role/admin"), "TaskDefinition", HERE, OPEN)
    with pytest.raises(PropertyError, match="task role outside this account"):
        rules.check_task_roles(
            revision("arn:aws:iam::999999999999:role/tasks/x"), "TaskDefinition", HERE, OPEN
        )
    rules.check_task_roles(revision(None, execution_role_arn=None), "TaskDefinition", HERE, OPEN)


def test_the_container_is_the_named_one_or_the_only_one():
    props = parse({"TaskDefinition": "etl", "Subnets": ["subnet-0a1b2c3d"]})
    with pytest.raises(PropertyError, match="is required: etl:3 has 2 containers"):
        task_rules.container(props, revision())
    assert task_rules.container(props, revision(containers=("only",))) == "only"
    named = parse({"TaskDefinition": "etl", "ContainerName": "sidecar", "Subnets": ["subnet-0a1b2c3d"]})
    assert task_rules.container(named, revision()) == "sidecar"


def test_network_and_launch_type_must_fit_the_revision():
    awsvpc = parse({"TaskDefinition": "etl", "Subnets": ["subnet-0a1b2c3d"]})
    task_rules.check_network(awsvpc, revision())
    with pytest.raises(PropertyError, match="Subnets: is required: etl:3 uses network mode awsvpc"):
        task_rules.check_network(parse({"TaskDefinition": "etl"}), revision())
    on_ec2 = parse({"TaskDefinition": "etl", "LaunchType": "EC2", "Subnets": ["subnet-0a1b2c3d"]})
    with pytest.raises(PropertyError, match="apply only to awsvpc tasks"):
        task_rules.check_network(on_ec2, revision(network_mode="bridge", compatibilities=("EC2",)))
    with pytest.raises(PropertyError, match="is not FARGATE-compatible"):
        task_rules.check_network(awsvpc, revision(compatibilities=("EC2",)))


def state(overrides: dict[str, object]) -> object:
    definition = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask",
                "Parameters": {"TaskDefinition": "etl", "Cluster": "c", "Overrides": overrides},
                "End": True,
            }
        },
    }
    (task,) = ecs_tasks(definition)
    return task


def test_a_state_may_name_only_its_own_revisions_roles():
    own = revision()
    state_rules.check_role_overrides(state({"TaskRoleArn": own.task_role_arn}), own)  # type: ignore[arg-type]
    with pytest.raises(PropertyError, match="is not the task role of etl:3"):
        state_rules.check_role_overrides(state({"TaskRoleArn": own.execution_role_arn}), own)  # type: ignore[arg-type]
    with pytest.raises(PropertyError, match="the provider cannot see"):
        state_rules.check_role_overrides(state({"TaskRoleArn": own.task_role_arn}), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "start"),
    [
        (
            {"LaunchType": "EC2", "CapacityProviderStrategy": [{"CapacityProvider": "spot"}]},
            "LaunchType 'EC2': cannot be combined",
        ),
        (
            {"IntegrationPattern": "WAIT_FOR_TASK_TOKEN", "EnvironmentPath": "$.env"},
            "EnvironmentPath '$.env': cannot be used",
        ),
        ({"StateMachineType": "EXPRESS"}, "StateMachineType 'EXPRESS': cannot wait for a task"),
        (
            {"TimeoutSeconds": 60, "HeartbeatSeconds": 60},
            "HeartbeatSeconds '60': must be less than TimeoutSeconds",
        ),
        (
            {"LaunchType": "EC2", "PlatformVersion": "1.4.0"},
            "PlatformVersion '1.4.0': applies only to Fargate",
        ),
        ({"SecurityGroups": ["sg-0a1b2c3d"]}, "Subnets: is required when SecurityGroups is set"),
        ({"AssignPublicIp": "true"}, "Subnets: is required when AssignPublicIp is true"),
        (
            {
                "RoleArn": "arn:aws:iam::123456789012:role/x",
                "RolePermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
            },
            "RolePermissionsBoundary 'arn:aws:iam::123456789012:policy/b': applies only",
        ),
    ],
)
def test_properties_that_cannot_work_together_are_refused_on_parsing(extra, start):
    with pytest.raises(PropertyError) as caught:
        parse({"TaskDefinition": "etl", **extra})
    assert caught.value.reason.startswith(start), caught.value.reason
