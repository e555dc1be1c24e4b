"""The plan: every document the lifecycle writes, made once from the properties and the resolved
facts (ECS answered by botocore's Stubber), for the ARN of the state machine it is for."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecs_state_machine import plan as plan_module
from ecs_state_machine.arn import Place
from ecs_state_machine.aws import Aws
from ecs_state_machine.errors import PropertyError, ProviderError
from ecs_state_machine.plan import make_plan
from ecs_state_machine.properties import parse
from ecs_state_machine.render import role_policy as real_role_policy
from ecs_state_machine.resolved import TaskGrant
from ecs_state_machine.settings import Settings

HERE = Place("aws", "us-east-1", "123456789012")
ARN = HERE.state_machine_arn("nightly")
PREFIX = "arn:aws:ecs:us-east-1:123456789012"


@pytest.fixture
def aws() -> Any:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_task_definition",
            {
                "taskDefinition": {
                    "taskDefinitionArn": f"{PREFIX}:task-definition/etl:3",
                    "family": "etl",
                    "revision": 3,
                    "status": "ACTIVE",
                    "containerDefinitions": [{"name": "app"}],
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "executionRoleArn": "arn:aws:iam::123456789012:role/etl-execution",
                }
            },
        )
        stubber.add_response(
            "describe_clusters", {"clusters": [{"clusterArn": f"{PREFIX}:cluster/batch", "status": "ACTIVE"}]}
        )
        yield Aws(clients={"ecs": client})


def test_a_single_task_plan_carries_every_document(aws):
    props = parse(
        {
            "TaskDefinition": "etl",
            "Cluster": "batch",
            "Subnets": ["subnet-0a1b2c3d"],
            "TracingEnabled": "true",
        }
    )
    docs = make_plan(props, HERE, aws, Settings()).documents(ARN)
    definition, policy, trust = (
        json.loads(docs.definition),
        json.loads(docs.policy or "{}"),
        json.loads(docs.trust),
    )
    assert (
        definition["States"]["RunTask"]["Parameters"]["TaskDefinition"] == f"{PREFIX}:task-definition/etl:3"
    )
    assert {s["Sid"] for s in policy["Statement"]} == {
        "RunTask",
        "PassTaskRoles",
        "WatchTask",
        "TaskEventsRule",
        "XRay",
    }
    assert trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"][0] == ARN
    assert docs.tracing == {"enabled": True} and docs.logging["level"] == "OFF"


def test_a_definition_that_calls_nothing_needs_no_policy():
    props = parse({"Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}})
    docs = make_plan(props, HERE, Aws(clients={}), Settings()).documents(ARN)
    assert docs.policy is None


def test_a_distributed_map_may_run_its_own_child_executions():
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    props = parse(
        {
            "Definition": {
                "StartAt": "M",
                "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}},
            }
        }
    )
    policy = json.loads(make_plan(props, HERE, Aws(clients={}), Settings()).documents(ARN).policy or "{}")
    assert {s["Sid"]: s["Resource"] for s in policy["Statement"]} == {
        "DistributedMapStart": ARN,
        "DistributedMapWatch": "arn:aws:states:us-east-1:123456789012:execution:nightly/*",
    }


def test_a_policy_past_iams_limit_is_refused_unless_the_stack_brings_its_role(monkeypatch):
    """Sixty task states on sixty clusters, each passing its own role (rendered by the real renderer)."""
    grants = [
        TaskGrant(
            "RUN_JOB",
            f"{PREFIX}:cluster/c{i}",
            (f"{PREFIX}:task-definition/f{i}:1",),
            (f"arn:aws:iam::123456789012:role/r{i}",),
            False,
        )
        for i in range(60)
    ]
    monkeypatch.setattr(plan_module.render, "role_policy", lambda *args, **kwargs: real_role_policy(grants))
    props = parse({"Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}})
    with pytest.raises(ProviderError, match="over IAM's 10240"):
        make_plan(props, HERE, Aws(clients={}), Settings())
    handed = parse(
        {
            **{"Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
            "RoleArn": "arn:aws:iam::123456789012:role/sfn/x",
        }
    )
    make_plan(handed, HERE, Aws(clients={}), Settings(passable_role_pattern="sfn/*"))


def test_the_administrators_rules_come_before_anything_is_resolved():
    props = parse({"TaskDefinition": "etl", "RoleArn": "arn:aws:iam::123456789012:role/x"})
    with pytest.raises(PropertyError, match="PassableRolePattern parameter is empty"):
        make_plan(props, HERE, Aws(clients={}), Settings())
