"""Figure 7: a Definition of 150 ECS task states over 100 families, each family with its own task and
execution role (names as long as real ones: ``/batch/jobs/nightly-export-family-NN-task``), deployed
through the provider and deleted again, ``rounds`` times.

- outcome: SUCCESS, and the role's permissions within IAM's limits (one inline policy of at most
  10,240 characters, managed policies of at most 6,144, at most 10 of them), the grants exactly
  those of the 150 states;
- AWS calls of the Create against the minimum: two confirmations with CloudFormation, one
  DescribeTaskDefinition per family, one DescribeClusters per cluster, one DescribeSubnets for
  every subnet the states name (no state names a security group), Step Functions' verdict
  (ValidateStateMachineDefinition), CreateRole, PutRolePolicy,
  CreatePolicy and AttachRolePolicy for each managed policy, of which there can be no fewer than
  ceil((policy size - 10,240) / 6,144), and CreateStateMachine;
- resolution against the sequential floor: every ECS describe waits ``LATENCY`` before it is sent
  (the order of AWS's round trip; moto on loopback answers in a few ms). The floor is what they
  cannot take less than one after another: their number times ``LATENCY`` (under load each takes
  longer, so the true sequential time is higher); the figure is the span from the first describe's
  start to the last one's end. The whole Create's wall time is reported beside it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.sandbox import Bench, BenchError, unique
from bench.stats import Figure, equals_floor, median, ratio_at_most
from testkit.estate import Estate as World
from testkit.estate import register

FAMILIES = 100
STATES = 150
LATENCY = 0.04
RESOLUTION_RATIO_TARGET = 0.25
INLINE, MANAGED, MANAGED_COUNT = 10_240, 6_144, 10
# Resolution: the ECS describes and the network read made at once with them.
ECS_DESCRIBES = ("ecs.DescribeTaskDefinition", "ecs.DescribeClusters", "ec2.DescribeSubnets")


def families(bench: Bench, prefix: str = "nightly-export") -> list[str]:
    iam, ecs = bench.moto.client("iam"), bench.moto.client("ecs")
    names = []
    for index in range(FAMILIES):
        family = f"{prefix}-family-{index:02d}"
        roles = [
            iam.create_role(RoleName=f"{family}-{kind}", Path="/batch/jobs/", AssumeRolePolicyDocument="{}")[
                "Role"
            ]["Arn"]
            for kind in ("task", "execution")
        ]
        register(ecs, family, containers=("app",), task_role_arn=roles[0], execution_role_arn=roles[1])
        names.append(family)
    return names


def definition(families: list[str], world: World) -> dict[str, Any]:
    """150 task states in a chain, state i running family i mod 100."""
    states: dict[str, Any] = {}
    for index in range(STATES):
        states[f"Step{index:03d}"] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": world.cluster_name,
                "TaskDefinition": families[index % len(families)],
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": list(world.subnets)}},
                "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.command"}]},
            },
            **({"Next": f"Step{index + 1:03d}"} if index + 1 < STATES else {"End": True}),
        }
    return {"Comment": "150 steps over 100 families", "StartAt": "Step000", "States": states}


def _role_parts(bench: Bench, role_arn: str) -> tuple[int, list[int], dict[str, set[str]]]:
    """The inline policy's size, the managed policies' sizes, and what all of them grant (resources
    by action)."""
    iam = bench.moto.client("iam")
    name = role_arn.rsplit("/", 1)[1]
    inline = iam.get_role_policy(RoleName=name, PolicyName="ecs-state-machine")["PolicyDocument"]
    managed = []
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        managed.append(version["PolicyVersion"]["Document"])
    granted: dict[str, set[str]] = {}
    for document in (inline, *managed):
        for statement in document["Statement"]:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in (
                statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            ):
                granted.setdefault(action, set()).update(resources)
    return _size(inline), [_size(m) for m in managed], granted


def _size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _expected(bench: Bench, families: list[str]) -> dict[str, set[str]]:
    """What the 150 states need run and passed: every family's revision and both its roles."""
    ecs = bench.moto.client("ecs")
    revisions, roles = set(), set()
    for family in families:
        described = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        revisions.add(described["taskDefinitionArn"])
        roles.update((described["taskRoleArn"], described["executionRoleArn"]))
    return {"ecs:RunTask": revisions, "iam:PassRole": roles}


