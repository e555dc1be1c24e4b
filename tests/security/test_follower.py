"""The follower invoked directly by someone who would like a state machine to run their revision:
forged ECS events, a forged sweep, events of other accounts, junk. An event only names families
to look at, so the worst a forgery does is a reconcile with what ECS really has: nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit import cloudtrail
from testkit.account import Account
from testkit.estate import register
from testkit.transports import Context
from tests.security.conftest import TALLY


def forged(account: Account, event: Any) -> Any:
    """Invoke the follower with `event`; nothing of the account may change."""
    import follower_app

    TALLY["attacks"] += 1
    before = account.everything()
    try:
        answer = follower_app.lambda_handler(event, Context())
    finally:
        changed = account.everything() != before
        TALLY["changed"] += changed
    assert not changed, "a forged follower event changed the account"
    TALLY["refused"] += 1
    return answer


@pytest.fixture
def victim(account: Account) -> str:
    answer = account.player("victim").create({**account.props, "FollowRevisions": "true"})
    assert answer["Status"] == "SUCCESS", answer
    return str(answer["PhysicalResourceId"])


def test_a_forged_registration_cannot_point_a_followed_state_machine_at_another_revision(
    account: Account, victim: str
) -> None:
    admin = account.role("attacker-admin", json.dumps({"Version": "2012-10-17", "Statement": []}))
    theirs = account.family("attacker", admin, admin)
    # The victim's family, with the attacker's revision ARN in the response.
    event = cloudtrail.registered(theirs)
    event["detail"]["requestParameters"]["family"] = account.estate.family
    assert forged(account, event)["unchanged"] == 1
    assert forged(account, cloudtrail.sweep())["unchanged"] == 1


@pytest.mark.parametrize(
    "event",
    [
        cloudtrail.registered(
            "arn:aws:ecs:us-east-1:999999999999:task-definition/hogefuga:9", account="999999999999"
        ),
        cloudtrail.deleted(*[f"hogefuga:{i}" for i in range(1, 500)], region="eu-west-1"),
        {
            "source": "aws.ecs",
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventName": ["x"] * 10000},
        },
        {"bench": {"noop": True}},
        "x" * 100_000,
    ],
)
def test_foreign_and_junk_events_are_ignored(account: Account, victim: str, event: Any) -> None:
    assert forged(account, event) == {"ignored": True}


def test_a_registration_outside_task_role_pattern_is_never_followed(
    account: Account, victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The family's owner registers a revision with an admin role: the follower refuses it, as a
    deploy would."""
    monkeypatch.setenv("TASK_ROLE_PATTERN", "hogefuga-*")
    admin = account.role("admin", json.dumps({"Version": "2012-10-17", "Statement": []}))
    revision = register(
        account.session.client("ecs"),
        account.estate.family,
        containers=("hoge", "fuga"),
        task_role_arn=admin,
        execution_role_arn=account.estate.execution_role_arn,
    )
    assert forged(account, cloudtrail.registered(revision))["failed"] == 1
