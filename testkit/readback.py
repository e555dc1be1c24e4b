"""Read back from moto what the provider made: state machines, their roles, executions, ECS tasks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from testkit.moto_server import MotoServer

ECS_RUN_TASK = "arn:aws:states:::ecs:runTask"


def state_machine(moto: MotoServer, arn: str) -> dict:
    """describe_state_machine with the definition parsed and the tags as a dict."""
    sfn = moto.client("stepfunctions")
    described = sfn.describe_state_machine(stateMachineArn=arn)
    described.pop("ResponseMetadata", None)
    described["definition"] = json.loads(described["definition"])
    described["tags"] = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
    return described


def _walk(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def run_task_states(definition: dict) -> list[dict]:
    """Every Task state of the definition (nested ones too) that runs an ECS task."""
    return [
        node
        for node in _walk(definition)
        if node.get("Type") == "Task" and str(node.get("Resource", "")).startswith(ECS_RUN_TASK)
    ]


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def role(moto: MotoServer, role_arn: str) -> dict:
    """get_role plus the tags as a dict and the inline policies as {name: document}."""
    iam = moto.client("iam")
    name = role_name(role_arn)
    described = iam.get_role(RoleName=name)["Role"]
    described["tags"] = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
    described["policies"] = {
        policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    return described


def statements(policy_documents: dict[str, Any]) -> list[dict]:
    result = []
    for document in policy_documents.values():
        parsed = json.loads(document) if isinstance(document, str) else document
        found = parsed.get("Statement", [])
        result.extend(found if isinstance(found, list) else [found])
    return result


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allowed_resources(policy_documents: dict[str, Any], action: str) -> set[str]:
    """Resources of the Allow statements that name ``action`` exactly."""
    return {
        resource
        for statement in statements(policy_documents)
        if statement.get("Effect") == "Allow" and action in _as_list(statement.get("Action", []))
        for resource in _as_list(statement.get("Resource", []))
    }


def run_execution(moto: MotoServer, state_machine_arn: str, payload: dict, timeout: float = 30.0) -> dict:
    """Start an execution and wait until it is no longer RUNNING; describe_execution's answer."""
    sfn = moto.client("stepfunctions")
    execution_arn = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=f"e2e-{uuid.uuid4().hex[:12]}", input=json.dumps(payload)
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.1)


def execution_failure(moto: MotoServer, execution_arn: str) -> str:
    """The failure events of an execution, for assertion messages."""
    events = moto.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return "\n".join(
        f"{event['type']}: {json.dumps({k: v for k, v in event.items() if k.endswith('EventDetails')}, default=str)}"
        for event in events
        if "Failed" in event["type"] or "TimedOut" in event["type"] or "Aborted" in event["type"]
    )


def tasks(moto: MotoServer, cluster: str) -> list[dict]:
    """Every task ECS recorded on ``cluster``, described."""
    ecs = moto.client("ecs")
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
