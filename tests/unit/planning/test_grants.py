"""Grants for the RunTask fields that need one, whatever form they take (literal, JSONPath `.$`,
JSONata): tagging the new task needs ecs:TagResource, Credentials needs sts:AssumeRole on exactly
that role (and then nothing else), and the Credentials rules of the provider stack's
administrator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecs_state_machine.base.arn import Place
from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.planning.render import role_policy
from ecs_state_machine.schema import state_rules
from ecs_state_machine.schema.definition import ecs_tasks
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.resolved import StateFacts, TaskDefinition
from testkit.samples import run_task

HERE = Place("aws", "us-east-1", "123456789012")
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
OTHER = "arn:aws:iam::222233334444:role/ecs-runner"
SAME = "arn:aws:iam::123456789012:role/ecs-runner"
ALLOWED = Settings(credentials_role_patterns=("arn:aws:iam::*:role/ecs-runner",))
TD = TaskDefinition(
    arn="arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3",
    family="etl",
    revision=3,
    containers=("app",),
    network_mode="awsvpc",
    compatibilities=("FARGATE",),
    task_role_arn="arn:aws:iam::123456789012:role/etl",
    execution_role_arn=None,
)


def document(state: dict[str, Any], *, jsonata: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {"StartAt": "Run", "States": {"Run": {**state, "End": True}}}
    if jsonata:
        doc["QueryLanguage"] = "JSONata"
    return doc


def jsonpath_state(**parameters: Any) -> dict[str, Any]:
    state = run_task("etl", "app")
    state["Parameters"].update(parameters)
    return state


def jsonata_state(**arguments: Any) -> dict[str, Any]:
    state = run_task("etl", "app")
    state["Arguments"] = {**state.pop("Parameters"), **arguments}
    state["Arguments"]["Overrides"]["ContainerOverrides"][0] = {
        "Name": "app",
        "Command": "{% $states.input.command %}",
    }
    return state


def statements_of(state: dict[str, Any], *, jsonata: bool = False) -> dict[str, dict[str, Any]]:
    (task,) = ecs_tasks(document(state, jsonata=jsonata))
    cluster = None if task.credentials_account not in (None, HERE.account) else CLUSTER
    facts = StateFacts(task, cluster, (TD,) if cluster else ())
    return {s["Sid"]: s for s in role_policy([facts.grant(True)])["Statement"]}


@pytest.mark.parametrize(
    ("state", "jsonata", "tags"),
    [
        (jsonpath_state(), False, False),
        (jsonpath_state(Tags=[{"Key": "team", "Value": "data"}]), False, True),
        (jsonpath_state(Tags=[]), False, False),
        (jsonpath_state(**{"Tags.$": "$.tags"}), False, True),
        (jsonpath_state(PropagateTags="TASK_DEFINITION"), False, True),
        (jsonpath_state(PropagateTags="NONE"), False, False),
        (jsonpath_state(**{"PropagateTags.$": "$.propagate"}), False, True),
        (jsonata_state(Tags="{% $states.input.tags %}"), True, True),
        (jsonata_state(PropagateTags="{% $states.input.propagate %}"), True, True),
        (jsonata_state(Tags=[{"Key": "run", "Value": "{% $states.context.Execution.Name %}"}]), True, True),
        (jsonata_state(PropagateTags="NONE"), True, False),
    ],
)
def test_a_state_that_tags_its_task_in_any_form_may_tag_only_new_tasks_of_its_cluster(state, jsonata, tags):
    by_sid = statements_of(state, jsonata=jsonata)
    assert ("TagNewTask" in by_sid) is tags
    if tags:
        assert by_sid["TagNewTask"] == {
            "Sid": "TagNewTask",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": "arn:aws:ecs:us-east-1:123456789012:task/batch/*",
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        }


def test_enable_execute_command_needs_nothing_more_than_run_task():
    plain = statements_of(jsonpath_state())
    assert statements_of(jsonpath_state(EnableExecuteCommand=True)) == plain


@pytest.mark.parametrize("role", [OTHER, SAME])
@pytest.mark.parametrize("jsonata", [False, True])
def test_a_state_with_credentials_may_only_assume_that_role(role, jsonata):
    state = (
        jsonata_state(Tags="{% $states.input.tags %}")
        if jsonata
        else jsonpath_state(Tags=[{"Key": "a", "Value": "b"}])
    )
    state["Credentials"] = {"RoleArn": role}
    by_sid = statements_of(state, jsonata=jsonata)
    assert by_sid == {
        "AssumeTaskCredentials": {
            "Sid": "AssumeTaskCredentials",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role,
        }
    }


def test_states_with_and_without_credentials_get_each_their_own_grant():
    plain = jsonpath_state()
    borrowed = {**copy.deepcopy(plain), "Credentials": {"RoleArn": OTHER}}
    doc = {
        "StartAt": "A",
        "States": {"A": {**plain, "Next": "B"}, "B": {**borrowed, "End": True}},
    }
    a, b = ecs_tasks(doc)
    grants = [StateFacts(a, CLUSTER, (TD,)).grant(True), StateFacts(b, None, ()).grant(True)]
    sids = [s["Sid"] for s in role_policy(grants)["Statement"]]
    assert sids == ["RunTask", "PassTaskRoles", "WatchTask", "TaskEventsRule", "AssumeTaskCredentials"]


@pytest.mark.parametrize(
    ("credentials", "jsonata", "reason"),
    [
        (
            {"RoleArn.$": "$.role"},
            False,
            "Definition.States.Run.Credentials.RoleArn.$: chooses the role to assume at run time",
        ),
        (
            {"RoleArn": "{% $states.input.role %}"},
            True,
            "Definition.States.Run.Credentials.RoleArn '{% $states.input.role %}': chooses the role to assume at run time",
        ),
        (
            {"RoleArn": "ecs-runner"},
            False,
            "Definition.States.Run.Credentials.RoleArn 'ecs-runner': is not an IAM role ARN",
        ),
        ({}, False, "Definition.States.Run.Credentials.RoleArn: is not an IAM role ARN"),
        (
            "arn:aws:iam::222233334444:role/x",
            False,
            "Definition.States.Run.Credentials: must be a map with RoleArn",
        ),
    ],
)
def test_credentials_must_name_one_role(credentials, jsonata, reason):
    state = jsonata_state() if jsonata else jsonpath_state()
    state["Credentials"] = credentials
    with pytest.raises(PropertyError) as caught:
        ecs_tasks(document(state, jsonata=jsonata))
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert "Name the role's ARN in Credentials.RoleArn." in caught.value.reason


def check(state: dict[str, Any], settings: Settings = ALLOWED, **props: Any) -> None:
    workflow = parse({"Definition": document(state), **props})
    state_rules.check_states(workflow, ecs_tasks(workflow.definition), HERE, settings)  # type: ignore[arg-type]


def borrowing(role: str = OTHER, **parameters: Any) -> dict[str, Any]:
    state = jsonpath_state(**parameters)
    state["Credentials"] = {"RoleArn": role}
    return state


@pytest.mark.parametrize(
    ("state", "settings", "reason"),
    [
        (
            borrowing(),
            Settings(),
            "Definition.States.Run.Credentials.RoleArn 'arn:aws:iam::222233334444:role/ecs-runner': is turned off: "
            "the provider stack's CredentialsRolePattern parameter is empty",
        ),
        (
            borrowing("arn:aws:iam::222233334444:role/admin"),
            ALLOWED,
            "Definition.States.Run.Credentials.RoleArn 'arn:aws:iam::222233334444:role/admin': is not allowed by "
            "CredentialsRolePattern (arn:aws:iam::*:role/ecs-runner)",
        ),
        (
            borrowing("arn:aws-cn:iam::222233334444:role/ecs-runner"),
            Settings(credentials_role_patterns=("*",)),
            "Definition.States.Run.Credentials.RoleArn 'arn:aws-cn:iam::222233334444:role/ecs-runner': is not in this partition",
        ),
        (
            borrowing(TaskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3"),
            ALLOWED,
            "Definition.States.Run.Parameters.TaskDefinition 'arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3': "
            "is not in 222233334444/us-east-1, where Credentials.RoleArn runs it",
        ),
        (
            borrowing(Cluster="arn:aws:ecs:eu-west-1:222233334444:cluster/batch"),
            ALLOWED,
            "Definition.States.Run.Parameters.Cluster 'arn:aws:ecs:eu-west-1:222233334444:cluster/batch': is not in "
            "222233334444/us-east-1",
        ),
        (
            borrowing(
                Overrides={"TaskRoleArn": "arn:aws:iam::222233334444:role/admin", "ContainerOverrides": []}
            ),
            ALLOWED,
            "Definition.States.Run.Parameters.Overrides.TaskRoleArn 'arn:aws:iam::222233334444:role/admin': overrides "
            "a role of a task definition the provider cannot see",
        ),
        (
            borrowing(SAME, TaskDefinition="arn:aws:ecs:us-east-1:999999999999:task-definition/etl:3"),
            ALLOWED,
            "Definition.States.Run.Parameters.TaskDefinition 'arn:aws:ecs:us-east-1:999999999999:task-definition/etl:3': "
            "is not in this account and region",
        ),
    ],
)
def test_credentials_are_refused_unless_the_administrator_allows_the_role_and_the_state_points_there(
    state, settings, reason
):
    with pytest.raises(PropertyError) as caught:
        check(state, settings)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert len(caught.value.reason) <= 255


@pytest.mark.parametrize(
    "state",
    [
        borrowing(),  # family and cluster names: that account's
        borrowing(
            TaskDefinition="arn:aws:ecs:us-east-1:222233334444:task-definition/etl:7",
            Cluster="arn:aws:ecs:us-east-1:222233334444:cluster/batch",
        ),
        borrowing(**{"TaskDefinition.$": "$.family", "Cluster.$": "$.cluster"}),  # not the provider's grant
        borrowing(SAME, **{"TaskDefinition.$": "$.family"}),
    ],
)
def test_a_state_with_allowed_credentials_is_accepted_as_its_account_will_run_it(state):
    for key in ("TaskDefinition", "Cluster"):
        if f"{key}.$" in state["Parameters"]:
            state["Parameters"].pop(key)
    check(state)
