"""Figure 9: the follower's sweep over many following state machines with large properties.

One following resource is deployed through the provider with a Definition of about 400 KB (a Pass
state's Result of random base64 text, so its record holds about 300 KB of compressed properties);
its record is then copied to ``SIZES`` state machines (each made in moto, with the record's own
family index item). For each size a fresh follower process sweeps them all, and the figures are its
peak resident memory (``VmHWM``, what Lambda reports as Max Memory Used) and its wall time. The
sweep reads ARNs a page at a time and one record's properties per worker, so memory must stay flat:
within 1.5x from 100 to 1,000 records, and under 128 MiB.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from bench.sandbox import Bench, BenchError, unique
from bench.stats import Figure
from testkit import cloudtrail
from testkit.estate import FOLLOW_TABLE
from testkit.estate import Estate as World

SIZES = (100, 1000)
PROPERTIES_KIB = 300
RATIO = 1.5
LIMIT_MIB = 128


def _definition(world: World) -> dict[str, Any]:
    noise = base64.b64encode(random.Random(7).randbytes(PROPERTIES_KIB * 1024)).decode()
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {
                    "Cluster": world.cluster_name,
                    "TaskDefinition": world.family,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {
                        "AwsvpcConfiguration": {
                            "Subnets": world.subnets,
                            "SecurityGroups": world.security_groups,
                        }
                    },
                },
                "Next": "Carry",
            },
            "Carry": {"Type": "Pass", "Result": {"payload": noise}, "End": True},
        },
    }


def _template(bench: Bench, world: World) -> dict[str, Any]:
    """The record of one real following resource, as DynamoDB holds it."""
    provider = bench.function("provider", "sweep-provider")
    bench.warm([provider])
    properties = {"Definition": _definition(world), "FollowRevisions": "true"}
    created = bench.invoke(
        provider, bench.request(bench.stack(unique("bench-sweep")), "Create", "Big", properties)
    )
    if created.status != "SUCCESS":
        raise BenchError(f"the large following Create failed: {created.response.get('Reason')}")
    item = bench.moto.client("dynamodb").get_item(
        TableName=FOLLOW_TABLE, Key={"pk": {"S": "machine"}, "sk": {"S": created.physical_id}}
    )["Item"]
    size = len(item["properties"]["B"])
    if size < (PROPERTIES_KIB - 20) * 1024:
        raise BenchError(f"the record holds {size} bytes of properties, not about {PROPERTIES_KIB} KiB")
    return dict(item)


def _copy(bench: Bench, template: dict[str, Any], role_arn: str, start: int, stop: int) -> None:
    """Following state machines start..stop-1, each with a copy of `template` as its record."""
    sfn, dynamodb = bench.moto.client("stepfunctions"), bench.moto.client("dynamodb")
    families = template["families"]["S"].strip('[]"').split('","')
    for index in range(start, stop):
        arn = sfn.create_state_machine(
            name=f"bench-sweep-{index:05d}",
            definition='{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
            roleArn=role_arn,
        )["stateMachineArn"]
        dynamodb.put_item(TableName=FOLLOW_TABLE, Item={**template, "sk": {"S": arn}})
        for family in families:
            dynamodb.put_item(
                TableName=FOLLOW_TABLE, Item={"pk": {"S": f"family#{family}"}, "sk": {"S": arn}}
            )


def run(bench: Bench, world: World) -> tuple[list[Figure], dict[str, Any]]:
    template = _template(bench, world)
    role_arn = world.task_role_arn
    swept: dict[int, dict[str, Any]] = {}
    made = 0
    for size in SIZES:
        _copy(bench, template, role_arn, made, size - 1)  # the template's own resource is one of them
        made = size - 1
        follower = bench.function("follower", f"sweep-{size}")
        bench.warm([follower])
        result = follower.invoke({"bench": {}, "event": cloudtrail.sweep()})
        if result.failed:
            raise BenchError(f"the sweep of {size} failed: {result.error}")
        returned = result.result["returned"]
        if returned.get("unchanged") != size:
            raise BenchError(f"the sweep of {size} did not reconcile every record: {returned}")
        swept[size] = {
            "peak_mib": round(result.result["peak_rss_kib"] / 1024, 1),
            "wall_s": round(result.result["wall_s"], 2),
            "calls": len(result.result["calls"]),
            "returned": returned,
        }
    small, large = (swept[size] for size in SIZES)
    figures = [
        Figure(
            "follow_sweep_peak_memory",
            large["peak_mib"],
            small["peak_mib"],
            "MiB",
            target=f"ratio <= {RATIO}, < {LIMIT_MIB} MiB",
            check=lambda f: f.median < LIMIT_MIB and f.floor is not None and f.median <= RATIO * f.floor,
            note=f"follower's peak RSS sweeping {SIZES[1]} records of ~{PROPERTIES_KIB} KiB (floor: {SIZES[0]})",
        ),
        Figure(
            "follow_sweep_wall",
            large["wall_s"],
            small["wall_s"],
            "s",
            note=f"sweep of {SIZES[1]} large records (floor: {SIZES[0]})",
        ),
    ]
    return figures, swept
