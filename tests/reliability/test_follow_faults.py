"""The DynamoDB fault matrix of FollowRevisions: every DynamoDB call of a Create, an Update (in
place and replacing) and a Delete of a following resource, and of the follower and its sweep, fails
in turn, refused for good (AccessDenied) and throttled past botocore's own attempts.

For CloudFormation's requests (the scenarios of `test_fault_matrix`, with FollowRevisions): one
answer per request within the provider's retry budget; a refusal ends in FAILED with a clean Reason
(or SUCCESS where the call only gives a lease back, which the next request takes over anyway),
throttling in SUCCESS; after CloudFormation's follow-up (the Delete of a failed Create, the rollback
of a failed Update, a retried Delete) no state machine, role, managed policy or follow record is
left, and a rollback restores the old state machine exactly.

For the follower: no function error but for the one call without which it can do nothing (finding
the followers: Lambda retries the event); the state machine keeps working on one revision with an
exact role; the next delivery completes the move; the resource then updates and deletes cleanly.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import pytest

from ecs_state_machine.base.aws import RETRY_BUDGET_SECONDS
from ecs_state_machine.following import follow_store
from testkit import cloudtrail
from testkit.estate import FOLLOW_TABLE, register
from testkit.transports import Context
from tests.reliability.support import TALLY, World, assert_clean_reason, open_world
from tests.reliability.test_fault_matrix import SCENARIOS, Stage, rule_for

KINDS = ("denied", "throttled")


class Following:
    """The world, with FollowRevisions in every resource's properties."""

    def __init__(self, world: World) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world, name)

    @property
    def props(self) -> dict[str, Any]:
        return {**self._world.props, "FollowRevisions": "true"}


@pytest.fixture
def fresh(fresh: World) -> World:
    """The module's world, its follow table emptied too (a failed case must not fail the next)."""
    table = fresh.session.client("dynamodb")
    for item in table.scan(TableName=FOLLOW_TABLE)["Items"]:
        table.delete_item(TableName=FOLLOW_TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    return fresh


@pytest.fixture
def short_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """A follower's lease of one second (pauses are not slept here, so nothing could wait out the
    real length)."""
    monkeypatch.setattr(follow_store, "FOLLOWER_LEASE_SECONDS", 1)
    monkeypatch.setattr(follow_store, "STEP_SECONDS", 0)
    monkeypatch.setattr(follow_store, "CLOCK_SKEW_SECONDS", 0)


def follow(event: Any) -> dict[str, Any]:
    import follower_app

    return follower_app.lambda_handler(event, Context())


def records(world: World) -> int:
    return int(world.session.client("dynamodb").scan(TableName=FOLLOW_TABLE)["Count"])


def managed_policies(world: World) -> list[str]:
    listed = world.iam.list_policies(Scope="Local", PathPrefix="/ecs-state-machine/")["Policies"]
    return [p["PolicyName"] for p in listed]


def left_behind(world: World) -> Any:
    return world.leftovers(), managed_policies(world), records(world)


NOTHING = (([], []), [], 0)


# --------------------------------------------------------------------------- CloudFormation's requests
@dataclass(frozen=True)
class Case:
    scenario: str
    operation: str
    occurrence: int
    kind: str

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.operation}#{self.occurrence}-{self.kind}"


def follower_event(world: World, name: str) -> Any:
    """A new revision of the followed family, and the event that tells the follower (or a sweep)."""
    revision = register(
        world.session.client("ecs"),
        world.estate.family,
        containers=("hoge", "fuga"),
        task_role_arn=world.estate.task_role_arn,
        execution_role_arn=world.estate.execution_role_arn,
    )
    return cloudtrail.registered(revision) if name == "event" else cloudtrail.sweep()


@functools.cache
def record_cases() -> tuple[list[Case], dict[str, list[str]]]:
    """Each scenario's DynamoDB calls, and the follower's (an event's move, then a sweep's), from a
    run without faults."""
    cases, follower = [], {}
    with open_world() as world:
        for name, scenario in SCENARIOS.items():
            world.reset()
            stage = Stage(world)
            assert scenario(Following(world), world.player(), stage)["Status"] == "SUCCESS"  # type: ignore[arg-type]
            assert left_behind(world) == NOTHING, name
            for position, operation in enumerate(stage.log):
                if operation.startswith("dynamodb."):
                    occurrence = stage.log[: position + 1].count(operation)
                    cases += [Case(name, operation, occurrence, kind) for kind in KINDS]
        world.reset()
        arn = world.player().create(Following(world).props)["PhysicalResourceId"]
        for name in ("event", "sweep"):
            world.faults.reset()
            assert follow(follower_event(world, name))["moved"] == 1
            follower[name] = list(world.faults.log)
        assert world.player().delete(arn, Following(world).props)["Status"] == "SUCCESS"
    return cases, follower


