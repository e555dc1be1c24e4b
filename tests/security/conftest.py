"""The security suite: the provider tried the way an attacker with a stack author's permissions
would try it, and CloudFormation's own sequences checked to still work.

Requests go through the real handler in process, AWS is moto, and CloudFormation's record is the
stand-in (`testkit.stacks`) that the provider reads over HTTP. The provider's retry pauses are
recorded, not slept. Every test that attacks counts itself in TALLY, and the figures are printed at
the end of the run.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from testkit import stacks
from tests.aws_fixtures import ACCOUNT, REGION, Estate, build_estate, register
from tests.integration.conftest import Cfn

TALLY: Counter[str] = Counter()
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
SETTINGS_ENV = (
    "PERMISSIONS_BOUNDARY",
    "ROLE_PATH",
    "ALLOW_POLICY_STATEMENTS",
    "PASSABLE_ROLE_PATTERN",
    "TASK_ROLE_PATTERN",
    "LOG_GROUP_PATTERN",
    "ALLOWED_RESPONSE_HOSTS",
    "AWS_SAM_LOCAL",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
)
STATES_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"


@dataclass
class Account:
    """One account's AWS (moto), the estate, every response the provider sent, and its pauses."""

    session: Any
    estate: Estate
    responses: list[dict[str, Any]]
    urls: list[str]  # where each response was sent
    pauses: list[float]

    def cfn(self, stack: str = "victim", logical_id: str = "NightlyBatch") -> Cfn:
        return Cfn(responses=self.responses, logical_id=logical_id, stack_id=stack_id(stack))

    @property
    def props(self) -> dict[str, Any]:
        return {
            "TaskDefinition": self.estate.family,
            "ContainerName": "hoge",
            "Cluster": "hogefuga-cluster",
            "Subnets": self.estate.subnets,
            "SecurityGroups": self.estate.security_groups,
        }

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
        for role in iam.list_roles()["Roles"]:
            name = role["RoleName"]
            full = iam.get_role(RoleName=name)["Role"]
            policies = {
                p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
            }
            roles[name] = json.dumps(
                [
                    full["Path"],
                    full["AssumeRolePolicyDocument"],
                    policies,
                    full.get("PermissionsBoundary"),
                    full.get("Tags"),
                ],
                sort_keys=True,
                default=str,
            )
        return {"machines": machines, "roles": roles}

    def leftovers(self) -> tuple[list[str], list[str]]:
        state = self.everything()
        provider_roles = [r for r, v in state["roles"].items() if "/ecs-state-machine/" in v]
        return sorted(provider_roles), sorted(state["machines"])

    def role(self, name: str, trust: str = STATES_TRUST, path: str = "/") -> str:
        return str(
            self.session.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust)[
                "Role"
            ]["Arn"]
        )

    def family(self, name: str, task_role: str | None, execution_role: str | None) -> str:
        return register(
            self.session.client("ecs"),
            name,
            containers=("app",),
            task_role_arn=task_role,
            execution_role_arn=execution_role,
        )


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    import app
    from ecs_state_machine.aws import Aws

    for key in SETTINGS_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "ecs-state-machine",
        "AWS_ENDPOINT_URL_CLOUDFORMATION": stacks.shared().endpoint_url,
    }.items():
        monkeypatch.setenv(key, value)
    stacks.shared().clear()
    pauses: list[float] = []
    monkeypatch.setitem(Aws.__init__.__kwdefaults__, "sleep", pauses.append)
    responses: list[dict[str, Any]] = []
    urls: list[str] = []

    def capture(url: str, body: dict[str, Any]) -> bool:
        responses.append(json.loads(json.dumps(body)))
        urls.append(url)
        return True

    monkeypatch.setattr(app.helper, "_sender", capture)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        yield Account(session, build_estate(session, with_vpc=False), responses, urls, pauses)
    stacks.shared().clear()


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything the provider's loggers write during the test, as one text."""
    import app  # noqa: F401  (creates the service logger and its handler)

    stream = io.StringIO()
    handlers = [
        h for h in logging.getLogger("ecs-state-machine").handlers if isinstance(h, logging.StreamHandler)
    ]
    previous = [h.stream for h in handlers]
    for handler in handlers:
        handler.stream = stream
    caplog.set_level(logging.DEBUG)
    try:
        yield stream
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.stream = old
        stream.write("\n".join(r.getMessage() + repr(vars(r)) for r in caplog.records))
        out, err = capfd.readouterr()
        stream.write(out + err)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("security figures")
    write(
        f"attacks tried: {TALLY['attacks']}, refused: {TALLY['refused']}, answered only at CloudFormation's "
        f"hosts: {TALLY['attacks'] - TALLY['answered elsewhere']}/{TALLY['attacks']}; resources changed by an "
        f"attack: {TALLY['changed']}"
    )
    write(
        f"legitimate CloudFormation sequences: {TALLY['sequences']}, succeeded: {TALLY['sequences ok']}; "
        f"log scans for secrets: {TALLY['log scans']}, secrets found: {TALLY['secrets logged']}"
    )
