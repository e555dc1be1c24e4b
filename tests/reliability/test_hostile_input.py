"""Hostile and malformed events, table-driven.

Each row is one event the provider may receive from a broken template, a confused operator with
invoke rights, or something that is not CloudFormation at all. Every row must end in one of:
- FAILED: one response, a Reason of at most 256 printable characters, no traceback or file path;
  after CloudFormation's follow-up (Delete of the reported id) nothing of the provider remains;
- NOOP: one SUCCESS for a Delete that touches nothing;
- REPLACED: an Update whose id is not a state machine of this provider is recreated (a new id in
  this account); the new one is then deleted like any other;
- IGNORED: not a CloudFormation request (no ResponseURL to answer): no response, no exception;
- CLEAN: a value with stray whitespace is either refused (FAILED naming the property) or used
  trimmed: no state machine definition or tag ever carries the control character.
In every row, resources the row's stack does not own (another stack's state machine, the same
stack's other resource, a state machine and role made by hand) are never changed or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from testkit import stacks
from testkit.cloudformation import Player
from testkit.transports import Context
from tests.reliability.support import TALLY, World, assert_clean_reason

ACCOUNT, REGION = "123456789012", "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
BIG = "x" * 100_000
DROP = object()  # remove the property / event field


@dataclass(frozen=True)
class Bad:
    id: str
    request_type: str = "Create"
    props: dict[str, Any] = field(default_factory=dict)  # changes to the base properties
    event: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # changes to the event
    target: str | None = None  # Update/Delete: "own", "other-stack", "other-logical", "unmanaged", or an id
    expect: str = "FAILED"  # FAILED | NOOP | REPLACED | IGNORED | CREATED | UPDATED | CLEAN
    reason: str = ""  # must appear in the Reason

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


def set_(**fields: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        changed = {**event, **{k: v for k, v in fields.items() if v is not DROP}}
        return {k: v for k, v in changed.items() if fields.get(k) is not DROP}

    return change


ROWS = [
    # ---- wrong types where strings go
    Bad("task-definition-list", props={"TaskDefinition": ["hogefuga"]}, reason="TaskDefinition"),
    Bad("task-definition-map", props={"TaskDefinition": {"Ref": "Family"}}, reason="TaskDefinition"),
    Bad("task-definition-bare-number", props={"TaskDefinition": 12345}, reason="TaskDefinition '12345'"),
    Bad("task-definition-bool", props={"TaskDefinition": True}, reason="TaskDefinition"),
    Bad("container-name-list", props={"ContainerName": ["hoge"]}, reason="ContainerName"),
    Bad("cluster-map", props={"Cluster": {"Fn::GetAtt": ["C", "Arn"]}}, reason="Cluster"),
    Bad("subnets-map", props={"Subnets": {"a": "subnet-0a1b2c3d"}}, reason="Subnets"),
    Bad("subnets-number", props={"Subnets": 7}, reason="Subnets"),
    Bad(
        "security-groups-nested",
        props={"SecurityGroups": [["sg-0e4f5a6b7c8d90001"]]},
        reason="SecurityGroups",
    ),
    Bad("tags-string", props={"Tags": "team=data"}, reason="Tags"),
    Bad("tag-value-map", props={"Tags": [{"Key": "team", "Value": {"a": 1}}]}, reason="Tags[0].Value"),
    Bad("timeout-words", props={"TimeoutSeconds": "ten"}, reason="TimeoutSeconds"),
    Bad("timeout-list", props={"TimeoutSeconds": ["10"]}, reason="TimeoutSeconds"),
    Bad("timeout-5000-digits", props={"TimeoutSeconds": "9" * 5000}, reason="TimeoutSeconds"),
    Bad("timeout-nan", props={"TimeoutSeconds": "NaN"}, reason="TimeoutSeconds"),
    Bad("assign-public-ip-maybe", props={"AssignPublicIp": "maybe"}, reason="AssignPublicIp"),
    Bad("retry-string", props={"Retry": "States.ALL"}, reason="Retry"),
    Bad("logging-list", props={"Logging": ["ALL"]}, reason="Logging"),
    Bad(
        "capacity-strategy-map",
        props={"CapacityProviderStrategy": {"CapacityProvider": "x"}},
        reason="Capacity",
    ),
    Bad("definition-list", props={"TaskDefinition": DROP, "Definition": ["StartAt"]}, reason="Definition"),
    # ---- huge values
    Bad("name-100kB", props={"StateMachineName": BIG}, reason="StateMachineName"),
    Bad("container-100kB", props={"ContainerName": BIG}, reason="ContainerName"),
    Bad("command-path-100kB", props={"CommandPath": "$." + BIG}, reason="CommandPath"),
    Bad("unknown-key-100kB", props={"K" * 100_000: "x"}, reason="K" * 37 + "...: is not a property"),
    Bad(
        "unknown-key-54-chars",
        props={"NightlyBatchContainerEnvironmentOverridesForTheMainJob": "x"},
        reason="is not a property",
    ),
    Bad("tag-value-100kB", props={"Tags": [{"Key": "team", "Value": BIG}]}, reason="Tags[0].Value"),
    # ---- unicode and control characters
    Bad("name-nul", props={"StateMachineName": "nightly\x00"}, reason="StateMachineName"),
    Bad("name-unicode", props={"StateMachineName": "ñightly-⚙"}, reason="StateMachineName"),
    Bad("name-bidi-override", props={"StateMachineName": "nightly\u202egpj"}, reason="StateMachineName"),
    Bad(
        "container-trailing-newline",
        props={"ContainerName": "hoge\n"},
        reason="ContainerName",
        expect="CLEAN",
    ),
    Bad("command-path-zero-width", props={"CommandPath": "$.com\u200bmand"}, reason="CommandPath"),
    Bad("unknown-key-nul", props={"Cluster\x00": "default"}, reason="is not a property"),
    Bad(
        "tag-value-escape", props={"Tags": [{"Key": "team", "Value": "\x1b[31mred"}]}, reason="Tags[0].Value"
    ),
    Bad(
        "subnet-trailing-newline",
        props={"Subnets": ["subnet-0a1b2c3d4e5f60001\n"]},
        reason="Subnets[0]",
        expect="CLEAN",
    ),
    Bad(
        "security-group-trailing-newline",
        props={"SecurityGroups": ["sg-0e4f5a6b7c8d90001\n"]},
        reason="SecurityGroups[0]",
        expect="CLEAN",
    ),
    Bad(
        "tag-key-trailing-newline",
        props={"Tags": [{"Key": "team\n", "Value": "x"}]},
        reason="Tags[0].Key",
        expect="CLEAN",
    ),
    # ---- injection attempts in names and paths
    Bad("command-path-shell", props={"CommandPath": '$.a"; rm -rf /'}, reason="CommandPath"),
    Bad("command-path-brace", props={"CommandPath": "$.x}"}, reason="CommandPath"),
    Bad("command-path-cfn-sub", props={"CommandPath": "${AWS::AccountId}"}, reason="CommandPath"),
    Bad("environment-path-two", props={"EnvironmentPath": "$['a'], $.b"}, reason="EnvironmentPath"),
    Bad("environment-path-filter", props={"EnvironmentPath": "$..[?(@.x)]"}, reason="EnvironmentPath"),
    Bad("name-dot-dot", props={"StateMachineName": "../../etc"}, reason="StateMachineName"),
    Bad("name-colon", props={"StateMachineName": "a:b"}, reason="StateMachineName"),
    Bad("name-cfn-sub", props={"StateMachineName": "${AWS::StackName}"}, reason="StateMachineName"),
    Bad("task-definition-sql", props={"TaskDefinition": "hogefuga:1; DROP TABLE"}, reason="TaskDefinition"),
    Bad(
        "container-json-break-out",
        props={"ContainerName": 'hoge"},"Resource":"arn:aws:states:::lambda:invoke'},
        reason="ContainerName",
    ),
    Bad(
        "role-arn-json-break-out",
        props={"RoleArn": 'arn:aws:iam::123456789012:role/x","Effect":"Allow'},
        reason="RoleArn",
    ),
    Bad("cluster-dot-dot", props={"Cluster": "../default"}, reason="Cluster"),
    # ---- other accounts, partitions and regions
    Bad(
        "task-definition-other-account",
        props={"TaskDefinition": "arn:aws:ecs:us-east-1:999999999999:task-definition/hogefuga:1"},
        reason="is not in this account",
    ),
    Bad(
        "task-definition-aws-cn",
        props={"TaskDefinition": "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/hogefuga:1"},
        reason="TaskDefinition",
    ),
    Bad(
        "task-definition-aws-us-gov",
        props={"TaskDefinition": "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/hogefuga"},
        reason="TaskDefinition",
    ),
    Bad(
        "cluster-other-region",
        props={"Cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/hogefuga-cluster"},
        reason="Cluster",
    ),
    Bad(
        "cluster-other-account",
        props={"Cluster": "arn:aws:ecs:us-east-1:999999999999:cluster/hogefuga-cluster"},
        reason="Cluster",
    ),
    Bad("role-other-account", props={"RoleArn": "arn:aws:iam::999999999999:role/theirs"}, reason="RoleArn"),
    Bad("role-aws-cn", props={"RoleArn": "arn:aws-cn:iam::123456789012:role/ours"}, reason="RoleArn"),
    # ---- the event itself
    Bad("no-resource-properties", event=set_(ResourceProperties=DROP), reason="TaskDefinition"),
    Bad(
        "resource-properties-list",
        event=set_(ResourceProperties=["TaskDefinition"]),
        reason="ResourceProperties",
    ),
    Bad("resource-properties-string", event=set_(ResourceProperties="{}"), reason="ResourceProperties"),
    Bad(
        "request-type-destroy",
        event=set_(RequestType="Destroy"),
        reason="RequestType",
    ),
    Bad("crhelper-poll-key", event=set_(CrHelperPoll=True), expect="CREATED"),
    Bad(
        "crhelper-data-key",
        event=set_(CrHelperData={"Injected": "x"}),
        expect="CREATED",
    ),
    Bad("extra-fields", event=set_(Foo="bar"), expect="CREATED"),
    Bad(
        "resource-type-other",
        event=set_(ResourceType="AWS::CloudFormation::CustomResource"),
        reason="not a Custom::EcsStateMachine",
    ),
    Bad("no-response-url", event=set_(ResponseURL=DROP), expect="IGNORED"),
    Bad("response-url-number", event=set_(ResponseURL=443), expect="IGNORED"),
    Bad("no-request-type", event=set_(RequestType=DROP), expect="IGNORED"),
    Bad("no-stack-id", event=set_(StackId=DROP), expect="IGNORED"),
    Bad("event-is-a-list", event=lambda event: [event], expect="IGNORED"),  # type: ignore[arg-type,return-value]
    Bad("event-is-none", event=lambda event: None, expect="IGNORED"),  # type: ignore[arg-type,return-value]
    # ---- PhysicalResourceIds that are not this resource's
    Bad("update-other-stacks-machine", "Update", target="other-stack", reason="does not own"),
    Bad("delete-other-stacks-machine", "Delete", target="other-stack", expect="NOOP"),
    Bad("update-other-logical-id", "Update", target="other-logical", reason="does not own"),
    Bad("delete-other-logical-id", "Delete", target="other-logical", expect="NOOP"),
    Bad("update-unmanaged-machine", "Update", target="unmanaged", reason="does not own"),
    Bad("delete-unmanaged-machine", "Delete", target="unmanaged", expect="NOOP"),
    Bad(
        "delete-other-account-arn",
        "Delete",
        target=f"arn:aws:states:{REGION}:999999999999:stateMachine:own",
        expect="NOOP",
    ),
    Bad(
        "delete-other-region-arn",
        "Delete",
        target=f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:own",
        expect="NOOP",
    ),
    Bad(
        "delete-aws-cn-arn",
        "Delete",
        target=f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:stateMachine:own",
        expect="NOOP",
    ),
    Bad("delete-role-arn", "Delete", target="role-of-own", expect="NOOP"),
    Bad("delete-version-arn", "Delete", target="version-of-own", expect="NOOP"),
    Bad("delete-10kB-id", "Delete", target="a" * 10_240, expect="NOOP"),
    Bad("delete-id-number", "Delete", event=set_(PhysicalResourceId=12), expect="NOOP"),
    Bad(
        "update-other-account-arn",
        "Update",
        target=f"arn:aws:states:{REGION}:999999999999:stateMachine:own",
        expect="REPLACED",
    ),
    Bad("update-other-service-arn", "Update", target="role-of-own", expect="REPLACED"),
    Bad("update-10kB-id", "Update", target="a" * 10_240, expect="REPLACED"),
    Bad("update-id-list", "Update", event=set_(PhysicalResourceId=["x"]), expect="REPLACED"),
    Bad(
        "update-old-properties-list",
        "Update",
        target="own",
        event=set_(OldResourceProperties=["x"]),
        expect="UPDATED",
    ),
]


def make_target(world: World, cfn: Player, target: str) -> str:
    """Set up what `target` names and return the PhysicalResourceId to send."""
    if target == "own":
        return str(cfn.create(world.props)["PhysicalResourceId"])
    if target in ("role-of-own", "version-of-own"):
        created = cfn.create(world.props)
        return created["Data"]["RoleArn"] if target == "role-of-own" else created["PhysicalResourceId"] + ":1"
    if target == "other-stack":
        return str(world.player().create(world.props)["PhysicalResourceId"])
    if target == "other-logical":
        other = Player(world.transport, cfn.stack_id, "OtherResource")
        return str(other.create(world.props)["PhysicalResourceId"])
    if target == "unmanaged":
        # Made by hand, named like the provider's, with a role of the name the provider would use.
        from ecs_state_machine.base.names import role_name_for

        arn = SM + "s0-NightlyBatch-0123456789ab"
        role = world.iam.create_role(
            RoleName=role_name_for(arn), Path="/ecs-state-machine/", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        world.sfn.create_state_machine(name=arn.rsplit(":", 1)[1], definition=definition, roleArn=role)
        return arn
    return target


def everything(world: World) -> dict[str, Any]:
    roles, machines = world.leftovers()
    return {
        "machines": {name: world.machine(SM + name) for name in machines},
        "roles": {name: world.role(name) for name in roles},
    }


@pytest.mark.parametrize("bad", [row.param() for row in ROWS])
def test_bad_input(bad: Bad, fresh: World) -> None:
    import app

    TALLY["bad inputs"] += 1
    world = fresh
    cfn = world.player()
    props = {k: v for k, v in {**world.props, **bad.props}.items() if v is not DROP}
    physical_id = make_target(world, cfn, bad.target) if bad.target else None
    before = everything(world)

    extra: dict[str, Any] = {"PhysicalResourceId": physical_id} if physical_id is not None else {}
    event: Any = cfn.event(bad.request_type, props, **extra)
    if bad.request_type == "Update":
        event["OldResourceProperties"] = cfn.event("Update", world.props)["ResourceProperties"]
    if bad.event:
        event = bad.event(event)
    sent = len(world.responses)
    if isinstance(event, dict) and isinstance(event.get("StackId"), str):
        stacks.shared().waiting(event)  # CloudFormation sent it: a broken template, not a forgery
    app.lambda_handler(event, Context())  # never raises
    answers = world.responses[sent:]

    if bad.expect == "IGNORED":
        assert answers == []
        assert everything(world) == before
        TALLY["bad ignored"] += 1
        return
    assert len(answers) == 1, answers
    (answer,) = answers
    if bad.id != "delete-10kB-id":  # the echoed 10 kB id alone passes 4096 bytes: nothing to trim
        assert len(json.dumps(answer).encode()) <= 4096
    if bad.expect == "CLEAN":
        made = world.machine(answer["PhysicalResourceId"]) if answer["Status"] == "SUCCESS" else None
        if made is not None:
            role = world.role(made["roleArn"])
            assert "\\n" not in json.dumps(made), made  # a newline, as JSON writes it
            assert "\\n" not in json.dumps(role), role
            bad = Bad(bad.id, expect="CREATED")
        else:
            bad = Bad(bad.id, reason=bad.reason)
    if bad.expect == "FAILED":
        assert answer["Status"] == "FAILED", answer
        assert_clean_reason(answer["Reason"])
        assert bad.reason in answer["Reason"], answer["Reason"]
        assert answer["PhysicalResourceId"]
        assert answer["Data"] == {}
    else:
        assert answer["Status"] == "SUCCESS", answer

    # Nothing that existed was changed or deleted (except the row's own resource on an UPDATED row).
    after = everything(world)
    for kind in ("machines", "roles"):
        for name, value in before[kind].items():
            if bad.expect != "UPDATED":
                assert after[kind].get(name) == value, f"{kind[:-1]} {name} was changed or deleted"
            else:
                assert name in after[kind]
    if bad.expect in ("NOOP", "UPDATED"):
        assert set(after["machines"]) == set(before["machines"]) and set(after["roles"]) == set(
            before["roles"]
        )
    if bad.expect == "REPLACED":
        assert answer["PhysicalResourceId"].startswith(SM) and answer["PhysicalResourceId"] != physical_id
    if bad.expect == "CREATED":
        assert answer["PhysicalResourceId"].startswith(SM)
        assert answer["PhysicalResourceId"].rsplit(":", 1)[1] in after["machines"]
        assert set(answer["Data"]) >= {"Arn", "RoleArn"} and "Injected" not in answer["Data"]

    # CloudFormation's follow-up: the reported id is deleted (failed Create, or the stack's end).
    if bad.expect in ("FAILED", "REPLACED", "CREATED") and bad.request_type != "Delete":
        follow = cfn.delete(answer["PhysicalResourceId"], props if isinstance(props, dict) else {})
        assert follow["Status"] == "SUCCESS", follow
    leftover = everything(world)
    if set(leftover["machines"]) != set(before["machines"]) or set(leftover["roles"]) != set(before["roles"]):
        TALLY["bad leaks"] += 1
    assert (
        leftover == before
        if bad.expect != "UPDATED"
        else set(leftover["machines"]) == set(before["machines"])
    )
    TALLY["bad failed" if bad.expect == "FAILED" else "bad succeeded"] += 1


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)
