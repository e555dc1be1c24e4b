"""Every example template deployed the way CloudFormation deploys it (intrinsics evaluated, every
scalar a string, the provider in its own process answering over HTTPS), and each example's workflow
run by moto's interpreter to SUCCEEDED; then deleted, leaving nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import readback, stacks
from testkit.cloudformation import Player, new_stack_id
from testkit.estate import ACCOUNT, REGION, Estate, provider_leftovers
from testkit.lambda_runner import LambdaFunction
from testkit.listener import Listener
from testkit.moto_server import MotoServer
from testkit.templates import EXAMPLES, custom_resources, provision, trigger_inputs
from testkit.tls import TlsMaterial
from testkit.transports import InFunction

STACK = "nightly"
# The execution input each example started by its callers documents, by file. An example whose
# template declares a trigger (a schedule, a rule) runs with exactly what that trigger sends instead.
INPUTS: dict[str, dict[str, Any]] = {
    "on-demand-report.yaml": {
        "command": ["report", "--date", "2024-01-31"],
        "environment": [{"Name": "LOG_LEVEL", "Value": "debug"}],
    },
    "existing-role.yaml": {"command": ["python", "-m", "hoge", "--callback"]},
    "encrypted-alias.yaml": {"command": ["python", "manage.py", "migrate"]},
    "pipeline.yaml": {
        "migrate": ["python", "-m", "migrate"],
        "backfill": ["python", "-m", "backfill"],
        "shards": [{"command": ["report", "1"]}, {"command": ["report", "2"]}],
    },
}


@pytest.fixture(scope="module")
def examples_provider(
    moto: MotoServer, tls: TlsMaterial, workdir: Path, listener: Listener
) -> Iterator[LambdaFunction]:
    """The provider as an administrator opens it up for these examples: roles on /sfn/ may be handed
    over (existing-role.yaml), stack statements are allowed (pipeline.yaml)."""
    function = LambdaFunction(
        endpoint_url=moto.endpoint_url,
        ca_file=tls.ca_file,
        log_file=workdir / "examples-provider.log",
        environment={
            **stacks.provider_environment(listener.host_and_port),
            "PASSABLE_ROLE_PATTERN": "sfn/*",
            "ALLOW_POLICY_STATEMENTS": "true",
        },
    )
    yield function
    function.close()


def prepare(world: Estate, path: Path) -> dict[str, Any]:
    """What the example expects of the account, and the values of its template parameters."""
    aws = world.aws
    aws.client("ecs").create_cluster(clusterName="batch")
    for family, container in (("migrate", "app"), ("backfill", "worker"), ("report", "app")):
        world.register_other_family(family, container, "v1")
    for capacity_provider in ("FARGATE", "FARGATE_SPOT"):
        aws.client("ecs").put_cluster_capacity_providers(
            cluster=world.cluster_name,
            capacityProviders=["FARGATE", "FARGATE_SPOT"],
            defaultCapacityProviderStrategy=[],
        ) if capacity_provider == "FARGATE" else None
    topic = aws.client("sns").create_topic(Name="pipeline-done")["TopicArn"]
    parameters = {
        "Subnets": world.subnets,
        "SecurityGroups": world.security_groups,
        "SecurityGroup": world.security_groups[0],
        "AlertTopicArn": topic,
        "TaskRoleArn": world.task_role_arn,
        "TaskExecutionRoleArn": world.execution_role_arn,
    }
    provision(aws, path, STACK, parameters, region=REGION, account=ACCOUNT)
    return parameters


def answer_callbacks(
    moto: MotoServer, execution_arn: str, cluster: str, timeout: float = 30.0
) -> dict[str, Any]:
    """For a WAIT_FOR_TASK_TOKEN task: do what the container would, send the token back."""
    sfn = moto.client("stepfunctions")
    deadline = time.monotonic() + timeout
    answered: set[str] = set()
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(described)
        for task in readback.tasks(moto, cluster):
            for override in task.get("overrides", {}).get("containerOverrides", []):
                for variable in override.get("environment", []):
                    token = variable["value"]
                    if variable["name"] == "TASK_TOKEN" and token not in answered:
                        answered.add(token)
                        sfn.send_task_success(taskToken=token, output=json.dumps({"done": True}))
        time.sleep(0.1)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_deploys_runs_and_deletes(path, world, moto, listener, examples_provider):
    listener.clear()
    stacks.shared().clear()
    parameters = prepare(world, path)
    resources = custom_resources(path, parameters, region=REGION, account=ACCOUNT, stack_name=STACK)
    transport = InFunction(examples_provider, listener)
    stack_id = new_stack_id(STACK)
    players = {}
    for logical_id, properties in resources.items():
        player = Player(transport, stack_id, logical_id)
        operation = player.create_operation(properties)
        assert operation.outcome == "CREATE_COMPLETE", operation.describe()
        players[logical_id] = (player, operation.first.data)
    triggers = trigger_inputs(path)
    assert not (triggers and path.name in INPUTS), "a triggered example runs with its trigger's input"
    for logical_id, (player, data) in players.items():
        sfn = moto.client("stepfunctions")
        # Through the alias, where the example makes one (callers start the alias, not the machine).
        target = data.get("AliasArn") or player.physical_id
        for sent in triggers.get(logical_id) or [json.dumps(INPUTS[path.name])]:
            started = sfn.start_execution(stateMachineArn=target, input=sent)
            described = {}
            for cluster in (world.cluster_name, "batch"):
                described = answer_callbacks(moto, started["executionArn"], cluster, timeout=15.0)
                if described["status"] != "RUNNING":
                    break
            assert described["status"] == "SUCCEEDED", readback.execution_failure(
                moto, started["executionArn"]
            )
    for player, _data in players.values():
        assert player.delete_operation().outcome == "DELETE_COMPLETE"
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}
