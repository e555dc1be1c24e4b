"""What `ecs-state-machine plan` makes of a template before any AWS call: short tags read as
CloudFormation reads them, intrinsics evaluated where their value can be known, and an Unknown
that says why where it cannot; and IAM statements compared row by row, broadenings found."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_state_machine.cli.iam_diff import compare
from ecs_state_machine.cli.template import NO_VALUE, Evaluator, TemplateError, Unknown, delivered, load

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env: {Type: String, Default: dev}
  Subnets: {Type: CommaDelimitedList, Default: "subnet-1, subnet-2"}
  Secret: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
  Machine:
    Type: Custom::EcsStateMachine
    Properties:
      ServiceToken: !ImportValue ecs-state-machine-ServiceToken
      Name: !Sub "${AWS::StackName}-${Env}-${Suffix}"
"""


def evaluator(parameters: dict[str, str] | None = None, **pseudo: Any) -> Evaluator:
    template = load(TEMPLATE)
    lookup = lambda logical_id, attribute: Unknown(f"{logical_id} is created by the deploy")  # noqa: E731
    imports = {"ecs-state-machine-ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p"}
    return Evaluator(
        template,
        parameters or {},
        {"AWS::StackName": "nightly", "AWS::Region": "us-east-1", **pseudo},
        lookup,
        lambda name: imports.get(name, Unknown(f"no stack exports {name}")),
    )


def test_short_tags_and_dates_read_as_cloudformation_reads_them():
    template = load(TEMPLATE)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date
    assert template["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert template["Resources"]["Machine"]["Properties"]["ServiceToken"] == {
        "Fn::ImportValue": "ecs-state-machine-ServiceToken"
    }
    assert (
        load('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}')["Resources"]["A"]["Type"]
        == "AWS::SNS::Topic"
    )


@pytest.mark.parametrize(
    ("node", "value"),
    [
        ({"Fn::Sub": ["${A}-${Env}", {"A": "x"}]}, "x-dev"),
        ({"Fn::Sub": "${!Literal}-${AWS::Region}"}, "${Literal}-us-east-1"),
        ({"Fn::Join": [",", {"Ref": "Subnets"}]}, "subnet-1,subnet-2"),
        ({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::If": ["NotProd", "yes", {"Ref": "AWS::NoValue"}]}, "yes"),
        (
            {"Fn::ImportValue": "ecs-state-machine-ServiceToken"},
            "arn:aws:lambda:us-east-1:123456789012:function:p",
        ),
        ([1, {"Ref": "AWS::NoValue"}, True], [1, True]),
    ],
)
def test_intrinsics_are_evaluated_where_their_value_can_be_known(node, value):
    assert evaluator({"Secret": "s"}).value(node) == value


def test_what_only_the_deploy_knows_is_unknown_and_says_why():
    ev = evaluator({"Secret": "s"})
    assert ev.value({"Fn::GetAtt": ["Logs", "Arn"]}) == Unknown("Logs is created by the deploy")
    assert ev.value({"Fn::Sub": "${Logs.Arn}:*"}) == Unknown("Logs is created by the deploy")
    assert ev.value({"Fn::ImportValue": "other"}) == Unknown("no stack exports other")
    assert ev.value({"Fn::Join": ["-", ["a", {"Ref": "Logs"}]]}) == Unknown("Logs is created by the deploy")
    assert isinstance(evaluator().refs["Secret"], Unknown)  # no default, no value given
    assert ev.value({"Fn::FindInMap": ["M", "a", "b"]}) == Unknown(
        "Fn::FindInMap is not evaluated before the deploy"
    )


def test_a_parameter_the_template_does_not_declare_and_a_missing_reference_are_errors():
    with pytest.raises(TemplateError, match="declares no parameter Nope"):
        evaluator({"Nope": "1"})
    with pytest.raises(TemplateError, match="Ref Missing"):
        evaluator().value({"Ref": "Missing"})


def test_values_are_delivered_as_cloudformation_delivers_them():
    assert delivered({"A": 300, "B": True, "C": [1.5, "x"], "D": {"E": False}}) == {
        "A": "300",
        "B": "true",
        "C": ["1.5", "x"],
        "D": {"E": "false"},
    }
    assert evaluator({"Secret": "s"}).value({"Ref": "AWS::NoValue"}) is NO_VALUE


ROLE = "arn:aws:iam::123456789012:role/task"
OTHER = "arn:aws:iam::123456789012:role/other"


def test_an_added_statement_that_nothing_grants_today_is_a_broadening():
    today = [{"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ROLE}]
    change = compare(today, [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": [ROLE, OTHER]}])
    assert [r.resource for r in change.added] == [OTHER]
    assert change.broadening == change.added and change.removed == ()


def test_an_addition_a_wildcard_of_today_covers_is_no_broadening_but_a_lost_condition_is():
    condition = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    today = [
        {
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": "arn:aws:iam::123456789012:role/*",
            "Condition": condition,
        }
    ]
    narrower = compare(
        today, [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": OTHER, "Condition": condition}]
    )
    assert narrower.added and not narrower.broadening
    unconditioned = compare(today, [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": OTHER}])
    assert unconditioned.broadening
    assert unconditioned.added[0].statement() == {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": OTHER,
    }
