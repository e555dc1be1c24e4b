"""Every Custom::EcsStateMachine in examples/ deployed through the real handler over moto, delivered
exactly as CloudFormation delivers it (intrinsics evaluated, every scalar a string), into an account
that has what each example expects; then deleted, leaving nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit.account import Account
from testkit.estate import ACCOUNT, REGION, register
from testkit.templates import EXAMPLES, custom_resources, provision, trigger_inputs


def prepare(account: Account, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The account the examples are written for, and the values of their template parameters."""
    session, estate = account.session, account.estate
    ecs = session.client("ecs")
    ecs.create_cluster(clusterName="batch")
    for family, container in (("migrate", "app"), ("backfill", "worker"), ("report", "app")):
        register(ecs, family, containers=(container,), task_role_arn=estate.task_role_arn)
    topic = session.client("sns").create_topic(Name="pipeline-done")["TopicArn"]
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "sfn/*")  # existing-role.yaml hands over a role on /sfn/
    monkeypatch.setenv("ALLOW_POLICY_STATEMENTS", "true")  # pipeline.yaml adds an SNS statement
    return {
        "Subnets": estate.subnets,
        "SecurityGroups": estate.security_groups,
        "SecurityGroup": estate.security_groups[0],
        "AlertTopicArn": topic,
        "TaskRoleArn": estate.task_role_arn,
        "TaskExecutionRoleArn": estate.execution_role_arn,
    }


def reads(definition: dict[str, Any]) -> set[str]:
    """The top-level fields of the execution input that the states outside any Map read (`key.$`
    values such as `$.command`): a trigger must send them, or the run fails with States.Runtime."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ItemProcessor", "Iterator"):
                    continue
                if key.endswith(".$") and isinstance(value, str) and value.startswith("$."):
                    found.add(value[2:].split(".")[0].split("[")[0])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(definition.get("States", {}))
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_deploys_and_deletes_through_the_handler(path, account, monkeypatch):
    parameters = prepare(account, monkeypatch)
    provision(account.session, path, "nightly", parameters, region=REGION, account=ACCOUNT)
    resources = custom_resources(path, parameters, region=REGION, account=ACCOUNT, stack_name="nightly")
    assert resources
    player = account.player("nightly")
    made = {}
    for logical_id, properties in resources.items():
        player.logical_id = logical_id
        answer = player.create(properties)
        assert answer["Status"] == "SUCCESS", (path.name, logical_id, answer["Reason"])
        made[logical_id] = (answer["PhysicalResourceId"], properties)
    assert len(account.leftovers()[1]) == len(resources)
    sfn = account.session.client("stepfunctions")
    for logical_id, sent in ((name, s) for name, inputs in trigger_inputs(path).items() for s in inputs):
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=made[logical_id][0])["definition"])
        missing = reads(definition) - set(json.loads(sent))
        assert not missing, (
            f"{path.name}: {logical_id}'s trigger sends {sent}, and its state machine reads {missing}"
        )
    for logical_id, (physical_id, properties) in made.items():
        player.logical_id = logical_id
        assert player.delete(physical_id, properties)["Status"] == "SUCCESS"
    assert account.leftovers() == ([], [])
