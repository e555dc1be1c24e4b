"""Figures 2 and 3: AWS calls and wall time per operation, provider against the minimal script.

Each round drives one resource through Create, an in-place Update after a new task definition
revision (the template's TaskDefinition is the revision ARN, as ``!Ref`` of an
AWS::ECS::TaskDefinition gives it, so a new revision is a property change) and Delete, once through
the provider and once through ``bench_minimal``, both warm handler processes against the same moto
server. Calls are counted from botocore's before-call event; wall time is the handler's own (the
CloudFormation response included, since both must send it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.sandbox import Bench, BenchError, Outcome, unique
from bench.stats import Figure, equals_floor, median, ratio_at_most
from testkit.estate import Estate as World

OPERATIONS = ("create", "update", "delete")
WALL_RATIO_TARGET = 1.3


def _check(outcome: Outcome, expected_id: str | None = None) -> Outcome:
    if outcome.status != "SUCCESS":
        raise BenchError(
            f"{outcome.request['RequestType']} answered FAILED: {outcome.response.get('Reason')}"
        )
    if expected_id is not None and outcome.physical_id != expected_id:
        raise BenchError(f"Update replaced the state machine ({expected_id} -> {outcome.physical_id})")
    return outcome


def _round(bench: Bench, world: World, functions: dict[str, Any]) -> dict[str, dict[str, Outcome]]:
    """One resource per side through Create, Update, Delete; the provider goes first each time and
    the minimal script writes the documents the provider wrote."""
    before = world.latest_revision_arn
    properties = world.properties(TaskDefinition=before)
    stacks = {side: bench.stack(unique(f"bench-{side}")) for side in functions}
    out: dict[str, dict[str, Outcome]] = {side: {} for side in functions}

    documents: dict[str, Any] = {}
    for side, function in functions.items():
        request = bench.request(stacks[side], "Create", "NightlyBatch", properties)
        out[side]["create"] = _check(bench.invoke(function, request, record=True, documents=documents))
        if side == "provider":
            documents = out[side]["create"].documents()

    after = world.register_revision()
    updated = dict(properties, TaskDefinition=after)
    documents = {}
    for side, function in functions.items():
        physical_id = out[side]["create"].physical_id
        request = bench.request(
            stacks[side],
            "Update",
            "NightlyBatch",
            updated,
            physical_id=physical_id,
            old_properties=properties,
        )
        out[side]["update"] = _check(
            bench.invoke(function, request, record=True, documents=documents), expected_id=physical_id
        )
        if side == "provider":
            documents = out[side]["update"].documents()

    for side, function in functions.items():
        physical_id = out[side]["create"].physical_id
        request = bench.request(stacks[side], "Delete", "NightlyBatch", updated, physical_id=physical_id)
        out[side]["delete"] = _check(bench.invoke(function, request, record=True))
    return out


def extra_calls(provider: list[str], minimal: list[str]) -> list[str]:
    """The provider's calls that the minimal script does without (a multiset difference)."""
    extra = Counter(provider) - Counter(minimal)
    return sorted(extra.elements())


def run(bench: Bench, world: World, rounds: int) -> tuple[list[Figure], dict[str, Any]]:
    functions = {
        "provider": bench.function("provider", "lifecycle-provider"),
        "minimal": bench.function("minimal", "lifecycle-minimal"),
    }
    bench.warm(functions.values())
    results = [_round(bench, world, functions) for _ in range(rounds)]

    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for operation in OPERATIONS:
        provider_calls = [len(r["provider"][operation].calls) for r in results]
        minimal_calls = [len(r["minimal"][operation].calls) for r in results]
        figures.append(
            Figure(
                f"aws_calls_{operation}",
                median(provider_calls),
                median(minimal_calls),
                "calls",
                target="== floor",
                check=equals_floor,
                samples=rounds,
            )
        )
        details[operation] = {
            "provider_calls": results[-1]["provider"][operation].calls,
            "minimal_calls": results[-1]["minimal"][operation].calls,
            "extra_calls": extra_calls(
                results[-1]["provider"][operation].calls, results[-1]["minimal"][operation].calls
            ),
        }
    for operation in OPERATIONS:
        figures.append(
            Figure(
                f"wall_{operation}",
                median([r["provider"][operation].wall_s for r in results]),
                median([r["minimal"][operation].wall_s for r in results]),
                "s",
                target=f"ratio <= {WALL_RATIO_TARGET}",
                check=ratio_at_most(WALL_RATIO_TARGET),
                samples=rounds,
            )
        )
    details["parameters"] = used_parameters(r["provider"][op] for r in results for op in OPERATIONS)
    return figures, details


def used_parameters(outcomes: Any) -> dict[str, Any]:
    """Every call the provider made, with one example of its parameters."""
    used: dict[str, Any] = {}
    for outcome in outcomes:
        for operation, params in outcome.result.get("params", []):
            used.setdefault(operation, params)
    return dict(sorted(used.items()))
