"""FollowRevisions and CloudFormation on the same state machine: a follower that dies or stalls
mid-move never makes an Update, its rollback or a Delete fail, and never writes after a request took
over; a follow that meets a deploy is deferred, not a function error, and the move is not lost; a
move whose UpdateStateMachine fails narrows the role back at once.

The follower's lease is shortened here (seconds instead of minutes) so the takeovers run in real
time; the logic is the same as with the shipped lengths."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ecs_state_machine.base.aws import Aws
from ecs_state_machine.following import follow_store
from ecs_state_machine.following import follower as follower_module
from ecs_state_machine.following.follow_store import Busy, FollowStore
from testkit import cloudtrail
from testkit.estate import FOLLOW_TABLE
from testkit.faults import Crash, Rule
from tests.integration.test_follow import follow, following, new_revision, state, works
from tests.integration.test_lifecycle import machine, role_policy

__all__ = ["following"]  # the fixture


@pytest.fixture
def short_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow_store, "FOLLOWER_LEASE_SECONDS", 3)
    monkeypatch.setattr(follow_store, "STEP_SECONDS", 2)
    monkeypatch.setattr(follow_store, "CLOCK_SKEW_SECONDS", 0)


def store() -> FollowStore:
    return FollowStore(Aws(), FOLLOW_TABLE)


def snapshot(session: Any, arn: str) -> tuple[Any, Any]:
    described = machine(session, arn)
    return described["definition"], role_policy(session, described["roleArn"])


def record(session: Any, arn: str) -> dict[str, Any] | None:
    item = session.client("dynamodb").get_item(
        TableName=FOLLOW_TABLE, Key={"pk": {"S": "machine"}, "sk": {"S": arn}}
    )
    return item.get("Item")


@pytest.mark.usefixtures("short_leases")
def test_a_follower_killed_mid_move_then_an_update_and_its_rollback_both_succeed(
    cfn, session, estate, following, props, faults
):
    arn = following["PhysicalResourceId"]
    old = {**props, "FollowRevisions": "true"}
    new = {**old, "TimeoutSeconds": "600"}
    revision = new_revision(session, estate)
    faults.add(Rule("iam.PutRolePolicy", kind="crash"))  # its role granting both is written, then it dies
    with pytest.raises(Crash):
        follow(cloudtrail.registered(revision))
    faults.reset()
    held = record(session, arn)
    assert held is not None and held["lease_owner"]["S"].startswith("follower:"), "the dead follower's lease"

    began = time.monotonic()
    updated = cfn.update(arn, new, old)
    assert updated["Status"] == "SUCCESS", updated
    assert time.monotonic() - began < 3 + 10, "waited no longer than the follower's lease"
    assert state(session, arn)[0] == revision, "the Update resolved the newest revision itself"
    rolled_back = cfn.update(arn, old, new)
    assert rolled_back["Status"] == "SUCCESS", rolled_back
    task, run, _passed = state(session, arn)
    assert task == revision and run == {revision}, "the role is exact again"
    assert "TimeoutSeconds" not in machine(session, arn)["definition"]["States"]["RunTask"]
    assert follow(cloudtrail.sweep())["unchanged"] == 1


@pytest.mark.usefixtures("short_leases")
def test_a_stalled_follower_writes_nothing_once_an_update_took_over(
    cfn, session, estate, following, props, monkeypatch
):
    """The follower stalls right before its next write (a frozen function, a long pause) for longer
    than its lease; meanwhile an Update takes over. When it wakes it writes nothing."""
    arn = following["PhysicalResourceId"]
    old = {**props, "FollowRevisions": "true"}
    revision = new_revision(session, estate)
    fence = follower_module.Lease.fence
    after_update: dict[str, Any] = {}

    def stalled(lease: follower_module.Lease) -> None:
        if not after_update:
            answer = cfn.update(arn, {**old, "TimeoutSeconds": "600"}, old)
            assert answer["Status"] == "SUCCESS", answer
            after_update["snapshot"] = snapshot(session, arn)
        fence(lease)

    monkeypatch.setattr(follower_module.Lease, "fence", stalled)
    assert follow(cloudtrail.registered(revision))["deferred"] == 1, "no function error"
    assert snapshot(session, arn) == after_update["snapshot"], "the follower wrote after the takeover"
    assert state(session, arn)[0] == revision and works(session, arn, estate)


@pytest.mark.usefixtures("short_leases")
@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_a_request_claims_a_live_followers_lease_and_the_follower_cannot_renew_it(
    cfn, session, estate, following, props, request_type
):
    """An Update or a Delete meets a follower at work: it claims the lease, waits for it to expire
    and goes on; the follower cannot renew it, so it writes nothing more. A Delete removes the
    record, so no follow rewrites what it removes."""
    arn = following["PhysicalResourceId"]
    leases = store()
    leases.acquire(arn, "follower:alive")
    old = {**props, "FollowRevisions": "true"}
    if request_type == "Update":
        assert cfn.update(arn, {**old, "TimeoutSeconds": "60"}, old)["Status"] == "SUCCESS"
    else:
        assert cfn.delete(arn, old)["Status"] == "SUCCESS"
        assert session.client("dynamodb").scan(TableName=FOLLOW_TABLE)["Count"] == 0
    with pytest.raises(Busy):
        leases.renew(arn, "follower:alive")


def test_an_update_takes_over_the_lease_a_failed_request_left(cfn, session, estate, following, props):
    """A request that died holding the lease (its release never happened): the next request
    (CloudFormation's rollback) takes it at once."""
    arn = following["PhysicalResourceId"]
    store().acquire(arn, "cloudformation:died")
    old = {**props, "FollowRevisions": "true"}
    began = time.monotonic()
    assert cfn.update(arn, {**old, "TimeoutSeconds": "60"}, old)["Status"] == "SUCCESS"
    assert time.monotonic() - began < 5


def overlap(session: Any, estate: Any, seen: dict[str, Any]) -> Any:
    """A fault rule's `decide` that, at the first call it sees, registers a revision and delivers
    its event to the follower (recorded in `seen`), then lets the call through."""

    def register_and_follow(_operation: str) -> bool:
        if not seen:
            seen["revision"] = new_revision(session, estate)
            seen["follow"] = follow(cloudtrail.registered(seen["revision"]))
        return False

    return register_and_follow


def test_an_event_during_an_update_is_deferred_and_the_update_deploys_the_newest_revision(
    cfn, session, estate, following, props, faults
):
    """The revision is registered and its event delivered while an Update holds the state machine
    (between taking the lease and resolving the revisions): the follow ends without a function
    error, and the Update, resolving the newest ACTIVE revision itself, deploys it."""
    arn = following["PhysicalResourceId"]
    old = {**props, "FollowRevisions": "true"}
    seen: dict[str, Any] = {}
    faults.add(Rule("ecs.DescribeTaskDefinition", decide=overlap(session, estate, seen), times=None))
    answer = cfn.update(arn, {**old, "TimeoutSeconds": "60"}, old)
    assert answer["Status"] == "SUCCESS", answer
    assert seen["follow"]["deferred"] == 1 and seen["follow"]["failed"] == 0
    assert answer["Data"]["TaskDefinitionArn"] == seen["revision"]
    assert state(session, arn)[0] == seen["revision"]


def test_an_event_after_an_update_resolved_its_revision_is_deferred_and_the_sweep_moves_it(
    cfn, session, estate, following, props, faults
):
    """The registration comes after the Update resolved its revisions: the Update deploys what it
    resolved, the deferred follow is not retried, and the next sweep moves the state machine."""
    arn = following["PhysicalResourceId"]
    old = {**props, "FollowRevisions": "true"}
    seen: dict[str, Any] = {}
    faults.add(Rule("sfn.UpdateStateMachine", decide=overlap(session, estate, seen), times=None))
    answer = cfn.update(arn, {**old, "TimeoutSeconds": "60"}, old)
    assert answer["Status"] == "SUCCESS", answer
    assert seen["follow"]["deferred"] == 1
    assert state(session, arn)[0] == estate.revisions[0]
    faults.reset()
    assert follow(cloudtrail.sweep())["moved"] == 1
    task, run, _passed = state(session, arn)
    assert task == seen["revision"] and run == {seen["revision"]}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_a_failed_update_state_machine_narrows_the_role_back_at_once(
    session, estate, following, faults, code
):
    arn = following["PhysicalResourceId"]
    before = role_policy(session, machine(session, arn)["roleArn"])
    revision = new_revision(session, estate)
    faults.add(Rule("sfn.UpdateStateMachine", code=code, times=None))
    assert follow(cloudtrail.registered(revision))["failed"] == 1
    assert role_policy(session, machine(session, arn)["roleArn"]) == before, "narrowed back"
    assert state(session, arn)[0] == estate.revisions[0]
    faults.reset()
    assert follow(cloudtrail.registered(revision))["moved"] == 1, "the next event retries the move"
    assert state(session, arn)[1] == {revision}


def test_an_update_state_machine_applied_but_unanswered_narrows_to_the_new_revision(
    session, estate, following, faults
):
    """The write went through but its answers were lost: the role is made exact for what the state
    machine now runs, the new revision."""
    arn = following["PhysicalResourceId"]
    revision = new_revision(session, estate)
    faults.add(Rule("sfn.UpdateStateMachine", kind="lost", times=None))
    assert follow(cloudtrail.registered(revision))["failed"] == 1
    task, run, _passed = state(session, arn)
    assert task == revision and run == {revision}
    assert json.dumps(role_policy(session, machine(session, arn)["roleArn"])).count("task-definition/") == 1


def test_a_sweep_out_of_time_is_taken_up_where_it_stopped(account, session, estate, props, monkeypatch):
    """Five following state machines, pages of two, and time for two reconciles per sweep: each
    sweep goes on where the last one stopped, so three sweeps move all five (without the cursor,
    every sweep would redo the first two)."""
    import functools
    import os

    from ecs_state_machine.base.arn import Place
    from ecs_state_machine.base.aws import Deadline
    from ecs_state_machine.base.settings import Settings
    from ecs_state_machine.following.follower import Follower
    from testkit.account import SM
    from testkit.cloudformation import Player
    from testkit.estate import ACCOUNT, REGION
    from tests.integration.conftest import STACK_ID

    monkeypatch.setattr(follow_store, "SWEEP_PAGE", 2)
    arns = sorted(
        Player(account.transport, STACK_ID, f"Job{i}").create({**props, "FollowRevisions": "true"})[
            "PhysicalResourceId"
        ]
        for i in range(5)
    )
    assert all(arn.startswith(SM) for arn in arns)
    revision = new_revision(session, estate)
    moved: list[str] = []
    for _sweep in range(3):
        # Time for two reconciles: then 1 s left.
        aws = Aws(Deadline(functools.partial(next, iter([300_000, 300_000]), 1_000)))
        follower = Follower(
            aws, Place("aws", REGION, ACCOUNT), Settings.from_environment(os.environ), store()
        )
        summary = follower.handle(cloudtrail.sweep())
        assert summary["moved"] + summary["unchanged"] == 2, summary
        moved += [arn for arn in arns if arn not in moved and state(session, arn)[0] == revision]
    assert moved == arns, "each sweep went on where the last one stopped"
    assert all(state(session, arn)[0] == revision for arn in arns)


def test_a_claimed_lease_goes_to_the_request_not_to_another_follower(following):
    """Once a request has claimed a follower's lease, no follower may renew it or take it when it
    expires: the request takes it (then holds it for its own length)."""
    arn = following["PhysicalResourceId"]
    now = [time.time()]
    leases = FollowStore(Aws(), FOLLOW_TABLE, clock=lambda: now[0])
    leases.acquire(arn, "follower:first")
    holder = leases.holder(arn)
    assert holder is not None and holder.is_follower
    with pytest.raises(Busy):
        leases.acquire(arn, "cloudformation:update")
    assert leases.claim(arn, holder)
    with pytest.raises(Busy):
        leases.renew(arn, "follower:first")
    now[0] += follow_store.FOLLOWER_LEASE_SECONDS + follow_store.CLOCK_SKEW_SECONDS + 1
    with pytest.raises(Busy):
        leases.acquire(arn, "follower:second")
    assert leases.acquire(arn, "cloudformation:update") is not None
    assert leases.holder(arn).owner == "cloudformation:update"  # type: ignore[union-attr]
    with pytest.raises(Busy):
        leases.acquire(arn, "follower:third")
