"""FollowRevisions end to end: the provider and the follower each in a Lambda-like process, against
a moto server. A pipeline registers a revision; EventBridge (played by the test: moto emits no
CloudTrail events) invokes the follower; the next execution runs the new revision, with no stack
update in between; its metrics are in its log as EMF."""

from __future__ import annotations

import json

import pytest

from testkit import cloudtrail, readback
from testkit.cloudformation import Player
from testkit.estate import Estate, provider_leftovers
from testkit.lambda_runner import LambdaFunction
from testkit.moto_server import MotoServer

pytestmark = pytest.mark.usefixtures("one_response_per_request")


def emf(invocation_logs: str) -> dict[str, int]:
    """The metrics the invocation published (Powertools' EMF lines)."""
    found: dict[str, int] = {}
    for line in invocation_logs.splitlines():
        if '"_aws"' in line:
            record = json.loads(line[line.index("{") :])
            for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = record[metric["Name"]]
                found[metric["Name"]] = found.get(metric["Name"], 0) + int(
                    sum(value) if isinstance(value, list) else value
                )
    return found


def test_a_registered_revision_runs_at_the_next_execution_without_a_stack_update(
    resource: Player, world: Estate, moto: MotoServer, follower: LambdaFunction
) -> None:
    created = resource.create_operation(world.properties(FollowRevisions="true"))
    assert created.outcome == "CREATE_COMPLETE", created.describe()
    arn = created.first.physical_id
    assert created.first.data["TaskDefinitionArn"] == world.latest_revision_arn

    revision = world.register_revision("v-next")
    invocation = follower.invoke(cloudtrail.registered(revision))
    assert not invocation.failed, invocation.error
    assert invocation.result["moved"] == 1, invocation.result

    definition = readback.state_machine(moto, arn)["definition"]
    (state,) = readback.run_task_states(definition)
    assert state["Parameters"]["TaskDefinition"] == revision
    execution = readback.run_execution(moto, arn, {"command": ["echo", "followed"]})
    assert execution["status"] == "SUCCEEDED", readback.execution_failure(moto, execution["executionArn"])
    (task,) = readback.tasks(moto, world.cluster_name)
    assert task["taskDefinitionArn"] == revision
    assert emf(invocation.logs) == {
        "FollowEvents": 1,
        "Follows": 1,
        "FollowFailures": 0,
        "FollowsDeferred": 0,
    }

    swept = follower.invoke(cloudtrail.sweep())
    assert swept.result["unchanged"] == 1 and emf(swept.logs)["Sweeps"] == 1

    assert resource.delete_operation().outcome == "DELETE_COMPLETE"
    assert provider_leftovers(moto) == {"roles": [], "state_machines": []}
    assert moto.client("dynamodb").scan(TableName="ecs-state-machine-follow")["Count"] == 0
