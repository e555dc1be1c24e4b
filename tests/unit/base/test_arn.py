"""ARNs parsed and built in one place, in any partition; the names the provider gives."""

from __future__ import annotations

import pytest

from ecs_state_machine.base.arn import Arn, Place, place_of, state_machine_name
from ecs_state_machine.base.names import default_state_machine_name, failed_create_id, role_name_for

HERE = Place("aws", "us-east-1", "123456789012")
CHINA = Place("aws-cn", "cn-north-1", "210987654321")


@pytest.mark.parametrize(
    ("text", "service", "name", "path_and_name"),
    [
        ("arn:aws:iam::123456789012:role/sfn/nightly", "iam", "nightly", "sfn/nightly"),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:batch", "states", "batch", "batch"),
        ("arn:aws:ecs:us-east-1:123456789012:task-definition/etl:4", "ecs", "4", "etl:4"),
        ("arn:aws-cn:ecs:cn-north-1:210987654321:cluster/batch", "ecs", "batch", "batch"),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", "iam", "ReadOnlyAccess", "ReadOnlyAccess"),
    ],
)
def test_an_arn_is_parsed_into_its_parts(text, service, name, path_and_name):
    arn = Arn.parse(text)
    assert arn is not None and arn.service == service
    assert (arn.name, arn.path_and_name) == (name, path_and_name)
    assert str(arn) == text


@pytest.mark.parametrize(
    "text", ["", "arn:aws:iam", "not-an-arn", "arn:gcp:iam::1:role/x", None, 42, "arn:aws:s3:::"]
)
def test_what_is_not_an_arn_is_none(text):
    assert Arn.parse(text) is None


def test_a_place_builds_arns_in_its_own_partition():
    assert CHINA.state_machine_arn("x") == "arn:aws-cn:states:cn-north-1:210987654321:stateMachine:x"
    assert CHINA.arn("iam", "role/a", regional=False) == "arn:aws-cn:iam::210987654321:role/a"


@pytest.mark.parametrize(
    ("text", "regional", "held"),
    [
        ("arn:aws:ecs:us-east-1:123456789012:cluster/a", True, True),
        ("arn:aws:ecs:us-west-2:123456789012:cluster/a", True, False),
        ("arn:aws:ecs:us-east-1:999999999999:cluster/a", True, False),
        ("arn:aws-cn:ecs:us-east-1:123456789012:cluster/a", True, False),
        ("arn:aws:iam::123456789012:role/a", False, True),
        ("arn:aws:iam::123456789012:role/a", True, False),
    ],
)
def test_a_place_holds_only_arns_of_its_partition_account_and_region(text, regional, held):
    assert HERE.holds(Arn.parse(text), regional=regional) is held


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("arn:aws:states:us-east-1:123456789012:stateMachine:batch-1_a", "batch-1_a"),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:batch:3", None),  # a version
        ("arn:aws:states:us-east-1:123456789012:execution:batch:1", None),
        ("arn:aws:states:us-west-2:123456789012:stateMachine:batch", None),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:" + "a" * 81, None),
        ("arn:aws:iam::123456789012:role/batch", None),
    ],
)
def test_only_a_state_machine_of_this_place_has_a_name_here(text, name):
    assert HERE.state_machine_name(text) == name


def test_the_place_is_the_functions_own_else_the_stacks(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    function = "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:provider"
    stack = "arn:aws:cloudformation:eu-west-1:444455556666:stack/s/1"
    assert place_of(function, stack) == Place("aws-us-gov", "us-gov-west-1", "111122223333")
    assert place_of("made-up", stack) == Place("aws", "eu-west-1", "444455556666")
    with pytest.raises(ValueError):
        place_of(None, "not-an-arn")


def test_generated_names_fit_and_follow_the_request():
    stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "s" * 120 + "/1"
    name = default_state_machine_name(stack, "L" * 200, "req-1")
    assert len(name) <= 80 and name == default_state_machine_name(stack, "L" * 200, "req-1")
    assert name != default_state_machine_name(stack, "L" * 200, "req-2")
    arn = HERE.state_machine_arn(name)
    role = role_name_for(arn)
    assert len(role) <= 64 and role == role_name_for(arn) and role != role_name_for(arn + "x")
    assert state_machine_name(arn) == name
    assert not failed_create_id(stack, "L", "r").startswith("arn:")
