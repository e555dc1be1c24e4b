"""Figure 8: the follower (FollowRevisions) with many followed state machines in the account.

``MACHINES`` state machines are deployed through the provider with FollowRevisions, each following
its own family. Then, ``rounds`` times, a pipeline registers a revision of one of those families
and the follower gets ECS's CloudTrail event, as EventBridge would deliver it (moto emits none):

- AWS calls per event against the minimum for a move (12): finding the followers (dynamodb.Query);
  the lease, which also reads the record (dynamodb.UpdateItem); ecs.DescribeTaskDefinition,
  ecs.DescribeClusters, ec2.DescribeSubnets, ec2.DescribeSecurityGroups and
  sfn.ValidateStateMachineDefinition, as a deploy checks them;
  iam.GetRole (ownership and boundary of the role);
  iam.PutRolePolicy granting both revisions; sfn.UpdateStateMachine; iam.PutRolePolicy exact;
  dynamodb.UpdateItem recording the move and giving the lease back. The role policy is written
  twice so that no fault ever leaves the definition without its grants.
- AWS calls for an event of a family nobody follows, against 1 (the Query).
- time from the event's delivery to an execution running the new revision: the follower's
  invocation, then start_execution until ECS shows the task of the new revision.
- the sweep over all ``MACHINES`` with ``LATENCY`` per AWS round trip, against the same calls one
  after another (their number times ``LATENCY``): state machines are reconciled several at once.
"""

from __future__ import annotations

import time
from typing import Any

from bench.sandbox import Bench, BenchError, unique
from bench.stats import Figure, equals_floor, median, percentile, ratio_at_most
from testkit import cloudtrail
from testkit.estate import Estate as World
from testkit.estate import register

MACHINES = 200
MOVE_MINIMUM = 12
LATENCY = 0.04
SWEEP_RATIO_TARGET = 0.5


def _deploy(bench: Bench, world: World) -> list[tuple[str, str]]:
    """(family, state machine ARN) of MACHINES following resources."""
    provider = bench.function("provider", "follow-provider")
    bench.warm([provider])
    ecs = bench.moto.client("ecs")
    deployed = []
    for index in range(MACHINES):
        family = f"followed-{index:03d}"
        register(
            ecs,
            family,
            containers=("app",),
            task_role_arn=world.task_role_arn,
            execution_role_arn=world.execution_role_arn,
        )
        properties = world.properties(TaskDefinition=family, ContainerName="app", FollowRevisions="true")
        stack = bench.stack(unique("bench-follow"))
        created = bench.invoke(provider, bench.request(stack, "Create", "Job", properties))
        if created.status != "SUCCESS":
            raise BenchError(f"a following Create failed: {created.response.get('Reason')}")
        deployed.append((family, created.physical_id))
    return deployed


def _running(bench: Bench, arn: str, revision: str, cluster: str, deadline_s: float = 30.0) -> float:
    """Start an execution; the seconds until ECS shows a task of `revision` started by it."""
    sfn, ecs = bench.moto.client("stepfunctions"), bench.moto.client("ecs")
    began = time.perf_counter()
    sfn.start_execution(stateMachineArn=arn, name=unique("run"), input='{"command": ["echo", "followed"]}')
    while time.perf_counter() - began < deadline_s:
        for status in ("RUNNING", "STOPPED"):
            listed = ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]
            if listed:
                tasks = ecs.describe_tasks(cluster=cluster, tasks=listed)["tasks"]
                if any(t["taskDefinitionArn"] == revision for t in tasks):
                    return time.perf_counter() - began
        time.sleep(0.02)
    raise BenchError(f"no task of {revision} within {deadline_s} s")


def run(bench: Bench, world: World, rounds: int) -> tuple[list[Figure], dict[str, Any]]:
    deployed = _deploy(bench, world)
    follower = bench.function("follower", "follower")
    bench.warm([follower])
    ecs = bench.moto.client("ecs")
    samples: list[dict[str, Any]] = []
    for round_index in range(rounds):
        family, arn = deployed[(round_index * 37) % len(deployed)]
        revision = register(
            ecs,
            family,
            containers=("app",),
            task_role_arn=world.task_role_arn,
            execution_role_arn=world.execution_role_arn,
        )
        began = time.perf_counter()
        moved = follower.invoke({"bench": {}, "event": cloudtrail.registered(revision)})
        if moved.failed or moved.result["returned"].get("moved") != 1:
            raise BenchError(
                f"the follower did not move {arn}: {moved.error or moved.result.get('returned')}"
            )
        delivered_s = time.perf_counter() - began
        running_s = _running(bench, arn, revision, world.cluster_name)
        unfollowed = register(ecs, unique("nobody-follows"))
        ignored = follower.invoke({"bench": {}, "event": cloudtrail.registered(unfollowed)})
        samples.append(
            {
                "calls": len(moved.result["calls"]),
                "call_list": moved.result["calls"],
                "follower_s": moved.result["wall_s"],
                "to_running_s": delivered_s + running_s,
                "unfollowed_calls": len(ignored.result["calls"]),
            }
        )
    swept = follower.invoke({"bench": {"latency": {"*": LATENCY}}, "event": cloudtrail.sweep()})
    sweep = {
        "calls": len(swept.result["calls"]),
        "wall_s": round(swept.result["wall_s"], 3),
        "one_after_another_s": round(len(swept.result["calls"]) * LATENCY, 3),
        "returned": swept.result["returned"],
    }
    figures = [
        Figure(
            "follow_aws_calls_per_event",
            median([s["calls"] for s in samples]),
            MOVE_MINIMUM,
            "calls",
            target="== floor",
            check=equals_floor,
            samples=rounds,
            note=f"a move, with {MACHINES} followed state machines in the account",
        ),
        Figure(
            "follow_aws_calls_unfollowed",
            median([s["unfollowed_calls"] for s in samples]),
            1,
            "calls",
            target="== floor",
            check=equals_floor,
            samples=rounds,
            note="an event of a family nobody follows",
        ),
        Figure(
            "follow_event_to_running_p50",
            median([s["to_running_s"] for s in samples]),
            None,
            "s",
            samples=rounds,
            note="event delivered -> follower done -> an execution's task runs the new revision",
            extra={
                "p95": round(percentile([s["to_running_s"] for s in samples], 95), 3),
                "follower_s": round(median([s["follower_s"] for s in samples]), 3),
            },
        ),
        Figure(
            "follow_sweep",
            sweep["wall_s"],
            sweep["one_after_another_s"],
            "s",
            target=f"ratio <= {SWEEP_RATIO_TARGET}",
            check=ratio_at_most(SWEEP_RATIO_TARGET),
            note=f"{MACHINES} state machines, {sweep['calls']} calls at {LATENCY * 1000:.0f} ms each",
        ),
    ]
    return figures, {"samples": samples, "sweep": sweep}
