"""In-process integration tests: moto in process, the real handler, CloudFormation played by the
test kit. The provider's retry pauses are real here (some tests measure them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from testkit.account import Account, opened
from testkit.cloudformation import Player
from testkit.estate import ACCOUNT, REGION, Estate
from testkit.faults import Injector

STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/my-batch-stack/1a2b3c4d-0000-4000-8000-00000000abcd"
)


@pytest.fixture
def account() -> Iterator[Account]:
    with opened(record_pauses=False) as opened_account:
        yield opened_account


@pytest.fixture
def session(account: Account) -> Any:
    return account.session


@pytest.fixture
def estate(account: Account) -> Estate:
    return account.estate


@pytest.fixture
def cfn(account: Account) -> Player:
    return Player(account.transport, STACK_ID, "NightlyBatch")


@pytest.fixture
def props(account: Account) -> dict[str, Any]:
    return account.props


@pytest.fixture
def faults(account: Account) -> Iterator[Injector]:
    injector = Injector().install()
    yield injector
    injector.uninstall()


def provider_leftovers(session: boto3.Session) -> tuple[list[str], list[str]]:
    """Roles on the provider's path and state machines that still exist (not being deleted)."""
    iam = session.client("iam")
    sfn = session.client("stepfunctions")
    roles = [r["RoleName"] for r in iam.list_roles(PathPrefix="/ecs-state-machine/")["Roles"]]
    machines = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        status = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"]).get(
            "status", "ACTIVE"
        )
        if status != "DELETING":
            machines.append(machine["name"])
    return roles, machines
