"""Resources made by the previous release (recorded by tests/upgrade/record.py from that release's
own handler: names, path, trust, policies, tags), updated and deleted by this one after the
provider stack is upgraded: updated in place, brought up to date (boundary, exact trust), their
tags kept, and nothing left after the Delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_state_machine import __version__
from testkit.account import Account
from testkit.cloudformation import Player

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))


def recreate(account: Account, release: dict[str, Any]) -> None:
    """The account as the previous release left it."""
    iam, sfn = account.session.client("iam"), account.session.client("stepfunctions")
    for role in release["roles"]:
        iam.create_role(
            RoleName=role["name"],
            Path=role["path"],
            AssumeRolePolicyDocument=json.dumps(role["trust"]),
            Tags=role["tags"],
        )
        for name, document in role["policies"].items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=name, PolicyDocument=json.dumps(document))
    for machine in release["state_machines"]:
        sfn.create_state_machine(
            name=machine["name"],
            definition=json.dumps(machine["definition"]),
            roleArn=machine["roleArn"],
            type=machine["type"],
            tags=machine["tags"],
        )


@pytest.fixture
def boundary(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    """The upgraded provider stack's own boundary (the previous release set none)."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"}],
    }
    created = account.session.client("iam").create_policy(
        PolicyName="ecs-state-machine-boundary",
        Path="/ecs-state-machine/",
        PolicyDocument=json.dumps(document),
    )
    monkeypatch.setenv("PERMISSIONS_BOUNDARY", created["Policy"]["Arn"])
    return str(created["Policy"]["Arn"])


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
@pytest.mark.parametrize("logical_id", ["NightlyBatch", "Pipeline"])
def test_what_the_previous_release_made_is_updated_in_place_and_deleted_leaving_nothing(
    account: Account, boundary: str, fixture: Path, logical_id: str
) -> None:
    release = json.loads(fixture.read_text())
    recreate(account, release)
    made = release["resources"][logical_id]
    properties = {k: v for k, v in made["properties"].items() if k != "ServiceToken"}
    player = Player(account.transport, release["stack_id"], logical_id)
    arn = made["physical_id"]

    updated = player.update(arn, {**properties, "RefreshToken": "after-the-upgrade"}, properties)
    assert updated["Status"] == "SUCCESS", updated
    assert updated["PhysicalResourceId"] == arn, "updated in place, not replaced"
    assert updated["Data"]["ProviderVersion"] == __version__
    assert updated["Data"]["RoleArn"] == made["data"]["RoleArn"]

    iam, sfn = account.session.client("iam"), account.session.client("stepfunctions")
    role = iam.get_role(RoleName=made["data"]["RoleArn"].rsplit("/", 1)[1])["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == [arn, f"{arn}:*", f"{arn}/*"]
    old_tags = {t["key"]: t["value"] for m in release["state_machines"] if m["arn"] == arn for t in m["tags"]}
    now_tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert old_tags.items() <= now_tags.items(), "every tag the previous release wrote is kept"

    deleted = player.delete(arn, {**properties, "RefreshToken": "after-the-upgrade"})
    assert deleted["Status"] == "SUCCESS", deleted
    roles, machines = account.leftovers()
    assert not [n for n in (*roles, *machines) if f"-{logical_id}-" in n], (roles, machines)
