"""Resolution against ECS, with botocore's Stubber standing in for ECS's answers: the latest ACTIVE
revision of a family, the Reasons of what is missing, and one description per family however many
states name it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecs_state_machine.aws import Aws
from ecs_state_machine.definition import ecs_tasks
from ecs_state_machine.errors import PropertyError
from ecs_state_machine.properties import parse
from ecs_state_machine.resolve import resolve, resolve_states, resolve_task_definition
from ecs_state_machine.values import TaskDefinitionRef

PREFIX = "arn:aws:ecs:us-east-1:123456789012"
CLUSTER = f"{PREFIX}:cluster/batch"


def described(family: str = "etl", revision: int = 3, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": f"{PREFIX}:task-definition/{family}:{revision}",
            "family": family,
            "revision": revision,
            "status": status,
            "containerDefinitions": [{"name": "app"}],
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "taskRoleArn": "arn:aws:iam::123456789012:role/etl-task",
        }
    }


@pytest.fixture
def ecs() -> Any:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def aws(ecs: Stubber) -> Aws:
    return Aws(clients={"ecs": ecs.client})


def unknown(ecs: Stubber, name: str) -> None:
    ecs.add_client_error(
        "describe_task_definition",
        "ClientException",
        "Unable to describe task definition.",
        expected_params={"taskDefinition": name},
    )


def test_a_family_is_its_latest_active_revision_in_one_call(ecs):
    ecs.add_response("describe_task_definition", described(), {"taskDefinition": "etl"})
    td = resolve_task_definition(TaskDefinitionRef("etl"), aws(ecs))
    assert (td.label, td.containers, td.roles) == (
        "etl:3",
        ("app",),
        ("arn:aws:iam::123456789012:role/etl-task",),
    )


def test_a_family_whose_revisions_are_all_deregistered_says_so(ecs):
    unknown(ecs, "etl")
    ecs.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": [f"{PREFIX}:task-definition/etl:2"]},
        {"familyPrefix": "etl", "status": "INACTIVE", "maxResults": 1},
    )
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'etl': has no ACTIVE revision"):
        resolve_task_definition(TaskDefinitionRef("etl"), aws(ecs))


def test_a_family_that_does_not_exist_says_so(ecs):
    unknown(ecs, "nope")
    ecs.add_response("list_task_definitions", {"taskDefinitionArns": []})
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'nope': no such task definition family"):
        resolve_task_definition(TaskDefinitionRef("nope"), aws(ecs))


def test_a_pinned_revision_that_is_deregistered_cannot_start_tasks(ecs):
    ecs.add_response(
        "describe_task_definition", described(revision=1, status="INACTIVE"), {"taskDefinition": "etl:1"}
    )
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'etl:1': is INACTIVE"):
        resolve_task_definition(TaskDefinitionRef("etl", 1), aws(ecs))


def test_a_missing_cluster_fails_the_deploy(ecs):
    ecs.add_response("describe_task_definition", described(), {"taskDefinition": "etl"})
    ecs.add_response(
        "describe_clusters", {"clusters": [], "failures": [{"arn": "nope", "reason": "MISSING"}]}
    )
    props = parse({"TaskDefinition": "etl", "Cluster": "nope", "Subnets": ["subnet-0a1b2c3d"]})
    with pytest.raises(PropertyError, match=r"^Cluster 'nope': no such ACTIVE ECS cluster"):
        resolve(props, aws(ecs))


def test_a_definition_describes_each_family_and_cluster_once(ecs):
    def state(name: str, next_state: str | None) -> dict[str, Any]:
        found: dict[str, Any] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "TaskDefinition": "etl",
                "Cluster": "batch",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
            },
        }
        return {**found, "Next": next_state} if next_state else {**found, "End": True}

    ecs.add_response("describe_clusters", {"clusters": [{"clusterArn": CLUSTER, "status": "ACTIVE"}]})
    ecs.add_response("describe_task_definition", described(), {"taskDefinition": "etl"})
    props = parse({"Definition": {"StartAt": "A", "States": {"A": state("A", "B"), "B": state("B", None)}}})
    facts = resolve_states(props, ecs_tasks(props.definition), aws(ecs), "123456789012")  # type: ignore[arg-type,attr-defined]
    assert [f.revisions[0].arn for f in facts] == [f"{PREFIX}:task-definition/etl:3"] * 2
    assert [f.parameters(True) for f in facts] == [(f"{PREFIX}:task-definition/etl:3", CLUSTER)] * 2
