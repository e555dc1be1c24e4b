"""The benchmark's handler module, loaded in the Lambda-like handler process as ``bench_shim``.

``testkit.lambda_runner`` imports ``$_HANDLER`` from a task root that holds the code under test plus
this file, ``bench_minimal`` and the kit's fault injector (``testkit.faults``). Before anything
builds a client, the injector is installed on boto3's default session, so it sees every AWS call the
code makes: it counts API calls (one per client method call, whatever botocore retries) and HTTP
attempts, records each call's parameters when asked (``record``), and can answer an attempt itself,
the way AWS would answer it, so botocore parses the error and applies its own retry rules exactly
as for a real answer:

- ``propagation_window``: CreateStateMachine is refused with the IAM-propagation AccessDenied until
  that many seconds after the first CreateRole attempt;
- ``throttle_rate``: that share of attempts (drawn from a ``seed``-ed generator) gets the service's
  throttling error;
- ``latency``: ``{"ecs.DescribeTaskDefinition": 0.04, ...}``, seconds each attempt of an operation
  waits before it is sent, as the round trip to AWS would (moto on loopback answers in a few ms).

An invocation's event is ``{"bench": <control>, "event": <CloudFormation request>}``; the result is
the wall time of the code under test's handler, and what the injector saw.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from testkit.faults import PROPAGATION_ASSUME, Injector, Rule

INJECTOR = Injector().install()


def _arm(control: dict[str, Any]) -> None:
    INJECTOR.reset()
    INJECTOR.record = bool(control.get("record"))
    window = control.get("propagation_window")
    if window is not None:

        def refusing(_operation: str) -> bool:
            created = INJECTOR.first_attempt.get("iam.CreateRole")
            return created is None or time.monotonic() < created + float(window)

        INJECTOR.add(
            Rule(
                "sfn.CreateStateMachine",
                occurrence=0,
                code="AccessDeniedException",
                message=PROPAGATION_ASSUME,
                times=None,
                decide=refusing,
            )
        )
    for operation, seconds in (control.get("latency") or {}).items():
        INJECTOR.add(Rule(operation, occurrence=0, kind="slow", seconds=float(seconds), times=None))
    rate = float(control.get("throttle_rate") or 0.0)
    if rate:
        rng = random.Random(control.get("seed", 0))
        INJECTOR.add(
            Rule(
                "*", occurrence=0, times=None, message="Rate exceeded", decide=lambda _op: rng.random() < rate
            )
        )


TARGET = os.environ.get("BENCH_TARGET", "provider")
if TARGET == "provider":
    import app as _provider

    def _run(event: dict[str, Any], context: Any, control: dict[str, Any]) -> Any:
        _provider.lambda_handler(event, context)
elif TARGET == "follower":
    import follower_app as _follower

    def _run(event: dict[str, Any], context: Any, control: dict[str, Any]) -> Any:
        return _follower.lambda_handler(event, context)
else:
    import bench_minimal as _minimal

    def _run(event: dict[str, Any], context: Any, control: dict[str, Any]) -> Any:
        _minimal.handle(event, context, control.get("documents") or {})


def _peak_rss_kib() -> int:
    """The handler process's peak resident set so far (VmHWM): what Lambda reports as Max Memory Used."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    control = event.get("bench") or {}
    _arm(control)
    if control.get("noop"):
        return {"ready": True}
    started = time.perf_counter()
    returned = _run(event["event"], context, control)
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "peak_rss_kib": _peak_rss_kib(),
        "returned": returned,
        "calls": list(INJECTOR.log),
        "attempts": sum(INJECTOR.attempts.values()),
        "injected": sum(1 for entry in INJECTOR.timeline if entry[2]),
        "timeline": INJECTOR.timeline,
        "params": INJECTOR.params,
        "spans": INJECTOR.spans,
    }
