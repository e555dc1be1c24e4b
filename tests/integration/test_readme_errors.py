"""Every row of the README's error table is a Reason the provider gives, produced here the way a
stack author meets it (through the handler, against moto, delivered as CloudFormation delivers it;
a few without AWS at all), and every case here is in the table: the table cannot promise a Reason
the code no longer gives, nor leave one out."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecs_state_machine.base.aws import Aws
from ecs_state_machine.base.errors import PROPAGATION_MESSAGES, ProviderError
from ecs_state_machine.planning.policy_parts import split
from ecs_state_machine.schema.properties import parse
from testkit import stacks
from testkit.account import Account
from testkit.docs import section
from testkit.estate import register
from testkit.transports import Context
from tests.integration.test_preflight import CASES as PREFLIGHT
from tests.integration.test_preflight import build_world, options

EMPTY_TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def rows() -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\| `(.+?)`", section("Errors and fixes"), re.M)]


def matches(row: str, reason: str) -> bool:
    """The Reason starts as the row does, `...` standing for anything."""
    pattern = "^" + ".*?".join(re.escape(part) for part in row.split("..."))
    return re.search(pattern, reason, re.S) is not None


def created(account: Account, props: dict[str, Any], stack: str = "errors") -> str:
    answer = account.player(stack).create(props)
    assert answer["Status"] == "FAILED", answer
    assert len(answer["Reason"]) <= 256
    return str(answer["Reason"])


def parsed(props: dict[str, Any]) -> str:
    with pytest.raises(ProviderError) as caught:
        parse(props)
    return caught.value.reason


def workflow(account: Account, parameters: dict[str, Any], **state: Any) -> dict[str, Any]:
    run = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": account.estate.cluster_name,
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": list(account.estate.subnets)}},
            **parameters,
        },
        "End": True,
        **state,
    }
    return {"Definition": {"StartAt": "Run", "States": {"Run": run}}}


def retired(account: Account, pinned: bool) -> str:
    ecs = account.session.client("ecs")
    arn = register(ecs, "retired")
    ecs.deregister_task_definition(taskDefinition=arn)
    return created(account, {**account.props, "TaskDefinition": "retired:1" if pinned else "retired"})


def legacy(account: Account) -> str:
    register(account.session.client("ecs"), "legacy", compatibilities=("EC2",), network_mode="bridge")
    props = {k: v for k, v in account.props.items() if k not in ("Subnets", "SecurityGroups")}
    return created(account, {**props, "TaskDefinition": "legacy", "ContainerName": "app"})


def taken(account: Account) -> str:
    account.session.client("stepfunctions").create_state_machine(
        name="taken",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=account.role("someone-elses"),
    )
    return created(account, {**account.props, "StateMachineName": "taken"})


def forged(account: Account, resource_type: str | None = None) -> str:
    """A request CloudFormation's record does not show it making."""
    import app

    cfn = account.player("forged")
    if resource_type is None:
        victim = "arn:aws:states:us-east-1:123456789012:stateMachine:victim"
        event = cfn.event("Update", account.props, PhysicalResourceId=victim)
        event["OldResourceProperties"] = event["ResourceProperties"]
    else:
        stacks.shared().put(
            cfn.stack_id,
            cfn.logical_id,
            status="CREATE_IN_PROGRESS",
            physical_id=None,
            resource_type=resource_type,
            stack_status="CREATE_IN_PROGRESS",
        )
        event = {**cfn.event("Create", account.props), "ResourceType": resource_type}
    sent = len(account.responses)
    app.lambda_handler(event, Context())
    (answer,) = account.responses[sent:]
    return str(answer["Reason"])


def handed(account: Account, monkeypatch: pytest.MonkeyPatch, open_up: bool) -> str:
    if open_up:
        monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "sfn/*")
    role = account.role("untrusting", EMPTY_TRUST, path="/sfn/")
    return created(account, {**account.props, "RoleArn": role})


