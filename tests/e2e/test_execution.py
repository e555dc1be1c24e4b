"""A state machine made by the provider runs the task definition on ECS (moto's interpreter)."""

from __future__ import annotations

import json
import time

import pytest

from testkit import readback
from testkit.cloudformation import Player
from testkit.estate import Estate, provider_leftovers
from testkit.moto_server import MotoServer

pytestmark = pytest.mark.usefixtures("one_response_per_request")

COMMAND = ["echo", "hello"]
ENVIRONMENT = [{"Name": "A", "Value": "1"}]


@pytest.mark.parametrize(
    ("pattern", "environment_path", "resource_arn"),
    [
        (None, "$.env", "arn:aws:states:::ecs:runTask.sync"),
        ("RUN_JOB", None, "arn:aws:states:::ecs:runTask.sync"),
        ("REQUEST_RESPONSE", "$.env", "arn:aws:states:::ecs:runTask"),
    ],
    ids=["default-run-job-with-env", "run-job", "request-response-with-env"],
)
def test_execution_runs_the_resolved_revision_with_the_command(
    resource: Player,
    world: Estate,
    moto: MotoServer,
    pattern: str | None,
    environment_path: str | None,
    resource_arn: str,
) -> None:
    created = resource.create_operation(
        world.properties(IntegrationPattern=pattern, EnvironmentPath=environment_path)
    )
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    arn = created.first.physical_id
    definition = readback.state_machine(moto, arn)["definition"]
    assert [state["Resource"] for state in readback.run_task_states(definition)] == [resource_arn]

    payload: dict = {"command": COMMAND}
    if environment_path:
        payload["env"] = ENVIRONMENT
    execution = readback.run_execution(moto, arn, payload)
    assert execution["status"] == "SUCCEEDED", readback.execution_failure(moto, execution["executionArn"])

    output = json.loads(execution["output"])
    if resource_arn.endswith(".sync"):
        assert output["LastStatus"] == "STOPPED", "RUN_JOB waits for the task to stop"
    else:
        assert [task["TaskArn"] for task in output["Tasks"]], "REQUEST_RESPONSE returns the started task"

    tasks = readback.tasks(moto, world.cluster_name)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["taskDefinitionArn"] == created.first.data["TaskDefinitionArn"] == world.latest_revision_arn
    assert task["launchType"] == "FARGATE"
    expected_override: dict = {"name": "hoge", "command": COMMAND}
    if environment_path:
        expected_override["environment"] = [{"name": "A", "value": "1"}]
    assert task["overrides"]["containerOverrides"] == [expected_override]
    subnet = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "subnetId")
    assert subnet in world.subnets

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}


def test_wait_for_task_token_hands_the_token_to_the_task(
    resource: Player, world: Estate, moto: MotoServer
) -> None:
    created = resource.create_operation(world.properties(IntegrationPattern="WAIT_FOR_TASK_TOKEN"))
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    sfn = moto.client("stepfunctions")
    execution_arn = sfn.start_execution(
        stateMachineArn=created.first.physical_id, name="callback", input=json.dumps({"command": COMMAND})
    )["executionArn"]

    deadline = time.monotonic() + 10
    while not (tasks := readback.tasks(moto, world.cluster_name)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(tasks) == 1
    (override,) = tasks[0]["overrides"]["containerOverrides"]
    assert override["command"] == COMMAND
    tokens = [item["value"] for item in override.get("environment", []) if item["name"] == "TASK_TOKEN"]
    assert len(tokens) == 1
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING", "waits for the callback"

    sfn.send_task_success(taskToken=tokens[0], output=json.dumps({"rows": 42}))
    deadline = time.monotonic() + 10
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish after the callback"
        time.sleep(0.1)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"rows": 42}

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}


def test_cdk_run_task_options_reach_the_task_and_a_caught_failure_ends_in_success(
    resource: Player, world: Estate, moto: MotoServer
) -> None:
    """Both containers overridden (a literal command, variables one by one, memory), task memory,
    a ResultSelector; then the same state machine with a task that cannot start is caught."""
    properties = world.properties(
        ContainerName=None,
        CommandPath=None,
        ContainerOverrides=[
            {
                "ContainerName": "hoge",
                "Command": ["python", "export.py"],
                "Environment": [{"Name": "STAGE", "Value": "prod"}, {"Name": "DAY", "ValuePath": "$.day"}],
                "Memory": "256",
            },
            {"ContainerName": "fuga", "MemoryReservation": "64"},
        ],
        Memory="1024",
        ResultSelector={"Status.$": "$.LastStatus", "TaskArn.$": "$.TaskArn"},
        ResultPath="$.run",
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error"}],
        Comment="Nightly export",
    )
    created = resource.create_operation(properties)
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    arn = created.first.physical_id
    assert created.first.data["ContainerName"] == "hoge,fuga"

    execution = readback.run_execution(moto, arn, {"day": "2026-11-29"})
    assert execution["status"] == "SUCCEEDED", readback.execution_failure(moto, execution["executionArn"])
    output = json.loads(execution["output"])
    assert output["day"] == "2026-11-29" and output["run"]["Status"] == "STOPPED", output
    (task,) = readback.tasks(moto, world.cluster_name)
    assert task["overrides"]["memory"] == "1024"
    assert task["overrides"]["containerOverrides"] == [
        {
            "name": "hoge",
            "command": ["python", "export.py"],
            "memory": 256,
            "environment": [{"name": "STAGE", "value": "prod"}, {"name": "DAY", "value": "2026-11-29"}],
        },
        {"name": "fuga", "memoryReservation": 64},
    ]

    # A result the selector cannot read fails the state at run time: the catcher ends it in success.
    broken = {**properties, "ResultSelector": {"Missing.$": "$.NoSuchField"}}
    assert resource.update_operation(broken).outcome == "UPDATE_COMPLETE"
    caught = readback.run_execution(moto, arn, {"day": "2026-11-30"})
    assert caught["status"] == "SUCCEEDED", readback.execution_failure(moto, caught["executionArn"])
    assert json.loads(caught["output"])["error"]["Error"] == "States.Runtime"
    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}
