"""Duplicate and out-of-order delivery.

Lambda retries an event (same RequestId) after the function died or errored; CloudFormation sends
the Delete of a replaced resource after the replacement exists, and may delete a new resource
while the old one is kept. tests/integration/test_lifecycle.py already covers a duplicate Create,
two Deletes of one id, an explicit-name replacement and its old Delete, and an Update of a state
machine deleted out of band; these are the cases it does not.
"""

from __future__ import annotations

from typing import Any

import pytest

from testkit import stacks
from testkit.cloudformation import Player
from testkit.faults import Crash, Rule
from testkit.transports import Context
from tests.reliability.support import World


def update_event(cfn: Player, physical_id: str, new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return cfn.event("Update", new, PhysicalResourceId=physical_id, OldResourceProperties=old)


def state(world: World) -> dict[str, Any]:
    """Every state machine and provider role, in full."""
    roles, machines = world.leftovers()
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:"
    return {
        "machines": {name: world.machine(arn + name) for name in machines},
        "roles": {name: world.role(name) for name in roles},
    }


def test_a_duplicate_in_place_update_is_applied_once(fresh: World) -> None:
    world = fresh
    cfn = world.player()
    old = world.props
    arn = cfn.create(old)["PhysicalResourceId"]
    new = {**old, "TimeoutSeconds": 900, "Tags": [{"Key": "team", "Value": "platform"}]}
    event = update_event(cfn, arn, new, old)
    first = cfn.send(event)
    after_first = state(world)
    second = cfn.send(event)
    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == arn
    assert first["Data"] == second["Data"]
    assert state(world) == after_first
    assert world.machine(arn)["tags"]["team"] == "platform" and "cost" not in world.machine(arn)["tags"]


def test_a_duplicate_replacement_to_a_generated_name_makes_one_replacement(fresh: World) -> None:
    """Dropping StateMachineName replaces with a generated name; a second delivery of the same
    Update must find the replacement it made, not make another."""
    world = fresh
    cfn = world.player()
    old = {**world.props, "StateMachineName": "dup-explicit"}
    new = world.props
    arn = cfn.create(old)["PhysicalResourceId"]
    event = update_event(cfn, arn, new, old)
    first = cfn.send(event)
    second = cfn.send(event)
    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] != arn
    roles, machines = world.leftovers()
    assert (len(roles), len(machines)) == (2, 2), "the old one, and exactly one replacement"
    assert cfn.delete(arn, old)["Status"] == "SUCCESS"
    assert world.leftovers()[1] == [first["Data"]["Name"]]


def test_the_old_delete_after_a_generated_name_replacement_leaves_the_new_one(fresh: World) -> None:
    world = fresh
    cfn = world.player()
    old = {**world.props, "IntegrationPattern": "REQUEST_RESPONSE"}
    new = {**old, "StateMachineType": "EXPRESS"}
    arn = cfn.create(old)["PhysicalResourceId"]
    replaced = cfn.update(arn, new, old)
    assert replaced["Status"] == "SUCCESS" and replaced["PhysicalResourceId"] != arn
    kept = world.machine(replaced["PhysicalResourceId"]), world.role(replaced["Data"]["RoleArn"])
    for _ in range(2):  # the cleanup Delete, delivered twice
        assert cfn.delete(arn, old)["Status"] == "SUCCESS"
    assert world.machine(arn) is None
    assert (world.machine(replaced["PhysicalResourceId"]), world.role(replaced["Data"]["RoleArn"])) == kept
    assert world.leftovers()[1] == [replaced["Data"]["Name"]]


