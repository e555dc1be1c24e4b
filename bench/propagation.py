"""Figure 4: time to ready while IAM propagates, and how long a propagation the provider outlasts.

In the handler process, the shim answers every CreateStateMachine attempt with Step Functions'
propagation AccessDeniedException until W seconds after the first CreateRole attempt. The figure is
the handler's Create wall time minus W (the overshoot); its floor is a Create in the same warm
process with no window. Every (W, repeat) pair has its own handler process and resource; after two
plain Creates each, they run together, started half a second apart so that their busy phases do not
compete for the CPU (they mostly sleep).

Windows too long to wait for are checked with a fake clock: the provider's own ``Aws.call`` with its
``Deadline`` (the function's timeout from template.yaml), a stub Step Functions client that refuses
until the fake time passes W, and a sleep that advances the fake clock. The figure is the longest
window the retry logic outlasts, found by bisection, against the 60 s the provider must outlast.
"""

from __future__ import annotations

import importlib
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.sandbox import Bench, BenchError, handler_dir, unique
from bench.stats import Figure, median, median_at_least
from testkit.estate import Estate as World
from testkit.lambda_runner import read_function_settings

WINDOWS = (2, 5, 10)
OVERSHOOT_TARGET_S = 1.0
MUST_OUTLAST_S = 60.0
STAGGER_S = 0.5
CALL_LATENCY_S = 0.05  # fake time one AWS call takes
PROPAGATION_MESSAGE = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to "
    "assume the provided role."
)


def run(bench: Bench, world: World, repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    properties = world.properties(TaskDefinition=world.latest_revision_arn)
    stack = bench.stack(unique("bench-propagation"))
    jobs = [(window, index) for index in range(repeats) for window in WINDOWS]
    functions = {job: bench.function("provider", f"propagation-{job[0]}-{job[1]}") for job in jobs}
    bench.warm(functions.values())

    def plain(job: tuple[int, int], attempt: int) -> float:
        request = bench.request(stack, "Create", f"Plain{job[0]}x{job[1]}x{attempt}", properties)
        outcome = bench.invoke(functions[job], request)
        if outcome.status != "SUCCESS":
            raise BenchError(f"plain Create failed: {outcome.response.get('Reason')}")
        return outcome.wall_s

    # The first Create in a process also loads botocore's service models; the second is the floor.
    first = {job: plain(job, 1) for job in jobs}
    floors = {job: plain(job, 2) for job in jobs}

    def windowed(position: int, job: tuple[int, int]) -> dict[str, Any]:
        # Staggered starts keep the requests' busy phases (everything but the waits) apart.
        time.sleep(position * STAGGER_S)
        window, index = job
        request = bench.request(stack, "Create", f"Window{window}x{index}", properties)
        outcome = bench.invoke(functions[job], request, propagation_window=window)
        return {
            "status": outcome.status,
            "reason": outcome.response.get("Reason"),
            "overshoot_s": outcome.wall_s - window,
            "refused": outcome.result["injected"],
        }

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = dict(zip(jobs, pool.map(windowed, range(len(jobs)), jobs), strict=True))

    figures = []
    details: dict[str, Any] = {}
    for window in WINDOWS:
        mine = [results[(window, i)] for i in range(repeats)]
        failed = [r for r in mine if r["status"] != "SUCCESS"]
        overshoots = [r["overshoot_s"] for r in mine]
        figures.append(
            Figure(
                f"propagation_overshoot_w{window}",
                median(overshoots),
                median([floors[(window, i)] for i in range(repeats)]),
                "s",
                target=f"median < {OVERSHOOT_TARGET_S:g} s, all SUCCESS",
                check=lambda f, failed=failed: not failed and f.median < OVERSHOOT_TARGET_S,
                samples=repeats,
                extra={"max_s": round(max(overshoots), 4), "failed": len(failed)},
            )
        )
        details[f"w{window}"] = mine
    outlast, at_60 = fake_clock_budget()
    figures.append(
        Figure(
            "propagation_longest_window",
            outlast,
            MUST_OUTLAST_S,
            "s",
            target=f">= {MUST_OUTLAST_S:g} s (fake clock)",
            check=median_at_least(MUST_OUTLAST_S),
            note="fake clock; floor is the window the provider must outlast",
            extra={"overshoot_at_60_s": None if at_60 is None else round(at_60, 3)},
        )
    )
    details["fake_clock"] = {"longest_window_s": outlast, "overshoot_at_60_s": at_60}
    details["first_create_s"] = median(list(first.values()))
    return figures, details


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _aws_module() -> Any:
    root = str(handler_dir())
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("ecs_state_machine.base.aws")


def _outlasts(window: float, timeout_s: float, seed: int = 0) -> float | None:
    """Overshoot (fake seconds past the window) if CreateStateMachine got through, else None."""
    from botocore.exceptions import ClientError

    aws_module = _aws_module()
    clock = _FakeClock()

    class StepFunctions:
        def create_state_machine(self, **_: Any) -> dict[str, str]:
            clock.sleep(CALL_LATENCY_S)
            if clock.now < window:
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": PROPAGATION_MESSAGE}},
                    "CreateStateMachine",
                )
            return {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}

    deadline = aws_module.Deadline(lambda: int(max(0.0, timeout_s - clock.now) * 1000))
    aws = aws_module.Aws(
        deadline, clients={"stepfunctions": StepFunctions()}, sleep=clock.sleep, clock=clock.monotonic
    )
    state = random.getstate()
    random.seed(seed)
    try:
        aws.call(
            "stepfunctions", "create_state_machine", "creating state machine x", propagation=True, name="x"
        )
    except Exception:
        return None
    finally:
        random.setstate(state)
    return clock.now - window


def fake_clock_budget() -> tuple[float, float | None]:
    """The longest window (to 0.5 s) the retry logic outlasts, and the overshoot at 60 s."""
    timeout_s = read_function_settings().timeout_seconds
    low, high = 0.0, timeout_s
    if _outlasts(high, timeout_s) is not None:
        return high, _outlasts(MUST_OUTLAST_S, timeout_s)
    while high - low > 0.5:
        middle = (low + high) / 2
        if _outlasts(middle, timeout_s) is not None:
            low = middle
        else:
            high = middle
    return low, _outlasts(MUST_OUTLAST_S, timeout_s)
