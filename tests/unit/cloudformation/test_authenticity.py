"""Which requests CloudFormation really waits for, judged from its own record (table-driven), and a
role's trust policy read as IAM would."""

from __future__ import annotations

import pytest

from ecs_state_machine.applying.roles import trusts_step_functions
from ecs_state_machine.cloudformation.authenticity import Record, judge
from ecs_state_machine.schema.request import Request

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:nightly"
OTHER = "arn:aws:states:us-east-1:123456789012:stateMachine:other"
TYPE = "Custom::EcsStateMachine"


def request(kind: str, physical_id: str = "") -> Request:
    return Request(kind, "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "r", "L", physical_id)


@pytest.mark.parametrize(
    ("kind", "physical_id", "record", "stack_status", "problem"),
    [
        ("Create", "", Record(TYPE, "CREATE_IN_PROGRESS", ""), "", ""),
        ("Create", "", Record(TYPE, "CREATE_COMPLETE", ARN), "", "it is not being created"),
        ("Create", "", None, "", "no such resource in that stack"),
        (
            "Create",
            "",
            Record("Custom::Other", "CREATE_IN_PROGRESS", ""),
            "",
            "the resource is a Custom::Other, not a Custom::EcsStateMachine",
        ),
        ("Update", ARN, Record(TYPE, "UPDATE_IN_PROGRESS", ARN), "", ""),
        ("Update", ARN, Record(TYPE, "UPDATE_IN_PROGRESS", OTHER), "", "another PhysicalResourceId"),
        ("Update", ARN, Record(TYPE, "UPDATE_COMPLETE", ARN), "", "it is not being updated"),
        ("Delete", ARN, Record(TYPE, "DELETE_IN_PROGRESS", ARN), "", ""),
        ("Delete", ARN, Record(TYPE, "CREATE_COMPLETE", ARN), "", "it is not being deleted"),
        ("Delete", ARN, Record(TYPE, "UPDATE_COMPLETE", OTHER), "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", ""),
        (
            "Delete",
            ARN,
            Record(TYPE, "UPDATE_COMPLETE", OTHER),
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "",
        ),
        (
            "Delete",
            ARN,
            Record(TYPE, "UPDATE_IN_PROGRESS", OTHER),
            "UPDATE_IN_PROGRESS",
            "another PhysicalResourceId",
        ),
        ("Destroy", ARN, Record(TYPE, "DELETE_IN_PROGRESS", ARN), "", "an unknown request type"),
    ],
)
def test_cloudformations_record_must_show_it_waiting_for_exactly_this_request(
    kind, physical_id, record, stack_status, problem
):
    reads: list[str] = []

    def status() -> str:
        reads.append("DescribeStacks")
        return stack_status

    assert judge(request(kind, physical_id), record, status) == problem
    assert bool(reads) == (kind == "Delete" and record is not None and record.physical_id != physical_id)


def statement(**fields: object) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", **fields}]}


STATES = {"Service": "states.amazonaws.com"}


@pytest.mark.parametrize(
    ("document", "trusted"),
    [
        (statement(Principal=STATES), True),
        (statement(Principal={"Service": ["lambda.amazonaws.com", "states.us-east-1.amazonaws.com"]}), True),
        (statement(Principal={"Service": "lambda.amazonaws.com"}), False),
        (statement(Principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
        ({"Statement": [{"Effect": "Deny", "Principal": STATES, "Action": "sts:AssumeRole"}]}, False),
        (statement(Principal=STATES, Condition={"ArnLike": {"aws:SourceArn": ARN[:-7] + "*"}}), True),
        (statement(Principal=STATES, Condition={"ArnEquals": {"aws:SourceArn": OTHER}}), False),
        (
            statement(Principal=STATES, Condition={"StringEquals": {"aws:SourceAccount": "999999999999"}}),
            False,
        ),
        (statement(Principal=STATES, Condition={"StringEquals": {"aws:PrincipalTag/x": "y"}}), True),
        ("not a document", False),
    ],
)
def test_a_trust_policy_is_read_for_step_functions_and_this_state_machine(document, trusted):
    assert trusts_step_functions(document, ARN) is trusted
