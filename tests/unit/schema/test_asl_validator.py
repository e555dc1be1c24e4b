"""Every kind of document the provider writes, checked by an independent validator: the npm package
asl-validator (installed by `make setup` into .venv/node), in one run over all of them."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

from ecs_state_machine.planning.single_task import render_definition
from ecs_state_machine.schema.definition import ecs_tasks, pin
from ecs_state_machine.schema.properties import parse
from testkit.cloudformation import stringify
from testkit.samples import three_task_workflow
from testkit.templates import EXAMPLES, custom_resources
from tests.unit.planning.test_render import props, resolved

VALIDATOR = Path(__file__).resolve().parents[3] / ".venv" / "node" / "node_modules" / ".bin" / "asl-validator"


def single_task_documents() -> dict[str, dict[str, Any]]:
    documents = {}
    retry = [
        {"ErrorEquals": ["States.TaskFailed"], "BackoffRate": "2", "IntervalSeconds": "5", "MaxAttempts": "3"}
    ]
    for pattern, pin_revision, language in itertools.product(
        ("RUN_JOB", "REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN"), ("true", "false"), ("JSONPath", "JSONata")
    ):
        p = props(
            IntegrationPattern=pattern,
            PinRevision=pin_revision,
            QueryLanguage=language,
            Retry=retry,
            TimeoutSeconds="3600",
            EnvironmentPath=None if pattern == "WAIT_FOR_TASK_TOKEN" else "$.env",
        )
        documents[f"single-{pattern}-{pin_revision}-{language}"] = render_definition(p, resolved())
    surface = {
        "environment": {"Environment": [{"Name": "A", "Value": "1"}, {"Name": "B", "ValuePath": "$.b"}]},
        "command": {"Command": ["python", "job.py"], "Cpu": "1024", "Memory": "2 GB"},
        "placement": {
            "LaunchType": "EC2",
            "PlacementConstraints": [{"Type": "memberOf", "Expression": "attribute:ecs.os-type == linux"}],
            "PlacementStrategy": [{"Type": "binpack", "Field": "memory"}],
        },
        "state-fields": {
            "Comment": "c",
            "InputPath": "$.in",
            "ResultSelector": {"Arn.$": "$.Tasks[0].TaskArn"},
            "ResultPath": "$.out",
            "OutputPath": "$.out",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error"}],
        },
        "jsonata-catch": {"QueryLanguage": "JSONata", "Catch": [{"ErrorEquals": ["States.ALL"]}]},
        "cluster-default": {"CapacityProviderStrategy": []},
    }
    for name, extra in surface.items():
        documents[f"single-{name}"] = render_definition(props(**extra), resolved())
    return documents


def definition_documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, Any] = {"three-task-workflow": {"Definition": stringify(three_task_workflow())}}
    parameters = {
        "Subnets": ["subnet-0a1b2c3d"],
        "SecurityGroups": ["sg-0a1b2c3d"],
        "SecurityGroup": "sg-0a1b2c3d",
        "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "TaskRoleArn": "arn:aws:iam::123456789012:role/t",
        "TaskExecutionRoleArn": "arn:aws:iam::123456789012:role/e",
    }
    for path in EXAMPLES:
        for name, properties in custom_resources(path, parameters).items():
            if "Definition" in properties:
                documents[f"{path.stem}-{name}"] = {
                    k: v for k, v in properties.items() if k in ("Definition", "DefinitionSubstitutions")
                }
    loaded = {}
    for name, raw in documents.items():
        definition = parse(raw).definition  # type: ignore[union-attr]
        pinned = {
            task.path: (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1",
                "arn:aws:ecs:us-east-1:123456789012:cluster/c",
            )
            for task in ecs_tasks(definition)
        }
        loaded[name] = pin(definition, pinned)
    return loaded


def test_every_kind_of_document_the_provider_writes_passes_asl_validator(tmp_path):
    documents = {**single_task_documents(), **definition_documents()}
    for name, document in documents.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    arguments = [
        argument for name in documents for argument in ("--json-path", str(tmp_path / f"{name}.json"))
    ]
    result = subprocess.run([str(VALIDATOR), *arguments], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(documents) >= 14