def outside_pattern(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TASK_ROLE_PATTERN", "ecs-tasks/*")
    admin = account.role("admin", EMPTY_TRUST)
    account.family("etl", admin, None)
    return created(account, {**account.props, "TaskDefinition": "etl", "ContainerName": "app"})


def swapped(account: Account) -> str:
    task, execution = account.role("etl-task", EMPTY_TRUST), account.role("etl-execution", EMPTY_TRUST)
    account.family("etl", task, execution)
    return created(
        account, workflow(account, {"TaskDefinition": "etl", "Overrides": {"TaskRoleArn": execution}})
    )


def credentials(account: Account) -> str:
    borrowed = {"RoleArn": "arn:aws:iam::222233334444:role/ecs-runner"}
    return created(account, workflow(account, {"TaskDefinition": "hogefuga"}, Credentials=borrowed))


def invalid_asl(account: Account) -> str:
    props = workflow(account, {"TaskDefinition": "hogefuga"})
    props["Definition"]["States"]["Run"]["Next"] = "Nowhere"
    return created(account, props)


def too_large() -> str:
    statement = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": [
            f"arn:aws:iam::123456789012:role/batch/jobs/nightly-family-{i:04d}-task" for i in range(1500)
        ],
    }
    with pytest.raises(ProviderError) as caught:
        split({"Version": "2012-10-17", "Statement": [statement]})
    return caught.value.reason


def log_group(account: Account) -> str:
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/team/nightly"
    return created(account, {**account.props, "Logging": {"Level": "ALL", "LogGroupArn": group}})


def overrides_size(account: Account) -> str:
    env = [{"Name": f"VAR_{i}", "Value": "x" * 250} for i in range(40)]
    props = {k: v for k, v in account.props.items() if k != "ContainerName"}
    return created(account, {**props, "ContainerOverrides": [{"ContainerName": "hoge", "Environment": env}]})


def denied(account: Account, faults: Any) -> str:
    faults.fail("iam.CreateRole", "AccessDenied", "User is not authorized to perform: iam:CreateRole")
    return created(account, account.props)


def propagation() -> str:
    """Step Functions keeps refusing the role while IAM propagates, past the 120 s budget (a fake
    clock: the provider's own retry, without waiting for it)."""
    now = [0.0]

    class Refusing:
        def create_state_machine(self, **_: Any) -> None:
            now[0] += 1.0
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": PROPAGATION_MESSAGES[0]}},
                "CreateStateMachine",
            )

    aws = Aws(
        clients={"stepfunctions": Refusing()},
        clock=lambda: now[0],
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
    )
    with pytest.raises(ProviderError) as caught:
        aws.call("stepfunctions", "create_state_machine", "creating state machine x", propagation=True)
    return caught.value.reason


def preflight(account: Account, case: str, mode: str = "single") -> str:
    """A misconfiguration RunTask would refuse at the first run (tests/integration/test_preflight.py)."""
    return created(account, options(build_world(account), PREFLIGHT[case], mode))


TOKENLESS = {"ContainerOverrides": [{"ContainerName": "hoge"}], "IntegrationPattern": "WAIT_FOR_TASK_TOKEN"}
CASES: dict[str, Callable[[Account, pytest.MonkeyPatch, Any], str]] = {
    "Subnet: is not a property": lambda a, m, f: parsed({**a.props, "Subnet": "subnet-0a1b2c3d"}),
    "ContainerName 'web'": lambda a, m, f: created(a, {**a.props, "ContainerName": "web"}),
    "ContainerName: is required": lambda a, m, f: created(
        a, {k: v for k, v in a.props.items() if k != "ContainerName"}
    ),
    "TaskDefinition 'retired':": lambda a, m, f: retired(a, pinned=False),
    "TaskDefinition 'retired:1'": lambda a, m, f: retired(a, pinned=True),
    "Subnets: is required": lambda a, m, f: created(
        a, {k: v for k, v in a.props.items() if k not in ("Subnets", "SecurityGroups")}
    ),
    "LaunchType 'FARGATE'": lambda a, m, f: legacy(a),
    "Cluster 'x'": lambda a, m, f: created(a, {**a.props, "Cluster": "x"}),
    "StateMachineType 'EXPRESS'": lambda a, m, f: parsed({**a.props, "StateMachineType": "EXPRESS"}),
    "StateMachineName 'taken'": lambda a, m, f: taken(a),
    "Refused: CloudFormation does not show": lambda a, m, f: forged(a),
    "Refused: ...(the resource is a": lambda a, m, f: forged(a, "AWS::CloudFormation::CustomResource"),
    "RoleArn '...': is turned off": lambda a, m, f: handed(a, m, open_up=False),
    "RoleArn '...': does not let": lambda a, m, f: handed(a, m, open_up=True),
    "TaskDefinition 'etl:1'": lambda a, m, f: outside_pattern(a, m),
    "Definition.States.Run.Parameters.Overrides.TaskRoleArn": lambda a, m, f: swapped(a),
    "Definition.States.Run.Credentials.RoleArn": lambda a, m, f: credentials(a),
    "Definition: is not valid ASL": lambda a, m, f: invalid_asl(a),
    "Definition: needs a role policy": lambda a, m, f: too_large(),
    "PolicyStatements[0].Action": lambda a, m, f: parsed(
        {
            "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "PolicyStatements": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    ),
    "Logging.LogGroupArn": lambda a, m, f: log_group(a),
    "ContainerOverrides[0].ContainerName 'web'": lambda a, m, f: created(
        a,
        {
            **{k: v for k, v in a.props.items() if k != "ContainerName"},
            "ContainerOverrides": [{"ContainerName": "web"}],
        },
    ),
    "ContainerOverrides: gives no container": lambda a, m, f: parsed(
        {**{k: v for k, v in a.props.items() if k != "ContainerName"}, **TOKENLESS}
    ),
    "ContainerOverrides: with Command": lambda a, m, f: overrides_size(a),
    "PlacementConstraints:": lambda a, m, f: parsed(
        {**a.props, "PlacementConstraints": [{"Type": "distinctInstance"}]}
    ),
    "EncryptionConfiguration.KmsKeyId": lambda a, m, f: created(
        a,
        {
            **a.props,
            "EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": "alias/nope"},
        },
    ),
    "Definition.States.Notify.Resource": lambda a, m, f: created(
        a,
        {
            "Definition": {
                "StartAt": "Notify",
                "States": {
                    "Notify": {"Type": "Task", "Resource": "arn:aws:states:::nope:publish", "End": True}
                },
            }
        },
    ),
    "AliasName 'live'": lambda a, m, f: parsed({**a.props, "AliasName": "live"}),
    "The provider was denied": lambda a, m, f: denied(a, f),
    "IAM did not let Step Functions": lambda a, m, f: propagation(),
    "Subnets 'subnet-": lambda a, m, f: preflight(a, "subnet that does not exist"),
    "Definition.States.Run.Parameters.NetworkConfiguration": lambda a, m, f: preflight(
        a, "subnet that does not exist", "definition"
    ),
    "SecurityGroups 'sg-...': no such": lambda a, m, f: preflight(a, "security group that does not exist"),
    "Subnets '[": lambda a, m, f: preflight(a, "subnets of two VPCs"),
    "SecurityGroups 'sg-...': is in": lambda a, m, f: preflight(a, "security group of another VPC"),
    "AssignPublicIp": lambda a, m, f: preflight(a, "public IP on EC2"),
    "CapacityProviderStrategy[0].CapacityProvider 'FARGATE':": lambda a, m, f: preflight(
        a, "capacity provider the cluster lacks"
    ),
    "CapacityProviderStrategy '[...]': mixes": lambda a, m, f: preflight(
        a, "Fargate mixed with an Auto Scaling group provider"
    ),
    "CapacityProviderStrategy[0].CapacityProvider 'FARGATE_SPOT'": lambda a, m, f: preflight(
        a, "Fargate Spot for ARM64"
    ),
    "PlatformVersion '1.2.0'": lambda a, m, f: preflight(a, "Fargate Spot below platform 1.3.0"),
    "CapacityProviderStrategy '[...]': but": lambda a, m, f: preflight(
        a, "Fargate strategy for an EC2-only revision"
    ),
    "Memory '4096'": lambda a, m, f: preflight(a, "task size Fargate does not offer"),
    "PlatformVersion '1.3.0'": lambda a, m, f: preflight(a, "8 vCPU below platform 1.4.0"),
    "EnableExecuteCommand": lambda a, m, f: preflight(a, "ECS Exec without a task role"),
}


def case_for(row: str) -> str:
    found = [key for key in CASES if row.startswith(key) or matches(key, row)]
    assert len(found) == 1, f"README row {row!r} has {len(found)} cases: {found}"
    return found[0]


def test_every_row_has_exactly_one_case_and_every_case_a_row():
    keys = [case_for(row) for row in rows()]
    assert sorted(keys) == sorted(CASES), set(CASES) - set(keys)


@pytest.mark.parametrize("row", rows())
def test_the_reason_is_the_one_the_readme_shows(row, account, monkeypatch, faults):
    account.estate.register_revision()  # hogefuga:2, as in the README's example
    reason = CASES[case_for(row)](account, monkeypatch, faults)
    assert matches(row, reason), f"README: {row}\nactual: {reason}"
