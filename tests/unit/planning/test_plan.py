"""The plan: every document the lifecycle writes, made once from the properties and the resolved
facts (ECS answered by botocore's Stubber), for the ARN of the state machine it is for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_state_machine.base.arn import Place
from ecs_state_machine.base.aws import Aws
from ecs_state_machine.base.errors import PropertyError, ProviderError
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.planning import plan as plan_module
from ecs_state_machine.planning.plan import make_plan
from ecs_state_machine.planning.render import role_policy as real_role_policy
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.resolved import TaskGrant

HERE = Place("aws", "us-east-1", "123456789012")


class StepFunctions:
    """Step Functions' verdict on a definition, as `diagnostics` says (none: OK)."""

    def __init__(self, diagnostics: list[dict[str, str]] | None = None) -> None:
        self.diagnostics = diagnostics or []
        self.asked: list[dict[str, Any]] = []

    def validate_state_machine_definition(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append(kwargs)
        return {"result": "FAIL" if self.diagnostics else "OK", "diagnostics": self.diagnostics}


ARN = HERE.state_machine_arn("nightly")
PREFIX = "arn:aws:ecs:us-east-1:123456789012"


class Ecs:
    """ECS's answers for the revision etl:3 and the cluster batch (in whatever order they are asked)."""

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        return {
            "taskDefinition": {
                "taskDefinitionArn": f"{PREFIX}:task-definition/etl:3",
                "family": "etl",
                "revision": 3,
                "status": "ACTIVE",
                "containerDefinitions": [{"name": "app"}],
                "networkMode": "awsvpc",
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "executionRoleArn": "arn:aws:iam::123456789012:role/etl-execution",
            }
        }

    def describe_clusters(self, clusters: list[str]) -> dict[str, Any]:
        return {"clusters": [{"clusterArn": f"{PREFIX}:cluster/batch", "status": "ACTIVE"}]}


class Ec2:
    """EC2's answers: the subnet subnet-0a1b2c3d in vpc-1."""

    def describe_subnets(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        wanted = Filters[0]["Values"]
        return {"Subnets": [{"SubnetId": s, "VpcId": "vpc-1"} for s in wanted if s == "subnet-0a1b2c3d"]}


@pytest.fixture
def aws() -> Any:
    return Aws(clients={"ecs": Ecs(), "ec2": Ec2(), "stepfunctions": StepFunctions()})


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
    docs = make_plan(props, HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings()).documents(ARN)
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
    policy = json.loads(
        make_plan(props, HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings())
        .documents(ARN)
        .policy
        or "{}"
    )
    assert {s["Sid"]: s["Resource"] for s in policy["Statement"]} == {
        "DistributedMapStart": ARN,
        "DistributedMapWatch": "arn:aws:states:us-east-1:123456789012:execution:nightly/*",
    }


def grants(count: int) -> list[TaskGrant]:
    """`count` task states on as many clusters, each passing its own two roles."""
    role = "arn:aws:iam::123456789012:role/batch/jobs/{}-{}-role"
    return [
        TaskGrant(
            "RUN_JOB",
            f"{PREFIX}:cluster/c{i}",
            (f"{PREFIX}:task-definition/nightly-family-{i}:1",),
            (role.format(i, "task"), role.format(i, "execution")),
            False,
        )
        for i in range(count)
    ]


PASS_ONLY = {"Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}


def test_a_policy_past_iams_inline_limit_moves_whole_statements_into_managed_policies(monkeypatch):
    monkeypatch.setattr(plan_module.render, "role_policy", lambda *a, **k: real_role_policy(grants(60)))
    docs = make_plan(
        parse(PASS_ONLY), HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings()
    ).documents(ARN)
    inline = json.loads(docs.policy or "{}")
    managed = [json.loads(m) for m in docs.managed]
    assert len(docs.policy or "") <= 10_240 and managed and all(len(m) <= 6_144 for m in docs.managed)
    assert grants_of(inline, *managed) == grants_of(real_role_policy(grants(60))), "the same grants, no more"


def grants_of(*policies: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """Each (effect, actions, condition, resource) a set of policies grants."""
    found = set()
    for policy in policies:
        for s in policy["Statement"]:
            for resource in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
                found.add(
                    (
                        s["Effect"],
                        json.dumps(s["Action"]),
                        json.dumps(s.get("Condition"), sort_keys=True),
                        resource,
                    )
                )
    return found


def test_a_policy_past_what_a_role_can_hold_is_refused_unless_the_stack_brings_its_role(monkeypatch):
    monkeypatch.setattr(plan_module.render, "role_policy", lambda *a, **k: real_role_policy(grants(400)))
    with pytest.raises(ProviderError) as caught:
        make_plan(parse(PASS_ONLY), HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings())
    assert caught.value.reason.startswith("Definition: needs a role policy of ")
    assert (
        "more than one role can hold (one inline policy and 10 managed ones, about 71680)"
        in caught.value.reason
    )
    handed = parse({**PASS_ONLY, "RoleArn": "arn:aws:iam::123456789012:role/sfn/x"})
    make_plan(
        handed, HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings(passable_role_pattern="sfn/*")
    )


def test_the_administrators_rules_come_before_anything_is_resolved():
    props = parse({"TaskDefinition": "etl", "RoleArn": "arn:aws:iam::123456789012:role/x"})
    with pytest.raises(PropertyError, match="PassableRolePattern parameter is empty"):
        make_plan(props, HERE, Aws(clients={"stepfunctions": StepFunctions()}), Settings())


def test_step_functions_own_verdict_is_asked_before_anything_is_written_and_its_diagnostic_named():
    invalid = StepFunctions(
        [
            {
                "severity": "ERROR",
                "code": "INVALID_RESOURCE",
                "message": "not recognized",
                "location": "/States/P/Resource",
            }
        ]
    )
    with pytest.raises(PropertyError) as caught:
        make_plan(parse(PASS_ONLY), HERE, Aws(clients={"stepfunctions": invalid}), Settings())
    assert caught.value.reason == (
        "Definition.States.P.Resource: Step Functions finds it invalid: INVALID_RESOURCE: not recognized. "
        "Fix the state machine definition."
    )
    (asked,) = invalid.asked
    assert asked["type"] == "STANDARD" and asked["severity"] == "ERROR"
    assert json.loads(asked["definition"]) == PASS_ONLY["Definition"]


def test_where_step_functions_offers_no_verdict_statelint_answers_alone():
    class Old:  # a boto3 without the call
        pass

    make_plan(parse(PASS_ONLY), HERE, Aws(clients={"stepfunctions": Old()}), Settings())
