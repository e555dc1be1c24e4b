"""Consumer stacks for `ecs-state-machine plan` and `drift`: a template deployed through the real
handler (its properties rendered by the kit's own template renderer, not the command's), recorded
in CloudFormation's record with its template and parameters, beside a provider stack that exports
the ServiceToken; and a recorder of every AWS call a boto3 session makes.

    provider_stack()
    deployed = deploy(account.player("nightly"), TEMPLATE, {"Subnets": ...})
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

from testkit import stacks
from testkit.cloudformation import Player, stringify
from testkit.estate import ACCOUNT, FAMILY, FOLLOW_TABLE, REGION
from testkit.templates import RESOURCE_TYPE, Stack

PROVIDER_STACK = "ecs-state-machine"
PROVIDER_STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{PROVIDER_STACK}/0e0e0e0e-0000-4000-8000-000000000001"
)
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ecs-state-machine-ProviderFunction"
EXPORT = "ecs-state-machine-ServiceToken"

# One task of the estate's family, named when the Name parameter is given.
TEMPLATE = """\
Parameters:
  Subnets:
    Type: CommaDelimitedList
  SecurityGroups:
    Type: CommaDelimitedList
  Name:
    Type: String
    Default: ""
Conditions:
  Named: !Not [!Equals [!Ref Name, ""]]
Resources:
  NightlyBatch:
    Type: Custom::EcsStateMachine
    Properties:
      ServiceToken: !ImportValue ecs-state-machine-ServiceToken
      TaskDefinition: hogefuga
      ContainerName: hoge
      Cluster: hogefuga-cluster
      Subnets: !Ref Subnets
      SecurityGroups: !Ref SecurityGroups
      StateMachineName: !If [Named, !Ref Name, !Ref AWS::NoValue]
"""


def provider_stack(parameters: dict[str, str] | None = None, boundary: str = "") -> None:
    """The provider stack as the functions under test are configured: template.yaml's defaults
    unless `parameters` say otherwise, its FollowTable, and the ServiceToken export."""
    record = stacks.shared()
    record.deployed(
        PROVIDER_STACK_ID,
        "Resources: {}",
        parameters={"TaskRolePattern": "*", "PassableRolePattern": "", **(parameters or {})},
        outputs={
            "ServiceToken": SERVICE_TOKEN,
            "PermissionsBoundaryArn": boundary,
            "RolePath": "/ecs-state-machine/",
        },
        resources={"FollowTable": ("AWS::DynamoDB::Table", FOLLOW_TABLE)},
    )
    record.exports[EXPORT] = (SERVICE_TOKEN, PROVIDER_STACK_ID)


def properties(template: str, parameters: dict[str, Any], stack_name: str) -> dict[str, dict[str, Any]]:
    """Each Custom::EcsStateMachine's properties as CloudFormation delivers them."""
    document, problems = decode_str(template)
    assert not problems, problems
    given = {k: v for k, v in parameters.items() if k in document.get("Parameters", {})}
    stack = Stack(dict(document), given, region=REGION, account=ACCOUNT, stack_name=stack_name)
    found = {}
    for logical_id, resource in document["Resources"].items():
        if resource["Type"] == RESOURCE_TYPE:
            rendered = stack.render(resource["Properties"])
            rendered["ServiceToken"] = SERVICE_TOKEN
            found[logical_id] = stringify(rendered)
    return found


@dataclass
class Deployed:
    player: Player
    template: str
    parameters: dict[str, Any]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    others: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return self.player.stack_id.split(":stack/", 1)[1].split("/", 1)[0]

    def update(self, template: str, parameters: dict[str, Any]) -> None:
        """A stack update through the handler: an Update for each resource whose properties change."""
        new = properties(template, parameters, self.stack_name)
        for logical_id, props in new.items():
            if props == self.properties.get(logical_id):
                continue
            self.player.logical_id = logical_id
            answer = self.player.update(self.physical_ids[logical_id], props, self.properties[logical_id])
            assert answer.status == "SUCCESS", answer.reason
            self.physical_ids[logical_id] = str(answer.physical_id)
        self.template, self.parameters, self.properties = template, parameters, new
        _record(self)


def deploy(
    player: Player,
    template: str,
    parameters: dict[str, Any],
    others: dict[str, tuple[str, str]] | None = None,
) -> Deployed:
    """Create each Custom::EcsStateMachine of `template` through the handler, as stack `player`'s,
    beside the stack's `others` (logical id -> (type, physical id)), made before them."""
    deployed = Deployed(player, template, parameters, others=dict(others or {}))
    deployed.properties = properties(template, parameters, deployed.stack_name)
    for logical_id, props in deployed.properties.items():
        player.logical_id = logical_id
        answer = player.create(props)
        assert answer.status == "SUCCESS", answer.reason
        deployed.physical_ids[logical_id] = str(answer.physical_id)
    _record(deployed)
    return deployed


def _record(deployed: Deployed) -> None:
    flat = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in deployed.parameters.items()}
    stacks.shared().deployed(deployed.player.stack_id, deployed.template, flat, resources=deployed.others)


def new_task_role(aws: Any, role_name: str) -> str:
    """A role `role_name` and a new revision of the estate's family that brings it as its task role
    (the rest as the latest revision has it): what a deploy pipeline does without touching the
    consumer stack. The role's ARN."""
    role = str(
        aws.client("iam").create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    )
    ecs = aws.client("ecs")
    latest = ecs.describe_task_definition(taskDefinition=FAMILY)["taskDefinition"]
    ecs.register_task_definition(
        family=FAMILY,
        containerDefinitions=latest["containerDefinitions"],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        taskRoleArn=role,
        **({"executionRoleArn": latest["executionRoleArn"]} if latest.get("executionRoleArn") else {}),
    )
    return role


class Recorder:
    """Every AWS operation a boto3 session's clients call, as IAM names it (`service:Operation`)."""

    def __init__(self, session: Any) -> None:
        self.calls: list[str] = []
        session.events.register("before-call", self._seen)

    def _seen(self, model: Any, **_kwargs: Any) -> None:
        prefix = model.service_model.metadata.get("signingName") or model.service_model.endpoint_prefix
        self.calls.append(f"{prefix}:{model.name}")


def command() -> list[str]:
    """The installed console script (as a user runs it), else the module through this interpreter."""
    script = Path(sys.executable).parent / "ecs-state-machine"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ecs_state_machine.cli"]


def run_command(endpoint_url: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`ecs-state-machine ARGS` in a process of its own, against the moto server at `endpoint_url`
    and this process's CloudFormation record, with none of the caller's AWS settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDFORMATION": stacks.shared().endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return subprocess.run(
        [*command(), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
