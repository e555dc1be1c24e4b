"""Shared machinery of the reliability suite: one account per module (`testkit.account`), a
CloudFormation player whose ResponseURL carries a marker that must never be logged, backend reads
for speed, and the run's tally.

Speed, and what is not real: the suite runs many requests, so in a `World`
- the provider's own retry does not sleep: its pauses are recorded (`World.sleeps`), so tests can
  check them;
- botocore's standard-mode backoff is zero (`ExponentialBackoff.delay_amount`); its attempts
  (3) and its retry decisions are real;
- clients are cached for one case (`World.reset()` drops them), instead of built per invocation.
Everything else (the handler, crhelper's dispatch, moto's AWS, CloudFormation's record read over
HTTP) is the real thing.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto.iam.models import iam_backends
from moto.stepfunctions.models import stepfunctions_backends

from testkit.account import Account, opened
from testkit.cloudformation import Player, new_stack_id
from testkit.estate import ACCOUNT, REGION
from testkit.faults import Injector, Rule
from testkit.transports import InProcess

# Markers that must never reach a log line.
URL_SECRET = "SECRETMARKERq7Zx"
TAG_SECRET = "tagsecretW4kP"  # a Tags value
PATH_SECRET = "envsecretJ3vN"  # inside EnvironmentPath
SECRETS = (URL_SECRET, TAG_SECRET, PATH_SECRET)

ROLE_PATH = "/ecs-state-machine/"

TALLY: Counter[str] = Counter()


@dataclass
class World:
    account: Account
    faults: Injector
    _clients: dict[str, Any] = field(default_factory=dict)
    _stacks: int = 0

    def __post_init__(self) -> None:
        self.session = self.account.session
        self.estate = self.account.estate
        self.transport: InProcess = self.account.transport
        self.responses = self.account.responses
        self.sleeps = self.account.pauses
        self.iam = self.session.client("iam")
        self.sfn = self.session.client("stepfunctions")

    @property
    def props(self) -> dict[str, Any]:
        return {
            "TaskDefinition": self.estate.family,
            "ContainerName": "hoge",
            "Cluster": "hogefuga-cluster",
            "Subnets": self.estate.subnets,
            "SecurityGroups": self.estate.security_groups,
            "EnvironmentPath": f"$.{PATH_SECRET}",
            "Tags": [{"Key": "team", "Value": "data"}, {"Key": "cost", "Value": TAG_SECRET}],
        }

    def player(self, logical_id: str = "NightlyBatch") -> Player:
        """A CloudFormation for a new stack (names and ownership never collide between cases)."""
        self._stacks += 1
        return Player(self.transport, new_stack_id(f"s{self._stacks}"), logical_id)

    def arm(self, rule: Rule) -> Rule:
        """Fail `rule.operation` from its `occurrence`-th call counted from now."""
        self.faults.reset()
        return self.faults.add(rule)

    def reset(self) -> None:
        self.faults.reset()
        self.sleeps.clear()
        self._clients.clear()

    # Reads go straight to moto's backends: an API round trip through moto costs ~10 ms, and the
    # matrix reads the account thousands of times. `test_backend_reads_match_the_api` keeps them honest.
    @property
    def _iam_backend(self) -> Any:
        return iam_backends[ACCOUNT]["aws"]

    @property
    def _sfn_backend(self) -> Any:
        return stepfunctions_backends[ACCOUNT][REGION]

    def leftovers(self) -> tuple[list[str], list[str]]:
        """Roles on the provider's path and state machines that exist (as `provider_leftovers`)."""
        roles = sorted(r.name for r in self._iam_backend.roles.values() if r.path.startswith(ROLE_PATH))
        machines = sorted(m.name for m in self._sfn_backend.state_machines)
        return roles, machines

    def sweep(self) -> None:
        """Remove everything on the provider's path (after a failed case, so the next starts clean)."""
        if self.leftovers() == ([], []):
            return
        iam, sfn = self.iam, self.sfn
        for machine in sfn.list_state_machines()["stateMachines"]:
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
        for role in iam.list_roles(PathPrefix=ROLE_PATH)["Roles"]:
            for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                iam.delete_role_policy(RoleName=role["RoleName"], PolicyName=policy)
            iam.delete_role(RoleName=role["RoleName"])

    def machine(self, arn: str) -> dict[str, Any] | None:
        """A state machine's definition, role and tags, or None."""
        backend = self._sfn_backend
        found = next((m for m in backend.state_machines if m.arn == arn), None)
        if found is None:
            return None
        tags = backend.get_tags_list_for_state_machine(arn)
        return {
            "definition": json.loads(found.definition),
            "roleArn": found.roleArn,
            "tags": {t["key"]: t["value"] for t in tags},
        }

    def role(self, role_arn: str) -> dict[str, Any] | None:
        """A role's path, tags, trust policy and inline policies, or None."""
        name = role_arn.rsplit("/", 1)[-1]
        found = next((r for r in self._iam_backend.roles.values() if r.name == name), None)
        if found is None:
            return None
        return {
            "path": found.path,
            "tags": {t["Key"]: t["Value"] for t in found.tags},
            "trust": json.loads(found.assume_role_policy_document),
            "policies": {k: json.loads(v) for k, v in found.policies.items()},
        }

    def machine_via_api(self, arn: str) -> dict[str, Any] | None:
        try:
            described = self.sfn.describe_state_machine(stateMachineArn=arn)
        except self.sfn.exceptions.StateMachineDoesNotExist:
            return None
        tags = self.sfn.list_tags_for_resource(resourceArn=arn)["tags"]
        return {
            "definition": json.loads(described["definition"]),
            "roleArn": described["roleArn"],
            "tags": {t["key"]: t["value"] for t in tags},
        }

    def role_via_api(self, role_arn: str) -> dict[str, Any] | None:
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            return None
        policies = {
            p: self.iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in self.iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        return {
            "path": role["Path"],
            "tags": {t["Key"]: t["Value"] for t in role.get("Tags", [])},
            "trust": role["AssumeRolePolicyDocument"],
            "policies": policies,
        }


@contextlib.contextmanager
def open_world() -> Iterator[World]:
    """moto, the estate, the fault injector and a response recorder, for many requests."""
    with opened(signature=URL_SECRET) as account, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
        faults = Injector().install()
        world = World(account, faults)
        default = boto3.DEFAULT_SESSION
        assert default is not None
        make_client = default.client

        def cached_client(service: str, *args: Any, **kwargs: Any) -> Any:
            if service not in world._clients:
                world._clients[service] = make_client(service, *args, **kwargs)
            return world._clients[service]

        patch.setattr(default, "client", cached_client)
        try:
            yield world
        finally:
            faults.uninstall()


def secrets_in(text: str) -> list[str]:
    return [marker for marker in SECRETS if marker in text]


TRACEBACK = re.compile(r"Traceback|File \"|\.py\b|/site-packages/|/src/handler|/work/")


def assert_clean_reason(reason: str) -> None:
    """A Reason CloudFormation can show: short, printable, no traceback or file path."""
    assert 0 < len(reason) <= 256, reason
    assert reason.isprintable(), repr(reason)
    assert not TRACEBACK.search(reason), reason
