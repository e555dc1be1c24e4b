"""The versions tag (`ecs-state-machine:versions`) rewritten by someone allowed to tag the state
machine: it is a hint, never the truth. A forged or corrupt tag costs at most one extra call
(DescribeStateMachine on the version it names), never an alias pointed at other content."""

from __future__ import annotations

import json

import pytest

from testkit.account import Account
from tests.security.conftest import TALLY

PUBLISHED = {"PublishVersion": "true", "AliasName": "live"}
TAG = "ecs-state-machine:versions"


def described(account: Account, arn: str) -> dict[str, object]:
    return dict(account.session.client("stepfunctions").describe_state_machine(stateMachineArn=arn))


def alias_target(account: Account, arn: str) -> str:
    routing = account.session.client("stepfunctions").describe_state_machine_alias(
        stateMachineAliasArn=f"{arn}:live"
    )["routingConfiguration"]
    return str(routing[0]["stateMachineVersionArn"])


def forge(account: Account, arn: str, value: str) -> None:
    account.session.client("stepfunctions").tag_resource(resourceArn=arn, tags=[{"key": TAG, "value": value}])


@pytest.mark.parametrize("forgery", ["swapped", "corrupt"])
def test_a_forged_versions_tag_never_points_the_alias_at_other_content(
    account: Account, forgery: str
) -> None:
    """Version 1 runs A, version 2 runs B. The tag is rewritten so that A's content hash names
    version 2 (or is junk); the rollback to A must publish (or find) a version that runs A."""
    cfn = account.player("versioned")
    first = {**account.props, **PUBLISHED}
    arn = cfn.create(first)["PhysicalResourceId"]
    second = {**first, "TimeoutSeconds": "600"}
    assert cfn.update(arn, second, first)["Status"] == "SUCCESS"
    tags = account.session.client("stepfunctions").list_tags_for_resource(resourceArn=arn)["tags"]
    remembered = dict(
        entry.split(":") for entry in next(t["value"] for t in tags if t["key"] == TAG).split(",")
    )
    assert set(remembered) == {"1", "2"}
    TALLY["attacks"] += 1
    forge(
        account,
        arn,
        f"2:{remembered['1']},1:{remembered['2']}" if forgery == "swapped" else "2:zzzz,x:y,,:",
    )

    rolled_back = cfn.update(arn, first, second)
    assert rolled_back["Status"] == "SUCCESS", rolled_back
    version = alias_target(account, arn)
    assert rolled_back["Data"]["VersionArn"] == version
    assert json.loads(str(described(account, version)["definition"])) == json.loads(
        str(described(account, arn)["definition"])
    ), "the alias runs what the state machine runs"
    assert "TimeoutSeconds" not in str(described(account, version)["definition"])
    assert described(account, version)["roleArn"] == described(account, arn)["roleArn"]
    TALLY["refused"] += 1
