"""The follower's pure parts: which families an event names (and which events are not for it),
the move's two policies, and what a move reports."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_state_machine.base.arn import Place
from ecs_state_machine.following.follower import _changes, families_in, is_sweep
from ecs_state_machine.planning.render import union
from testkit import cloudtrail

HERE = Place("aws", "us-east-1", "123456789012")
ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/{}"


@pytest.mark.parametrize(
    ("event", "families"),
    [
        (cloudtrail.registered(ARN.format("nightly:4")), ("nightly",)),
        (cloudtrail.deregistered("nightly:3"), ("nightly",)),
        (cloudtrail.deregistered(ARN.format("nightly:3")), ("nightly",)),
        (cloudtrail.deleted("a:1", ARN.format("b:2"), "a:2"), ("a", "b")),
        (cloudtrail.registered(ARN.format("nightly:4"), error="ClientException"), ()),
        (cloudtrail.deregistered("not a family!"), ()),
        (cloudtrail.ecs_call("RegisterTaskDefinition", {}), ()),
        (cloudtrail.ecs_call("DeleteTaskDefinitions", {"taskDefinitions": None}), ()),
    ],
)
def test_the_families_an_ecs_event_names(event, families):
    assert families_in(event, HERE) == families


@pytest.mark.parametrize(
    "event",
    [
        cloudtrail.registered(ARN.format("nightly:4"), account="999999999999"),
        cloudtrail.registered(ARN.format("nightly:4"), region="eu-west-1"),
        {**cloudtrail.registered(ARN.format("nightly:4")), "source": "aws.ec2"},
        {**cloudtrail.registered(ARN.format("nightly:4")), "detail-type": "ECS Task State Change"},
        cloudtrail.ecs_call("RunTask", {"taskDefinition": "nightly:4"}),
        {**cloudtrail.registered(ARN.format("nightly:4")), "detail": "oops"},
        cloudtrail.sweep(),
        None,
        [],
    ],
)
def test_events_that_are_not_ecs_task_definition_calls_here_are_not_read(event: Any):
    assert families_in(event, HERE) is None


def test_the_sweep_is_the_scheduled_event_only():
    assert is_sweep(cloudtrail.sweep())
    assert not is_sweep(cloudtrail.registered(ARN.format("nightly:4")))
    assert not is_sweep({**cloudtrail.sweep(), "source": "custom"})


def test_the_policy_written_first_grants_both_revisions():
    old = [{"Sid": "RunTask", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": ARN.format("n:1")}]
    new = [{"Sid": "RunTask", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": [ARN.format("n:2")]}]
    assert union(old, new) == [
        {
            "Sid": "RunTask",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": [ARN.format("n:1"), ARN.format("n:2")],
        }
    ]


def test_a_move_reports_each_family_that_changed():
    before = (ARN.format("a:1"), ARN.format("b:1"))
    after = (ARN.format("a:2"), ARN.format("b:1"), ARN.format("c:1"))
    assert _changes(before, after) == [(ARN.format("a:1"), ARN.format("a:2")), (None, ARN.format("c:1"))]


def test_the_sample_events_for_sam_local_invoke_are_what_the_follower_reads():
    """`sam local invoke FollowerFunction -e events/follow-registered.json` (or follow-sweep.json)."""
    import json
    from pathlib import Path

    events = Path(__file__).resolve().parents[3] / "events"
    registered = json.loads((events / "follow-registered.json").read_text())
    assert families_in(registered, HERE) == ("hogefuga",)
    assert is_sweep(json.loads((events / "follow-sweep.json").read_text()))


class Leases:
    """A follow store's lease calls, recorded; `lost` makes renewals fail as after a takeover."""

    def __init__(self, lost: bool = False) -> None:
        self.calls: list[str] = []
        self.lost = lost

    def acquire(self, arn: str, owner: str) -> object:
        self.calls.append("acquire")
        return object()

    def renew(self, arn: str, owner: str) -> None:
        from ecs_state_machine.following.follow_store import Busy

        self.calls.append("renew")
        if self.lost:
            raise Busy("taken over")

    def release(self, arn: str, owner: str) -> None:
        self.calls.append("release")


def test_a_follower_starts_a_write_only_with_enough_lease_left_and_never_after_losing_it():
    from ecs_state_machine.following.follow_store import FOLLOWER_LEASE_SECONDS, STEP_SECONDS, Busy
    from ecs_state_machine.following.follower import Lease

    now = [1000.0]
    store = Leases()
    lease = Lease(store, "arn", "follower:x", clock=lambda: now[0])  # type: ignore[arg-type]
    lease.take()
    lease.fence()
    assert store.calls == ["acquire"], "a fresh lease needs no renewal"
    now[0] += FOLLOWER_LEASE_SECONDS - STEP_SECONDS + 1  # less than a step's worth left
    lease.fence()
    assert store.calls == ["acquire", "renew"]
    lease.fence()
    assert store.calls == ["acquire", "renew"], "renewed for a whole lease from before the renewal"

    store.lost = True
    now[0] += FOLLOWER_LEASE_SECONDS  # stalled past its lease; a deploy took it over
    with pytest.raises(Busy):
        lease.fence()
    lease.release()
    assert store.calls == ["acquire", "renew", "renew"], "a lost lease is not given back: it is not ours"
