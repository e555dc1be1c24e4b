"""The lifecycle's orchestration over a small in-memory AWS (the plan stubbed, no network): which
calls a request makes, what a failure undoes, and what is never touched."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecs_state_machine.base.arn import Place
from ecs_state_machine.base.aws import AwsError
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.cloudformation import lifecycle as lifecycle_module
from ecs_state_machine.cloudformation.lifecycle import Lifecycle
from ecs_state_machine.planning.plan import Plan
from ecs_state_machine.schema.request import Request

HERE = Place("aws", "us-east-1", "123456789012")
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"
PROPS = {"TaskDefinition": "etl", "Subnets": ["subnet-0a1b2c3d"]}
TRUSTING = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


def missing(code: str) -> AwsError:
    return AwsError(ClientError({"Error": {"Code": code, "Message": "gone"}}, "X"), "x")


class FakeAws:
    """IAM roles and Step Functions state machines in memory, behind `Aws.call`'s signature."""

    def __init__(self) -> None:
        self.roles: dict[str, dict[str, Any]] = {}
        self.machines: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fail: dict[str, str] = {}

    def call(self, service: str, operation: str, action: str, *, propagation: bool = False, **kw: Any) -> Any:
        self.calls.append(operation)
        if operation in self.fail:
            raise missing(self.fail[operation])
        return getattr(self, operation)(**kw)

    def pause(self, seconds: float) -> None:
        pass

    # IAM
    def create_role(self, RoleName: str, **kw: Any) -> Any:
        if RoleName in self.roles:
            raise missing("EntityAlreadyExists")
        role = {"RoleName": RoleName, "Arn": f"arn:aws:iam::123456789012:role{kw['Path']}{RoleName}", **kw}
        role["AssumeRolePolicyDocument"] = json.loads(kw["AssumeRolePolicyDocument"])
        role["policies"] = {}
        self.roles[RoleName] = role
        return {"Role": role}

    def get_role(self, RoleName: str) -> Any:
        if RoleName not in self.roles:
            raise missing("NoSuchEntity")
        return {"Role": self.roles[RoleName]}

    def put_role_policy(self, RoleName: str, PolicyName: str, PolicyDocument: str) -> None:
        self.roles[RoleName]["policies"][PolicyName] = PolicyDocument

    def delete_role_policy(self, RoleName: str, PolicyName: str) -> None:
        if RoleName not in self.roles or PolicyName not in self.roles[RoleName]["policies"]:
            raise missing("NoSuchEntity")
        del self.roles[RoleName]["policies"][PolicyName]

    def delete_role(self, RoleName: str) -> None:
        if RoleName not in self.roles:
            raise missing("NoSuchEntity")
        del self.roles[RoleName]

    # Step Functions
    def create_state_machine(self, name: str, **kw: Any) -> Any:
        arn = HERE.state_machine_arn(name)
        if arn in self.machines:
            raise missing("StateMachineAlreadyExists")
        self.machines[arn] = {
            "type": kw["type"],
            "roleArn": kw["roleArn"],
            "tags": {t["key"]: t["value"] for t in kw["tags"]},
        }
        return {"stateMachineArn": arn}

    def describe_state_machine(self, stateMachineArn: str) -> Any:
        if stateMachineArn not in self.machines:
            raise missing("StateMachineDoesNotExist")
        return {"status": "ACTIVE", **self.machines[stateMachineArn]}

    def list_tags_for_resource(self, resourceArn: str) -> Any:
        if resourceArn not in self.machines:
            raise missing("ResourceNotFound")
        return {"tags": [{"key": k, "value": v} for k, v in self.machines[resourceArn]["tags"].items()]}

    def update_state_machine(self, stateMachineArn: str, roleArn: str, **kw: Any) -> Any:
        self.machines[stateMachineArn]["roleArn"] = roleArn
        return {"revisionId": "r2"}

    def tag_resource(self, resourceArn: str, tags: list[dict[str, str]]) -> None:
        self.machines[resourceArn]["tags"].update({t["key"]: t["value"] for t in tags})

    def delete_state_machine(self, stateMachineArn: str) -> None:
        self.machines.pop(stateMachineArn, None)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> FakeAws:
    """The plan (ECS resolution and rendering) is another module's: here it is a fixed one."""
    plan = Plan(
        definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        policy={
            "Version": "2012-10-17",
            "Statement": [{"Sid": "S", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"}],
        },
        data={"TaskDefinitionArn": "etl:3"},
        logging={"level": "OFF"},
        tracing={"enabled": False},
    )
    monkeypatch.setattr(lifecycle_module, "make_plan", lambda *args: plan)
    return FakeAws()


def lifecycle(aws: FakeAws, **settings: Any) -> Lifecycle:
    return Lifecycle(aws, HERE, Settings(**settings))  # type: ignore[arg-type]


def request(kind: str, physical_id: str = "", logical_id: str = "Job", **props: Any) -> Request:
    return Request(kind, STACK, f"req-{kind}", logical_id, physical_id, {**PROPS, **props}, PROPS)


def test_a_create_writes_the_role_its_policy_and_the_state_machine(aws):
    outcome = lifecycle(aws, permissions_boundary="arn:aws:iam::123456789012:policy/b").create(
        request("Create")
    )
    assert aws.calls == ["create_role", "put_role_policy", "create_state_machine"]
    (role,) = aws.roles.values()
    assert role["PermissionsBoundary"] == "arn:aws:iam::123456789012:policy/b"
    assert (
        role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"][0]
        == outcome.physical_id
    )
    assert (
        outcome.data["RoleArn"] == role["Arn"] and aws.machines[outcome.physical_id]["roleArn"] == role["Arn"]
    )


def test_a_failed_create_undoes_the_role_it_made(aws):
    aws.fail["create_state_machine"] = "AccessDeniedException"
    with pytest.raises(AwsError):
        lifecycle(aws).create(request("Create"))
    assert aws.roles == {} and aws.machines == {}
    assert aws.calls[-2:] == ["delete_role_policy", "delete_role"]


def test_a_second_delivery_of_a_create_adopts_what_the_first_made(aws):
    first = lifecycle(aws).create(request("Create"))
    second = lifecycle(aws).create(request("Create"))
    assert first == second and len(aws.roles) == 1 and len(aws.machines) == 1


def test_a_delete_leaves_what_another_resource_owns(aws):
    theirs = lifecycle(aws).create(request("Create", logical_id="Theirs"))
    lifecycle(aws).delete(request("Delete", theirs.physical_id, logical_id="Mine"))
    assert theirs.physical_id in aws.machines and len(aws.roles) == 1
    lifecycle(aws).delete(request("Delete", theirs.physical_id, logical_id="Theirs"))
    assert aws.machines == {} and aws.roles == {}


def test_an_update_to_a_handed_role_removes_the_created_one(aws):
    created = lifecycle(aws).create(request("Create"))
    aws.roles["team"] = {
        "RoleName": "team",
        "Arn": "arn:aws:iam::123456789012:role/sfn/team",
        "AssumeRolePolicyDocument": TRUSTING,
    }
    handed = "arn:aws:iam::123456789012:role/sfn/team"
    outcome = lifecycle(aws, passable_role_pattern="sfn/*").update(
        request("Update", created.physical_id, RoleArn=handed)
    )
    assert outcome.physical_id == created.physical_id and outcome.data["RoleArn"] == handed
    assert list(aws.roles) == ["team"] and aws.machines[created.physical_id]["roleArn"] == handed


def test_a_renamed_state_machine_is_a_replacement(aws):
    created = lifecycle(aws).create(request("Create", StateMachineName="a"))
    replaced = lifecycle(aws).update(request("Update", created.physical_id, StateMachineName="b"))
    assert replaced.physical_id == HERE.state_machine_arn("b") and set(aws.machines) == {
        created.physical_id,
        replaced.physical_id,
    }


def test_an_update_of_another_resources_state_machine_is_refused(aws):
    theirs = lifecycle(aws).create(request("Create", logical_id="Theirs"))
    calls = defaultdict(int)
    with pytest.raises(Exception, match="does not own"):
        lifecycle(aws).update(request("Update", theirs.physical_id, logical_id="Mine"))
    for call in aws.calls:
        calls[call] += 1
    assert calls["update_state_machine"] == 0
