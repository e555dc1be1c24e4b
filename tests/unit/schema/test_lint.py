"""Validation as strict as Step Functions and no stricter: what Step Functions takes passes (where
statelint alone would refuse it), and what Step Functions refuses is still refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_state_machine.schema.lint import problems

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def machine(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A document whose first state is `state` (with a state "E" when `state` goes there)."""
    states = {"S": state, **({"E": {"Type": "Succeed"}} if '"E"' in json.dumps(state) else {})}
    return {"StartAt": "S", "States": states, **top}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": FN, "End": True, **fields}


def retry(**fields: Any) -> dict[str, Any]:
    return task(Retry=[{"ErrorEquals": ["States.ALL"], **fields}])


def distributed(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}


def jsonata(state: dict[str, Any]) -> dict[str, Any]:
    return machine(state, QueryLanguage="JSONata")


ACCEPTED = {
    "integer BackoffRate": machine(retry(BackoffRate=2)),
    "BackoffRate 1": machine(retry(BackoffRate=1)),
    "MaxAttempts at its maximum": machine(retry(MaxAttempts=99999999)),
    "TimeoutSeconds at its maximum": machine(task(TimeoutSeconds=99999999)),
    "Assign on a JSONPath task": machine(task(Assign={"x.$": "$.a"})),
    "Assign on a Choice rule": machine(
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "E", "Assign": {"y": 2}}],
            "Default": "E",
        }
    ),
    "Map Label": machine(distributed(Label="shards")),
    "CSV reader": machine(
        distributed(
            ItemReader={
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Parameters": {"Bucket": "b", "Key": "k"},
            }
        )
    ),
    "ResultWriter with WriterConfig only": machine(
        distributed(ResultWriter={"WriterConfig": {"OutputType": "JSON", "Transformation": "NONE"}})
    ),
    "JSONata TimeoutSeconds": jsonata(
        {"Type": "Task", "Resource": FN, "End": True, "TimeoutSeconds": "{% $states.input.t %}"}
    ),
    "JSONata without inner spaces": jsonata(
        {"Type": "Task", "Resource": FN, "End": True, "Arguments": "{%$states.input%}"}
    ),
    "JSONata Condition true": jsonata(
        {"Type": "Choice", "Choices": [{"Condition": True, "Next": "E"}], "Default": "E"}
    ),
    "dashes in a template path": machine(task(Parameters={"a.$": "$.foo-bar"})),
    "a variable in a template": machine(task(Parameters={"a.$": "$myVar.x"})),
    "a filter in a template": machine(task(Parameters={"a.$": "$.items[?(@.price < 10)]"})),
    "ResultPath with dashes": machine(task(ResultPath="$.foo-result")),
    "TimeoutSecondsPath from the context": machine(task(TimeoutSecondsPath="$$.Execution.Input.t")),
}

REFUSED = {
    "BackoffRate below 1": machine(retry(BackoffRate=0.5)),
    "BackoffRate 0": machine(retry(BackoffRate=0)),
    "MaxAttempts over its maximum": machine(retry(MaxAttempts=100000000)),
    "Assign on Succeed": {"StartAt": "E", "States": {"E": {"Type": "Succeed", "Assign": {"x": 1}}}},
    "Label on a task": machine(task(Label="x")),
    "an empty ResultWriter": machine(distributed(ResultWriter={})),
    "JSONata in a JSONPath state": machine(task(TimeoutSeconds="{% $states.input.t %}")),
    "a literal template value": machine(task(Parameters={"a.$": "foo"})),
    "an unknown intrinsic": machine(task(Parameters={"a.$": "States.Foo($.x)"})),
    "ResultPath into the context": machine(task(ResultPath="$$.x")),
    "a missing Next": {"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": "Nowhere"}}},
    "an unknown field": machine(task(Bogus=1)),
}


@pytest.mark.parametrize("document", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_step_functions_takes_passes(document):
    assert problems(document) == []


@pytest.mark.parametrize("document", REFUSED.values(), ids=REFUSED.keys())
def test_what_step_functions_refuses_is_refused(document):
    assert problems(document)
