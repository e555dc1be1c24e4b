"""Figure 5: many Creates at once, with throttling, against one moto server.

The requests are delivered together to a pool of ``concurrency`` handler processes (Lambda
sandboxes: each serves one request at a time and takes the next one warm), one moto server behind
them all. A 2-core machine cannot give 50 sandboxes a CPU each, so by default 10 serve the 50
requests; ``BENCH_SCALE_CONCURRENCY=50`` gives every request its own process. The processes finish
their init phase before the first request. In every process the shim answers a seeded-random share of HTTP attempts
with the service's throttling error (``ThrottlingException``; IAM's ``Throttling``), which botocore's
standard retry mode and then the provider's own retry see exactly as a real throttle.

Afterwards moto is read back: one state machine and one role per resource, and exactly one response
per request, or the difference is counted as duplicates or losses.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.sandbox import Bench, unique
from bench.stats import Figure, median, percentile
from testkit.estate import Estate as World

THROTTLE_RATE = 0.2
SEED = 20240605


def _provider_resources(bench: Bench, prefix: str) -> tuple[list[str], list[str]]:
    sfn, iam = bench.moto.client("stepfunctions"), bench.moto.client("iam")
    machines = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"].startswith(prefix)
    ]
    roles = [
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith(prefix)
    ]
    return machines, roles


def run(
    bench: Bench,
    world: World,
    requests: int,
    concurrency: int,
    uncontended_create_s: float,
    minimal_create_calls: float,
) -> tuple[list[Figure], dict[str, Any]]:
    properties = world.properties(TaskDefinition=world.latest_revision_arn)
    stack_name = unique("bench-scale")
    stack = bench.stack(stack_name)
    functions = [
        bench.function("provider", f"scale-{index:02d}") for index in range(min(concurrency, requests))
    ]
    bench.warm(functions)
    events = [bench.request(stack, "Create", f"Batch{index:02d}", properties) for index in range(requests)]
    queue = iter(range(requests))
    lock = threading.Lock()
    outcomes: list[dict[str, Any]] = [{} for _ in range(requests)]

    def sandbox(function: Any) -> None:
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            outcomes[index] = deliver(function, index)

    def deliver(function: Any, index: int) -> dict[str, Any]:
        first = not function.invocations[1:]
        began = time.perf_counter()
        invocation, bodies = bench.deliver(
            function, events[index], throttle_rate=THROTTLE_RATE, seed=SEED + index
        )
        result = invocation.result if isinstance(invocation.result, dict) else {}
        return {
            "wall_s": result.get("wall_s", time.perf_counter() - began),
            "calls": len(result.get("calls", [])),
            "attempts": result.get("attempts", 0),
            "throttled": result.get("injected", 0),
            "function_error": invocation.error["errorType"] if invocation.error else None,
            "responses": bodies,
            "first": first,
        }

    began = time.perf_counter()
    with ThreadPoolExecutor(len(functions)) as pool:
        list(pool.map(sandbox, functions))
    elapsed = time.perf_counter() - began

    succeeded = [o for o in outcomes if len(o["responses"]) == 1 and o["responses"][0]["Status"] == "SUCCESS"]
    physical_ids = {o["responses"][0]["PhysicalResourceId"] for o in succeeded}
    machines, roles = _provider_resources(bench, stack_name)
    extra_responses = sum(max(0, len(o["responses"]) - 1) for o in outcomes)
    duplicates = (
        max(0, len(machines) - len(physical_ids)) + max(0, len(roles) - len(physical_ids)) + extra_responses
    )
    missing = len(physical_ids - set(machines))
    walls = [o["wall_s"] for o in outcomes]
    firsts = [o["wall_s"] for o in outcomes if o["first"]]
    reasons = sorted(
        {o["responses"][0].get("Reason", "") for o in outcomes if o not in succeeded and o["responses"]}
    )

    figures = [
        Figure(
            "scale_success",
            float(len(succeeded)),
            float(requests),
            "requests",
            target=f"== {requests}",
            check=lambda f: f.median == requests,
            note=f"{len(functions)} handler processes, {THROTTLE_RATE:.0%} of HTTP attempts throttled",
        ),
        Figure(
            "scale_duplicates",
            float(duplicates + missing),
            0.0,
            "count",
            target="== 0",
            check=lambda f: f.median == 0,
            extra={
                "state_machines": len(machines),
                "roles": len(roles),
                "extra_responses": extra_responses,
                "missing": missing,
            },
        ),
        Figure(
            "scale_wall_p50",
            median(walls),
            uncontended_create_s,
            "s",
            samples=requests,
            note="floor: the provider's Create alone, warm and unthrottled (wall_create)",
            extra={"first_in_process_p50_s": round(median(firsts), 4) if firsts else None},
        ),
        Figure("scale_wall_p95", percentile(walls, 95), uncontended_create_s, "s", samples=requests),
        Figure(
            "scale_aws_calls",
            float(sum(o["calls"] for o in outcomes)),
            requests * minimal_create_calls,
            "calls",
            note="floor: the minimal Create's calls per request, without throttling",
            extra={
                "http_attempts": sum(o["attempts"] for o in outcomes),
                "throttled_attempts": sum(o["throttled"] for o in outcomes),
            },
        ),
    ]
    details = {
        "elapsed_s": round(elapsed, 3),
        "handler_processes": len(functions),
        "failed_reasons": reasons,
        "function_errors": sorted({o["function_error"] for o in outcomes if o["function_error"]}),
    }
    return figures, details