def _span(spans: list[list[Any]], operations: tuple[str, ...]) -> tuple[float, float, int]:
    """(first start to last end, sum of durations, count) of the calls of `operations`."""
    chosen = [s for s in spans if s[0] in operations]
    if not chosen:
        raise BenchError(f"no {operations} calls were recorded")
    return (
        max(s[2] for s in chosen) - min(s[1] for s in chosen),
        sum(s[2] - s[1] for s in chosen),
        len(chosen),
    )


def run(bench: Bench, world: World, rounds: int) -> tuple[list[Figure], dict[str, Any]]:
    names = families(bench)
    document = definition(names, world)
    function = bench.function("provider", "large")
    bench.warm([function])
    latency = {operation: LATENCY for operation in ECS_DESCRIBES}
    expected = _expected(bench, names)
    samples: list[dict[str, Any]] = []
    for _ in range(rounds):
        stack = bench.stack(unique("bench-large"))
        created = bench.invoke(
            function, bench.request(stack, "Create", "Pipeline", {"Definition": document}), latency=latency
        )
        if created.status != "SUCCESS":
            raise BenchError(f"the 100-family Create answered FAILED: {created.response.get('Reason')}")
        inline, managed, granted = _role_parts(bench, created.response["Data"]["RoleArn"])
        exact = all(granted.get(action) == wanted for action, wanted in expected.items())
        span, _durations, describes = _span(created.result["spans"], ECS_DESCRIBES)
        one_after_another = describes * LATENCY
        deleted = bench.invoke(
            function,
            bench.request(
                stack, "Delete", "Pipeline", {"Definition": document}, physical_id=created.physical_id
            ),
        )
        if deleted.status != "SUCCESS":
            raise BenchError(f"the 100-family Delete answered FAILED: {deleted.response.get('Reason')}")
        fewest_parts = max(0, math.ceil((inline + sum(managed) - INLINE) / MANAGED))
        samples.append(
            {
                "calls": len(created.calls),
                "minimum": 2 + FAMILIES + 1 + 1 + 1 + 3 + 2 * fewest_parts,
                "inline": inline,
                "managed": managed,
                "within_limits": inline <= INLINE
                and all(m <= MANAGED for m in managed)
                and len(managed) <= MANAGED_COUNT,
                "exact_grants": exact,
                "resolution_s": span,
                "sequential_s": one_after_another,
                "describes": describes,
                "wall_s": created.wall_s,
                "delete_calls": len(deleted.calls),
                "leftovers": _leftovers(bench),
            }
        )
    last = samples[-1]
    figures = [
        Figure(
            "large_success",
            float(sum(1 for s in samples if s["within_limits"] and s["exact_grants"] and not s["leftovers"])),
            float(rounds),
            "requests",
            target=f"== {rounds}",
            check=lambda f: f.median == f.floor,
            note=f"{STATES} states, {FAMILIES} families: within IAM's limits, grants exact, nothing left",
            samples=rounds,
            extra={"inline_chars": last["inline"], "managed_chars": last["managed"]},
        ),
        Figure(
            "large_aws_calls_create",
            median([s["calls"] for s in samples]),
            median([s["minimum"] for s in samples]),
            "calls",
            target="== floor",
            check=equals_floor,
            samples=rounds,
        ),
        Figure(
            "large_resolution",
            median([s["resolution_s"] for s in samples]),
            median([s["sequential_s"] for s in samples]),
            "s",
            target=f"ratio <= {RESOLUTION_RATIO_TARGET}",
            check=ratio_at_most(RESOLUTION_RATIO_TARGET),
            samples=rounds,
            note=f"{last['describes']} ECS describes at {LATENCY * 1000:.0f} ms each, against one after another",
        ),
        Figure(
            "large_wall_create",
            median([s["wall_s"] for s in samples]),
            median([s["sequential_s"] for s in samples]),
            "s",
            samples=rounds,
            note="the whole Create, against the describes alone one after another",
        ),
    ]
    return figures, {"samples": samples, "provider_calls": created.calls, "delete_calls": deleted.calls}


def _leftovers(bench: Bench) -> list[str]:
    iam = bench.moto.client("iam")
    policies = iam.list_policies(Scope="Local", PathPrefix="/ecs-state-machine/policies/")["Policies"]
    roles = [
        r["RoleName"]
        for r in iam.list_roles(PathPrefix="/ecs-state-machine/")["Roles"]
        if "Pipeline" in r["RoleName"]
    ]
    return [p["PolicyName"] for p in policies] + roles
