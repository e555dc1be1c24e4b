"""Definition mode end to end: a three-task workflow (a sequential task, one inside a Parallel branch,
one inside a Map item processor) over existing task definitions is deployed through CloudFormation's
requests, executed by moto's interpreter, and every ECS task it started is checked."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from testkit import readback
from testkit.cloudformation import Player
from testkit.estate import Estate, provider_leftovers
from testkit.moto_server import MotoServer

pytestmark = pytest.mark.usefixtures("one_response_per_request")

# family -> the one container whose command each state overrides
CONTAINERS = {"migrate": "app", "backfill": "worker", "report": "app"}
EXECUTION_INPUT = {
    "migrate": ["echo", "m"],
    "backfill": ["echo", "b"],
    "shards": [{"command": ["echo", "s1"]}, {"command": ["echo", "s2"]}],
}


@pytest.fixture
def pinned(world: Estate) -> dict[str, str]:
    """The families' revisions; family -> the latest ACTIVE revision (what the provider must pin).

    ``backfill``'s highest revision is deregistered: its latest ACTIVE revision is not its highest."""
    migrate = [world.register_other_family("migrate", "app", tag) for tag in ("v1", "v2")]
    backfill = [world.register_other_family("backfill", "worker", tag) for tag in ("v1", "v2", "v3")]
    world.aws.client("ecs").deregister_task_definition(taskDefinition=backfill[2])
    report = [world.register_other_family("report", "app", "v1")]
    return {"migrate": migrate[-1], "backfill": backfill[1], "report": report[-1]}


def run_task(
    family: str, command_path: str, *, cluster: str, network: dict, suffix: str, result_path: str | None
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::ecs:runTask{suffix}",
        "Parameters": {
            "Cluster": cluster,
            "TaskDefinition": family,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": network,
            "Overrides": {"ContainerOverrides": [{"Name": CONTAINERS[family], "Command.$": command_path}]},
        },
        "TimeoutSeconds": 600,
        "Retry": [
            {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 2.0}
        ],
    }
    if result_path:
        state["ResultPath"] = result_path
    return state


def workflow(*, cluster: str, subnets: list[str], security_groups: list[str], item_selector: bool) -> dict:
    """Migrate (RUN_JOB), then Backfill (RUN_JOB) beside a Pass branch, then Report
    (REQUEST_RESPONSE) per shard. Every result goes under ``$.results`` so the input stays whole."""
    network = {
        "AwsvpcConfiguration": {
            "Subnets": subnets,
            "SecurityGroups": security_groups,
            "AssignPublicIp": "DISABLED",
        }
    }
    per_shard: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.shards",
        "MaxConcurrency": 2,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Report",
            "States": {
                "Report": {
                    **run_task(
                        "report", "$.command", cluster=cluster, network=network, suffix="", result_path=None
                    ),
                    "End": True,
                }
            },
        },
        "ResultPath": "$.results.reports",
        "End": True,
    }
    if item_selector:
        per_shard["ItemSelector"] = {
            "command.$": "$$.Map.Item.Value.command",
            "index.$": "$$.Map.Item.Index",
        }
    return {
        "Comment": "Nightly data pipeline",
        "StartAt": "Migrate",
        "States": {
            "Migrate": {
                **run_task(
                    "migrate",
                    "$.migrate",
                    cluster=cluster,
                    network=network,
                    suffix=".sync",
                    result_path="$.results.migrate",
                ),
                "Next": "Fanout",
            },
            "Fanout": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Backfill",
                        "States": {
                            "Backfill": {
                                **run_task(
                                    "backfill",
                                    "$.backfill",
                                    cluster=cluster,
                                    network=network,
                                    suffix=".sync",
                                    result_path=None,
                                ),
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "Notify",
                        "States": {"Notify": {"Type": "Pass", "Result": {"notified": "yes"}, "End": True}},
                    },
                ],
                "ResultPath": "$.results.fanout",
                "Next": "PerShard",
            },
            "PerShard": per_shard,
        },
    }


