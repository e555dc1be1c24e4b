"""The custom resource through CloudFormation's request sequences, against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit import readback
from testkit.cloudformation import Player
from testkit.estate import (
    CONTAINERS,
    FAMILY,
    OWNER_TAG_LOGICAL,
    OWNER_TAG_STACK,
    Estate,
    provider_leftovers,
)
from testkit.moto_server import MotoServer
from testkit.transports import InFunction

pytestmark = pytest.mark.usefixtures("one_response_per_request")


def the_run_task(definition: dict) -> dict:
    states = readback.run_task_states(definition)
    assert len(states) == 1, f"expected one ECS RunTask state, found {len(states)}: {definition}"
    return states[0]


def container_override(parameters: dict, name: str) -> dict:
    overrides = parameters.get("Overrides", {}).get("ContainerOverrides", [])
    matching = [o for o in overrides if o.get("Name") == name]
    assert len(matching) == 1, f"expected one override for {name!r}: {overrides}"
    return matching[0]


def values_of(definition: Any, key: str) -> list:
    return [node[key] for node in readback._walk(definition) if key in node]


def assert_nothing_left(moto: MotoServer) -> None:
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}


def test_create_then_delete(resource: Player, world: Estate, moto: MotoServer) -> None:
    operation = resource.create_operation(world.properties())
    assert operation.outcome == "CREATE_COMPLETE", operation.describe()
    created = operation.first
    arn = created.physical_id
    revision_2 = world.revisions[1]

    assert created.data["Arn"] == arn
    assert arn.startswith("arn:aws:states:us-east-1:123456789012:stateMachine:")
    assert created.data["Name"] == arn.rsplit(":", 1)[-1]
    assert created.data["TaskDefinitionArn"] == revision_2
    assert created.data["TaskDefinitionRevision"] == "2"
    assert created.data["ContainerName"] == "hoge"
    assert sorted(created.data["ContainerNames"].split(",")) == sorted(CONTAINERS)
    assert ":role/ecs-state-machine/" in created.data["RoleArn"]

    machine = readback.state_machine(moto, arn)
    assert machine["roleArn"] == created.data["RoleArn"]
    run_task = the_run_task(machine["definition"])
    assert run_task["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    parameters = run_task["Parameters"]
    assert parameters["TaskDefinition"] in (revision_2, f"{FAMILY}:2")
    assert parameters["Cluster"] in (world.cluster_name, world.cluster_arn)
    assert parameters["LaunchType"] == "FARGATE"
    assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == world.subnets
    assert (
        parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] == world.security_groups
    )
    assert container_override(parameters, "hoge")["Command.$"] == "$.command"
    assert 3600 in values_of(machine["definition"], "TimeoutSeconds")

    role = readback.role(moto, created.data["RoleArn"])
    for tags in (machine["tags"], role["tags"]):
        assert tags[OWNER_TAG_STACK] == resource.stack_id
        assert tags[OWNER_TAG_LOGICAL] == "NightlyBatch"
    assert revision_2 in readback.allowed_resources(role["policies"], "ecs:RunTask")
    passable = readback.allowed_resources(role["policies"], "iam:PassRole")
    assert {world.task_role_arn, world.execution_role_arn} <= passable

    operation = resource.delete_operation()
    assert operation.outcome == "DELETE_COMPLETE", operation.describe()
    assert_nothing_left(moto)


def test_update_in_place_moves_to_the_new_revision(resource: Player, world: Estate, moto: MotoServer) -> None:
    created = resource.create_operation(world.properties())
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    revision_3 = world.register_revision("v3")

    # events/update.json's change: a new RefreshToken (a pipeline's build number), nothing else.
    operation = resource.update_operation(world.properties(RefreshToken="build-1042"))
    assert operation.outcome == "UPDATE_COMPLETE", operation.describe()
    assert len(operation.steps) == 1, "an in-place update needs no cleanup Delete"
    updated = operation.first
    assert updated.physical_id == created.first.physical_id
    assert updated.data["TaskDefinitionArn"] == revision_3
    assert updated.data["TaskDefinitionRevision"] == "3"

    machine = readback.state_machine(moto, updated.physical_id)
    assert the_run_task(machine["definition"])["Parameters"]["TaskDefinition"] in (revision_3, f"{FAMILY}:3")
    assert 3600 in values_of(machine["definition"], "TimeoutSeconds")
    role = readback.role(moto, machine["roleArn"])
    assert revision_3 in readback.allowed_resources(role["policies"], "ecs:RunTask")

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert_nothing_left(moto)


def test_replacement_then_cleanup_of_the_old_state_machine(
    resource: Player, world: Estate, moto: MotoServer
) -> None:
    created = resource.create_operation(world.properties(StateMachineName="nightly-batch-a"))
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    old_arn = created.first.physical_id
    assert old_arn.endswith(":stateMachine:nightly-batch-a")

    operation = resource.update_operation(world.properties(StateMachineName="nightly-batch-b"))
    assert operation.outcome == "UPDATE_COMPLETE", operation.describe()
    update, cleanup = operation.steps
    new_arn = update.physical_id
    assert new_arn.endswith(":stateMachine:nightly-batch-b")
    assert cleanup.request["RequestType"] == "Delete"
    assert cleanup.request["PhysicalResourceId"] == old_arn
    assert cleanup.succeeded, cleanup.describe()

    left = provider_leftovers(moto)
    assert left["state_machines"] == [new_arn]
    assert left["roles"] == [update.data["RoleArn"]]
    assert readback.state_machine(moto, new_arn)["roleArn"] == update.data["RoleArn"]

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert_nothing_left(moto)


def test_failed_update_then_rollback(resource: Player, world: Estate, moto: MotoServer) -> None:
    created = resource.create_operation(world.properties())
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    arn = created.first.physical_id

    operation = resource.update_operation(world.properties(ContainerName="does-not-exist"))
    assert operation.outcome == "UPDATE_ROLLBACK_COMPLETE", operation.describe()
    failed, rollback = operation.steps
    assert failed.status == "FAILED"
    assert "does-not-exist" in failed.reason
    assert failed.physical_id == arn
    assert rollback.request["ResourceProperties"]["ContainerName"] == "hoge"
    assert rollback.request["OldResourceProperties"]["ContainerName"] == "does-not-exist"
    assert rollback.physical_id == arn
    assert rollback.data["ContainerName"] == "hoge"

    machine = readback.state_machine(moto, arn)
    assert container_override(the_run_task(machine["definition"])["Parameters"], "hoge")
    left = provider_leftovers(moto)
    assert left == {"roles": [machine["roleArn"]], "state_machines": [arn]}

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert_nothing_left(moto)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"TaskDefinition": "no-such-family"}, "no-such-family"),
        ({"ContainerName": "does-not-exist"}, "does-not-exist"),
    ],
    ids=["missing-family", "missing-container"],
)
def test_failed_create_then_its_delete(
    resource: Player, world: Estate, moto: MotoServer, overrides: dict, named: str
) -> None:
    operation = resource.create_operation(world.properties(**overrides))
    assert operation.outcome == "ROLLBACK_COMPLETE", operation.describe()
    failed, delete = operation.steps
    assert failed.status == "FAILED"
    assert named in failed.reason
    assert delete.request["PhysicalResourceId"] == failed.physical_id
    assert delete.succeeded
    assert_nothing_left(moto)


def test_delete_of_an_id_cloudformation_invented(
    cloudformation: InFunction, resource: Player, world: Estate, moto: MotoServer
) -> None:
    """The stack failed elsewhere while the Create was still running: CloudFormation deletes an id it
    made up. Nothing of another resource may go."""
    neighbour = Player(cloudformation, resource.stack_id, "OtherBatch")
    assert neighbour.create_operation(world.properties()).outcome == "CREATE_COMPLETE"

    step = resource.send(
        resource.event(
            "Delete", world.properties(), PhysicalResourceId="my-batch-stack-NightlyBatch-1R2T3Y4U5I6O7"
        )
    )
    assert step.succeeded, step.describe()
    assert provider_leftovers(moto)["state_machines"] == [neighbour.physical_id]

    assert neighbour.delete_operation().outcome == "DELETE_COMPLETE"
    assert_nothing_left(moto)


def test_a_name_taken_by_someone_else_fails_and_its_machine_survives_the_rollback(
    resource: Player, world: Estate, moto: MotoServer
) -> None:
    sfn = moto.client("stepfunctions")
    theirs = sfn.create_state_machine(
        name="nightly-batch-a",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
        roleArn=world.task_role_arn,
    )["stateMachineArn"]

    operation = resource.create_operation(world.properties(StateMachineName="nightly-batch-a"))
    assert operation.outcome == "ROLLBACK_COMPLETE", operation.describe()
    failed, delete = operation.steps
    assert failed.status == "FAILED"
    assert "nightly-batch-a" in failed.reason
    assert delete.succeeded

    assert sfn.describe_state_machine(stateMachineArn=theirs)["roleArn"] == world.task_role_arn
    assert provider_leftovers(moto) == {"roles": [], "state_machines": [theirs]}


def test_a_forged_update_through_the_function_is_refused_and_changes_nothing(
    resource: Player, cloudformation: InFunction, world: Estate, moto: MotoServer
) -> None:
    """A stack author invokes the function directly with an Update of another stack's resource
    (its ids are on its tags). The function, in its own process, asks CloudFormation's record over
    HTTP, refuses, and answers FAILED at the (real, HTTPS) ResponseURL; the state machine is as it was."""
    created = resource.create_operation(world.properties()).first
    before = readback.state_machine(moto, created.physical_id)
    forged = resource.event(
        "Update",
        {**world.properties(), "TimeoutSeconds": 1},
        PhysicalResourceId=created.physical_id,
        OldResourceProperties=world.properties(),
    )
    step = resource.deliver(forged)
    assert step.status == "FAILED" and step.reason.startswith("Refused: CloudFormation does not show"), (
        step.describe()
    )
    assert readback.state_machine(moto, created.physical_id) == before
    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert_nothing_left(moto)
