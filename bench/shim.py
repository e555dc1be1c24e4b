"""The benchmark's handler module, loaded in the Lambda-like handler process as ``bench_shim``.

``tests.harness.lambda_runner`` imports ``$_HANDLER`` from a task root that holds the code under
test plus this file (and ``bench_minimal``). Before anything builds a client, a probe is registered
on boto3's default session, so it sees every AWS call the code makes:

- ``before-call`` counts API calls (one per client method call, whatever botocore retries);
- ``before-parameter-build`` records each call's parameters when asked (``record``);
- ``before-send`` counts HTTP attempts and can answer an attempt itself, the way AWS would answer
  it, so botocore parses the error and applies its own retry rules exactly as for a real answer:
  ``propagation_window`` refuses CreateStateMachine with the IAM-propagation AccessDenied until that
  many seconds after the first CreateRole; ``throttle_rate`` answers that share of attempts (drawn
  from a ``seed``-ed generator) with the service's throttling error.

An invocation's event is ``{"bench": <control>, "event": <CloudFormation request>}``; the result is
the wall time of the code under test's handler, and what the probe saw. Self-contained on purpose:
the handler process imports only from its task root, the standard library and site-packages.
"""

from __future__ import annotations

import copy
import json
import os
import random
import threading
import time
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

PROPAGATION_MESSAGE = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to "
    "assume the provided role."
)
# Services answering in XML (the query protocol); every other one here answers in JSON.
_QUERY_PROTOCOL = {"iam", "cloudformation"}


class _Raw:
    """The stream botocore reads an HTTP response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def aws_error(service: str, code: str, message: str, status: int = 400) -> AWSResponse:
    """An HTTP error answer in the service's own wire format."""
    if service in _QUERY_PROTOCOL:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    headers["x-amzn-RequestId"] = "00000000-0000-4000-8000-000000000000"
    return AWSResponse("https://aws.invalid/", status, headers, _Raw(body))


class Probe:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset({})

    def reset(self, control: dict[str, Any]) -> None:
        with self._lock:
            self.calls: list[str] = []
            self.params: list[list[Any]] = []
            self.attempts = 0
            self.timeline: list[list[Any]] = []  # [operation, seconds since reset, answered here]
            self.started = time.monotonic()
            self.injected = 0
            self.record = bool(control.get("record"))
            self.window = control.get("propagation_window")
            self.role_created_at: float | None = None
            self.throttle_rate = float(control.get("throttle_rate") or 0.0)
            self.rng = random.Random(control.get("seed", 0))

    @staticmethod
    def _operation(event_name: str) -> tuple[str, str]:
        parts = event_name.split(".")
        return parts[1], parts[2]

    def before_call(self, event_name: str = "", **_: Any) -> None:
        service, operation = self._operation(event_name)
        with self._lock:
            self.calls.append(f"{service}.{operation}")

    def before_parameter_build(self, params: dict[str, Any], event_name: str = "", **_: Any) -> None:
        if self.record:
            service, operation = self._operation(event_name)
            with self._lock:
                self.params.append([f"{service}.{operation}", copy.deepcopy(params)])

    def before_send(self, event_name: str = "", **_: Any) -> AWSResponse | None:
        service, operation = self._operation(event_name)
        now = time.monotonic()
        with self._lock:
            self.attempts += 1
            answer = self._answer(service, operation, now)
            self.timeline.append([f"{service}.{operation}", round(now - self.started, 4), answer is not None])
            if answer is not None:
                self.injected += 1
            return answer

    def _answer(self, service: str, operation: str, now: float) -> AWSResponse | None:
        if self.window is not None:
            if operation == "CreateRole" and self.role_created_at is None:
                self.role_created_at = now
            refusing = self.role_created_at is None or now < self.role_created_at + float(self.window)
            if operation == "CreateStateMachine" and refusing:
                return aws_error(service, "AccessDeniedException", PROPAGATION_MESSAGE)
        if self.throttle_rate and self.rng.random() < self.throttle_rate:
            code = "Throttling" if service in _QUERY_PROTOCOL else "ThrottlingException"
            return aws_error(service, code, "Rate exceeded")
        return None


PROBE = Probe()
boto3.setup_default_session()
_events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
_events.register("before-call", PROBE.before_call)
_events.register("before-parameter-build", PROBE.before_parameter_build)
_events.register("before-send", PROBE.before_send)

TARGET = os.environ.get("BENCH_TARGET", "provider")
if TARGET == "provider":
    import app as _provider

    def _run(event: dict[str, Any], context: Any, control: dict[str, Any]) -> None:
        _provider.lambda_handler(event, context)
else:
    import bench_minimal as _minimal

    def _run(event: dict[str, Any], context: Any, control: dict[str, Any]) -> None:
        _minimal.handle(event, context, control.get("documents") or {})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    control = event.get("bench") or {}
    PROBE.reset(control)
    if control.get("noop"):
        return {"ready": True}
    started = time.perf_counter()
    _run(event["event"], context, control)
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "calls": PROBE.calls,
        "attempts": PROBE.attempts,
        "injected": PROBE.injected,
        "timeline": PROBE.timeline,
        "params": PROBE.params,
    }
