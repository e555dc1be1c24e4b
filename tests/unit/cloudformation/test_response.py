"""The response body CloudFormation receives stays under its 4096-byte limit, keeping what matters."""

import json

from ecs_state_machine.cloudformation.response import BODY_LIMIT, encode


def body(**data: str) -> dict:
    return {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r",
        "LogicalResourceId": "L",
        "NoEcho": False,
        "Data": data,
    }


def test_a_small_body_is_sent_as_it_is():
    original = body(Arn="a", TaskDefinitionArns="t")
    assert json.loads(encode(original)) == original


def test_a_long_task_definition_list_is_dropped_before_anything_else():
    arns = ",".join(f"arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:{i}" for i in range(80))
    sent = json.loads(
        encode(body(Arn="arn", Name="n", RoleArn="role", TaskDefinitionArns=arns, ContainerNames="a,b"))
    )
    assert sent["Data"] == {"Arn": "arn", "Name": "n", "RoleArn": "role"}
    assert len(encode(body(TaskDefinitionArns=arns))) <= BODY_LIMIT


def test_a_long_reason_is_cut_at_its_end():
    sent = json.loads(encode({**body(), "Status": "FAILED", "Reason": "Subnets: is required. " + "x" * 500}))
    assert sent["Reason"].startswith("Subnets: is required.") and len(sent["Reason"]) == 256
