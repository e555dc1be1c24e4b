"""An AWS account in this process for the provider to act in: moto in process (answering as AWS
does), the ECS estate, CloudFormation's record, the provider's environment as the provider stack
would set it (secure defaults: only what a test sets), and a transport that runs the real handler.

    with opened() as account:
        answer = account.player().create(account.props)
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

from testkit import moto_patches, stacks
from testkit.cloudformation import Player, new_stack_id
from testkit.estate import ACCOUNT, FOLLOW_TABLE, REGION, Estate, build_estate, register
from testkit.transports import InProcess

SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
# The provider's settings and the AWS settings of the machine running the tests: none leak in.
UNSET = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "PERMISSIONS_BOUNDARY",
    "ROLE_PATH",
    "ALLOW_POLICY_STATEMENTS",
    "PASSABLE_ROLE_PATTERN",
    "TASK_ROLE_PATTERN",
    "LOG_GROUP_PATTERN",
    "CREDENTIALS_ROLE_PATTERN",
    "ALLOWED_RESPONSE_HOSTS",
    "AWS_SAM_LOCAL",
)
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "ecs-state-machine",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "FOLLOW_TABLE": FOLLOW_TABLE,
}
STATES_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class Account:
    session: Any
    estate: Estate
    transport: InProcess
    pauses: list[float]  # the provider's retry pauses, recorded instead of slept

    @property
    def responses(self) -> list[dict[str, Any]]:
        return self.transport.responses

    @property
    def urls(self) -> list[str]:
        return self.transport.urls

    def player(self, stack: str = "my-batch-stack", logical_id: str = "NightlyBatch") -> Player:
        """CloudFormation for a resource of a new stack named `stack`."""
        return Player(self.transport, new_stack_id(stack), logical_id)

    @property
    def props(self) -> dict[str, Any]:
        return {
            "TaskDefinition": self.estate.family,
            "ContainerName": "hoge",
            "Cluster": self.estate.cluster_name,
            "Subnets": self.estate.subnets,
            "SecurityGroups": self.estate.security_groups,
        }

    def role(self, name: str, trust: str = STATES_TRUST, path: str = "/") -> str:
        """A role the account has (not one of the provider's)."""
        created = self.session.client("iam").create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=trust
        )
        return str(created["Role"]["Arn"])

    def family(self, name: str, task_role: str | None, execution_role: str | None) -> str:
        """A revision of another family, with one container "app"."""
        return register(
            self.session.client("ecs"), name, task_role_arn=task_role, execution_role_arn=execution_role
        )

    def everything(self) -> dict[str, Any]:
        """Every state machine (definition, role, tags) and role (path, trust, policies, boundary, tags)."""
        sfn, iam = self.session.client("stepfunctions"), self.session.client("iam")
        machines = {}
        for listed in sfn.list_state_machines()["stateMachines"]:
            described = sfn.describe_state_machine(stateMachineArn=listed["stateMachineArn"])
            if described.get("status") == "DELETING":
                continue
            tags = sfn.list_tags_for_resource(resourceArn=listed["stateMachineArn"])["tags"]
            machines[listed["name"]] = (described["definition"], described["roleArn"], sorted(map(str, tags)))
        roles = {}
        for listed in iam.list_roles()["Roles"]:
            name = listed["RoleName"]
            role = iam.get_role(RoleName=name)["Role"]
            policies = {
                p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
            }
            roles[name] = json.dumps(
                [
                    role["Path"],
                    role["AssumeRolePolicyDocument"],
                    policies,
                    role.get("PermissionsBoundary"),
                    role.get("Tags"),
                ],
                sort_keys=True,
                default=str,
            )
        return {"machines": machines, "roles": roles}

    def leftovers(self) -> tuple[list[str], list[str]]:
        """Names of the provider's roles and of the state machines that still exist."""
        state = self.everything()
        roles = [name for name, value in state["roles"].items() if "/ecs-state-machine/" in value]
        return sorted(roles), sorted(state["machines"])


@functools.cache
def _loader() -> Any:
    """botocore's service models, read from disk once per test process instead of once per account."""
    return botocore.session.get_session().get_component("data_loader")


def _session() -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.Session(botocore_session=core, region_name=REGION)


@contextlib.contextmanager
def opened(
    *,
    revisions: int = 1,
    vpc: bool = False,
    sender: Any = None,
    signature: str = "secret",
    record_pauses: bool = True,
) -> Iterator[Account]:
    """An account for as long as the block runs: environment, moto, estate, record, transport. With
    `record_pauses` the provider's retry pauses are recorded in `pauses` instead of slept."""
    from ecs_state_machine.base.aws import Aws

    moto_patches.apply()
    with pytest.MonkeyPatch.context() as patch:
        for key in UNSET:
            patch.delenv(key, raising=False)
        for key, value in ENVIRONMENT.items():
            patch.setenv(key, value)
        patch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", stacks.shared().endpoint_url)
        pauses: list[float] = []
        if record_pauses:
            patch.setitem(Aws.__init__.__kwdefaults__, "sleep", pauses.append)
        stacks.shared().clear()
        with mock_aws(), InProcess(sender=sender, signature=signature) as transport:
            session = _session()
            try:
                yield Account(session, build_estate(session, revisions=revisions, vpc=vpc), transport, pauses)
            finally:
                stacks.shared().clear()
                boto3.DEFAULT_SESSION = None