def yaml_map_properties(world: Estate) -> dict:
    """Definition as a YAML map; the harness stringifies every scalar, as CloudFormation does."""
    return {
        "Definition": workflow(
            cluster=world.cluster_name,
            subnets=world.subnets,
            security_groups=world.security_groups,
            item_selector=True,
        ),
        "StateMachineName": "nightly-pipeline",
    }


def json_string_properties(world: Estate) -> dict:
    """Definition as a JSON string (e.g. !Sub-free Fn::ToJsonString), placeholders filled by
    DefinitionSubstitutions."""
    text = json.dumps(
        workflow(
            cluster="${Cluster}",
            subnets=["${SubnetA}", "${SubnetB}"],
            security_groups=["${SecurityGroup}"],
            item_selector=False,
        )
    )
    return {
        "Definition": text,
        "DefinitionSubstitutions": {
            "Cluster": world.cluster_name,
            "SubnetA": world.subnets[0],
            "SubnetB": world.subnets[1],
            "SecurityGroup": world.security_groups[0],
        },
    }


def state_parameters(definition: dict) -> dict[str, dict]:
    states = definition["States"]
    return {
        "migrate": states["Migrate"]["Parameters"],
        "backfill": states["Fanout"]["Branches"][0]["States"]["Backfill"]["Parameters"],
        "report": states["PerShard"]["ItemProcessor"]["States"]["Report"]["Parameters"],
    }


@pytest.mark.parametrize(
    "properties_of", [yaml_map_properties, json_string_properties], ids=["yaml-map", "json-string"]
)
def test_three_task_workflow_runs_each_pinned_revision_with_its_own_command(
    resource: Player, world: Estate, moto: MotoServer, pinned: dict[str, str], properties_of: Any
) -> None:
    created = resource.create_operation(properties_of(world))
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    arn = created.first.physical_id
    assert created.first.data["TaskDefinitionArns"] == ",".join(
        pinned[family] for family in ("migrate", "backfill", "report")
    )

    machine = readback.state_machine(moto, arn)
    definition = machine["definition"]
    for family, parameters in state_parameters(definition).items():
        assert parameters["TaskDefinition"] == pinned[family]
        assert parameters["Cluster"] == world.cluster_arn
        assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == world.subnets
    # CloudFormation's strings are ASL's numbers and booleans again.
    assert definition["States"]["PerShard"]["MaxConcurrency"] == 2
    assert definition["States"]["PerShard"]["End"] is True
    assert definition["States"]["Migrate"]["Retry"][0]["BackoffRate"] == 2.0
    role = readback.role(moto, machine["roleArn"])
    assert readback.allowed_resources(role["policies"], "ecs:RunTask") == set(pinned.values())

    execution = readback.run_execution(moto, arn, EXECUTION_INPUT)
    assert execution["status"] == "SUCCEEDED", readback.execution_failure(moto, execution["executionArn"])
    results = json.loads(execution["output"])["results"]
    assert results["migrate"]["LastStatus"] == "STOPPED", "RUN_JOB waits for the task to stop"
    backfill_result, notify_result = results["fanout"]
    assert backfill_result["LastStatus"] == "STOPPED"
    assert notify_result == {"notified": "yes"}
    assert [len(report["Tasks"]) for report in results["reports"]] == [1, 1]

    commands: dict[str, list[list[str]]] = defaultdict(list)
    family_of = {revision: family for family, revision in pinned.items()}
    for task in readback.tasks(moto, world.cluster_name):
        family = family_of.get(task["taskDefinitionArn"], task["taskDefinitionArn"])
        (override,) = task["overrides"]["containerOverrides"]
        assert override == {"name": CONTAINERS.get(family), "command": override.get("command")}, task
        assert task["launchType"] == "FARGATE"
        commands[family].append(override["command"])
    assert {family: sorted(runs) for family, runs in commands.items()} == {
        "migrate": [["echo", "m"]],
        "backfill": [["echo", "b"]],
        "report": [["echo", "s1"], ["echo", "s2"]],
    }

    deleted = resource.delete_operation()
    assert deleted.outcome == "DELETE_COMPLETE", deleted.describe()
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}