def test_a_dynamodb_fault_in_a_request_is_answered_and_leaves_nothing(case: Case, fresh: World) -> None:
    TALLY["follow fault cases"] += 1
    world = fresh
    rule = rule_for(case.kind, case.operation, case.occurrence)
    stage = Stage(world, rule)
    try:
        answer = SCENARIOS[case.scenario](Following(world), world.player(), stage)  # type: ignore[arg-type]
    finally:
        if records(world):
            # A record DynamoDB refused to forget, of a state machine that is gone: the sweep's.
            TALLY["follow fault records left to the sweep"] += 1
            follow(cloudtrail.sweep())
        leaked = left_behind(world)
        TALLY["follow fault leaks"] += leaked != NOTHING
    assert rule.fired, f"{case.operation} #{case.occurrence} was never called: {stage.log}"
    assert sum(stage.sleeps) <= RETRY_BUDGET_SECONDS
    assert leaked == NOTHING, f"left behind (roles, state machines), managed policies, records: {leaked}"
    if case.kind == "throttled":
        assert answer["Status"] == "SUCCESS", answer
    else:
        assert answer["Status"] == "FAILED", answer
        assert_clean_reason(answer["Reason"])
        assert answer["Reason"].startswith("The provider was denied"), answer["Reason"]
    TALLY["follow fault answered"] += 1


# --------------------------------------------------------------------------- the follower
def follower_cases() -> list[tuple[str, str, int, str]]:
    return [
        (name, operation, calls[: position + 1].count(operation), kind)
        for name, calls in record_cases()[1].items()
        for position, operation in enumerate(calls)
        if operation.startswith("dynamodb.")
        for kind in KINDS
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = record_cases()[0]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])
    if "follower_case" in metafunc.fixturenames:
        found = follower_cases()
        metafunc.parametrize("follower_case", found, ids=[f"{n}-{o}#{i}-{k}" for n, o, i, k in found])


@pytest.mark.usefixtures("short_leases")
def test_a_dynamodb_fault_in_the_follower_never_half_moves_and_the_next_delivery_finishes(
    fresh: World, follower_case: tuple[str, str, int, str]
) -> None:
    TALLY["follow fault cases"] += 1
    name, operation, occurrence, kind = follower_case
    world = fresh
    props = Following(world).props
    cfn = world.player()
    arn = cfn.create(props)["PhysicalResourceId"]
    event = follower_event(world, name)
    rule = world.arm(rule_for(kind, operation, occurrence))
    try:
        summary = follow(event)
    except Exception:
        # Only finding the followers may fail the invocation (Lambda then delivers the event again).
        assert (operation, kind) == ("dynamodb.Query", "denied")
        summary = {}
    world.faults.reset()
    if kind == "denied":
        time.sleep(follow_store.FOLLOWER_LEASE_SECONDS + 1.1)  # a lease it could not give back expires
    assert rule.fired
    assert kind == "denied" or summary.get("moved") == 1, summary
    machine = world.machine(arn)
    assert machine is not None
    task = machine["definition"]["States"]["RunTask"]["Parameters"]["TaskDefinition"]
    policy = next(iter(world.role(machine["roleArn"])["policies"].values()))  # type: ignore[index]
    granted = [s["Resource"] for s in policy["Statement"] if s["Action"] == "ecs:RunTask"]
    assert granted in ([task], [[task]]), f"the role is not exact for what it runs: {granted} vs {task}"

    again = follow(event)
    assert again["moved"] + again["unchanged"] == 1, again
    assert world.machine(arn)["definition"] != {}  # type: ignore[index]
    updated = cfn.update(arn, {**props, "TimeoutSeconds": "60"}, props)
    assert updated["Status"] == "SUCCESS", updated
    assert cfn.delete(arn, props)["Status"] == "SUCCESS"
    leaked = left_behind(world)
    TALLY["follow fault leaks"] += leaked != NOTHING
    assert leaked == NOTHING, leaked
    TALLY["follow fault answered"] += 1