def test_deleting_the_new_resource_of_a_rolled_back_replacement_leaves_the_old_one(fresh: World) -> None:
    """The stack failed elsewhere after the replacement: CloudFormation keeps the old resource and
    deletes the new one. The old one (same stack, same logical id) must come through untouched."""
    world = fresh
    cfn = world.player()
    old = {**world.props, "StateMachineName": "keep-a"}
    new = {**world.props, "StateMachineName": "drop-b"}
    created = cfn.create(old)
    kept = world.machine(created["PhysicalResourceId"]), world.role(created["Data"]["RoleArn"])
    replaced = cfn.update(created["PhysicalResourceId"], new, old)
    assert replaced["Status"] == "SUCCESS"
    assert cfn.delete(replaced["PhysicalResourceId"], new)["Status"] == "SUCCESS"
    assert (world.machine(created["PhysicalResourceId"]), world.role(created["Data"]["RoleArn"])) == kept
    assert world.leftovers()[1] == ["keep-a"]


def test_the_same_delete_event_twice(fresh: World) -> None:
    world = fresh
    cfn = world.player()
    arn = cfn.create(world.props)["PhysicalResourceId"]
    event = cfn.event("Delete", world.props, PhysicalResourceId=arn)
    assert cfn.send(event)["Status"] == "SUCCESS"
    assert cfn.send(event)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


# --------------------------------------------------------------------------- Lambda's own retry
@pytest.mark.parametrize("dies_after", ["iam.CreateRole", "iam.PutRolePolicy", "sfn.CreateStateMachine"])
def test_a_create_that_died_midway_is_finished_by_lambdas_retry(fresh: World, dies_after: str) -> None:
    """The process dies right after AWS applied `dies_after` (no cleanup, no answer); Lambda
    delivers the same event again. The retry must finish the job with one of each resource."""
    import app

    world = fresh
    cfn = world.player()
    event = cfn.event("Create", world.props)
    stacks.shared().waiting(event)
    world.arm(Rule(dies_after, kind="crash"))
    sent = len(world.responses)
    with pytest.raises(Crash):
        app.lambda_handler(event, Context())
    assert len(world.responses) == sent, "a dead function answers nothing"
    assert world.leftovers() != ([], []), "the crash left something for the retry to adopt"
    world.reset()
    answer = cfn.send(event)
    assert answer["Status"] == "SUCCESS", answer
    roles, machines = world.leftovers()
    assert (len(roles), len(machines)) == (1, 1)
    assert world.machine(answer["PhysicalResourceId"])["roleArn"] == answer["Data"]["RoleArn"]
    assert cfn.delete(answer["PhysicalResourceId"], world.props)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


@pytest.mark.parametrize("dies_after", ["iam.CreateRole", "sfn.CreateStateMachine"])
def test_a_replacement_that_died_midway_is_finished_by_lambdas_retry(fresh: World, dies_after: str) -> None:
    import app

    world = fresh
    cfn = world.player()
    old = {**world.props, "StateMachineName": "crash-a"}
    new = {**world.props, "StateMachineName": "crash-b"}
    arn = cfn.create(old)["PhysicalResourceId"]
    event = update_event(cfn, arn, new, old)
    stacks.shared().waiting(event)
    world.arm(Rule(dies_after, kind="crash"))
    with pytest.raises(Crash):
        app.lambda_handler(event, Context())
    world.reset()
    answer = cfn.send(event)
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"].endswith(":crash-b")
    assert cfn.delete(arn, old)["Status"] == "SUCCESS"
    assert world.leftovers()[1] == ["crash-b"]
    assert cfn.delete(answer["PhysicalResourceId"], new)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


@pytest.mark.parametrize("dies_after", ["sfn.DeleteStateMachine", "iam.DeleteRolePolicy"])
def test_a_delete_that_died_midway_is_finished_by_lambdas_retry(fresh: World, dies_after: str) -> None:
    import app

    world = fresh
    cfn = world.player()
    arn = cfn.create(world.props)["PhysicalResourceId"]
    event = cfn.event("Delete", world.props, PhysicalResourceId=arn)
    stacks.shared().waiting(event)
    world.arm(Rule(dies_after, kind="crash"))
    with pytest.raises(Crash):
        app.lambda_handler(event, Context())
    assert world.leftovers()[0], "the role is still there"
    world.reset()
    assert cfn.send(event)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])
