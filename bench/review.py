"""Figure 9: `ecs-state-machine plan` of a template whose Definition has 150 task states over 100
families (the large figure's), run as a user runs it (its own process, against the moto server),
against the provider's own planning of the same properties in this process (`make_plan`: rules,
resolution, rendering, verdict), the floor. And the command's cold start: `ecs-state-machine
--help` in a fresh process against `python -c "import boto3"`.

The difference between the two plan figures is the command's own cost: the interpreter and its
imports, STS GetCallerIdentity, the provider stack's record (DescribeStacks, ListExports), the
template's evaluation and the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import large
from bench.sandbox import Bench, BenchError
from bench.stats import Figure, median
from testkit import review
from testkit.estate import ACCOUNT, REGION
from testkit.estate import Estate as World

SERVICES = ("ecs", "stepfunctions", "kms", "ec2", "iam", "sts", "logs")


def _template(names: list[str], world: World) -> str:
    properties = {"ServiceToken": review.SERVICE_TOKEN, "Definition": large.definition(names, world)}
    return json.dumps(
        {"Resources": {"Pipeline": {"Type": "Custom::EcsStateMachine", "Properties": properties}}}
    )


def _in_process(bench: Bench, template: dict[str, Any]) -> float:
    """The provider's own planning of the same properties: the floor."""
    from ecs_state_machine.base.arn import Place
    from ecs_state_machine.base.aws import Aws
    from ecs_state_machine.base.settings import Settings
    from ecs_state_machine.planning.plan import make_plan
    from ecs_state_machine.schema.properties import parse

    props = parse(template["Resources"]["Pipeline"]["Properties"])
    aws = Aws(clients={name: bench.moto.client(name) for name in SERVICES})
    started = time.perf_counter()
    make_plan(props, Place("aws", REGION, ACCOUNT), aws, Settings())
    return time.perf_counter() - started


def _process(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{args} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def run(bench: Bench, world: World, rounds: int, workdir: Path) -> tuple[list[Figure], dict[str, Any]]:
    names = large.families(bench, prefix="review")
    text = _template(names, world)
    path = workdir / "review-template.json"
    path.write_text(text)
    review.provider_stack()
    plans, floors = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        done = review.run_command(bench.moto.endpoint_url, "plan", str(path), "--format", "json")
        plans.append(time.perf_counter() - started)
        if done.returncode != 2:
            raise BenchError(f"the 100-family plan exited {done.returncode}: {done.stderr[-500:]}")
        (planned,) = json.loads(done.stdout)["resources"]
        floors.append(_in_process(bench, json.loads(text)))
    revisions = len(planned["revisions"])
    command = review.command()
    starts, boto3_starts = [], []
    for _ in range(rounds * 3):
        starts.append(_process([*command, "--help"]))
        boto3_starts.append(_process([sys.executable, "-c", "import boto3"]))
    figures = [
        Figure(
            "review_plan_100_families",
            median(plans),
            median(floors),
            "s",
            samples=rounds,
            note=f"the command's process ({revisions} revisions resolved), against make_plan in process",
        ),
        Figure(
            "review_cold_start",
            median(starts),
            median(boto3_starts),
            "s",
            samples=len(starts),
            note="`ecs-state-machine --help` in a fresh process, against `python -c 'import boto3'`",
        ),
    ]
    return figures, {"plans_s": plans, "make_plan_s": floors, "starts_s": starts, "boto3_s": boto3_starts}
