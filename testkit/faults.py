"""Fail chosen AWS calls the way AWS fails them, and count every call and every HTTP attempt, from
botocore's events on boto3's default session (every client the provider makes).

One injector for every place the provider runs:
- moto in process (`mock_aws`): moto answers from a `before-send` stub that botocore calls whatever
  other handlers answer, so a rule must act *in front of* that stub, or moto would still apply the
  request it "failed"; `install()` wraps the stub;
- a real HTTP endpoint (a moto server, the CloudFormation stand-in): a `before-send` handler.
Either way a rule acts once per HTTP attempt, below botocore's own retries: a throttle injected six
times is first retried by botocore (standard mode, 3 attempts), then by the provider's `Aws.call`,
as it would be against AWS. A rule targets one *occurrence* of an operation (the n-th API call of it
in the request), which is how a fault matrix makes "the call at position k" fail.

Error bodies are encoded per protocol (query XML for IAM and CloudFormation, JSON for the others),
so botocore parses them into the same `ClientError` an AWS answer would give.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from ecs_state_machine.base.errors import PROPAGATION_MESSAGES

QUERY_PROTOCOL = {"iam", "cloudformation"}
EC2_PROTOCOL = {
    "ec2"
}  # EC2's own query protocol: its errors in <Response><Errors>, throttling as RequestLimitExceeded
PROPAGATION_ASSUME = PROPAGATION_MESSAGES[0] + "."
PROPAGATION_EVENTS = f"'arn:aws:iam::123456789012:role/x' {PROPAGATION_MESSAGES[1]}."
PROPAGATION_LOGS = (
    f"The state machine IAM Role {PROPAGATION_MESSAGES[2]} "
    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/nightly:*"
)


class Crash(BaseException):
    """The Lambda process died (killed, out of memory): not an Exception, so nothing in the
    provider catches it, and once raised every later AWS call dies too (no cleanup happens)."""


@dataclass
class Rule:
    operation: (
        str  # "sfn.CreateStateMachine", "iam.PutRolePolicy", "cloudformation.DescribeStackResource"; "*": any
    )
    occurrence: int = 1  # arm on the n-th API call of `operation` (1-based); 0: armed from the start
    kind: str = "error"  # "error" | "connection" | "lost" (applied, answer lost) | "slow" | "crash"
    code: str = ""  # "": the service's own throttling code
    message: str = "injected"
    status: int = 400
    times: int | None = 1  # HTTP attempts to spoil once armed; None: every attempt from then on
    seconds: float = 0.0  # for "slow": how long the attempt hangs before it goes through
    decide: Callable[[str], bool] | None = None  # per attempt, given the operation: spoil this one?
    armed: bool = False
    fired: int = 0

    def applies(self, operation: str) -> bool:
        return self.operation in (operation, "*")


class _Raw:
    """What botocore reads an HTTP body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def error_response(
    service: str, code: str, message: str, status: int = 400, url: str = "https://aws.invalid/"
) -> AWSResponse:
    """An HTTP error answer in the service's own wire format."""
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if service in EC2_PROTOCOL:
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{escaped}</Message></Error></Errors>"
            "<RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    elif service in QUERY_PROTOCOL:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escaped}</Message>"
            "</Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    headers["x-amzn-RequestId"] = "00000000-0000-4000-8000-000000000000"
    return AWSResponse(url, status, headers, _Raw(body))


def _operation(event_name: str) -> str:
    return ".".join(event_name.split(".")[1:3])


@dataclass
class Injector:
    calls: Counter[str] = field(default_factory=Counter)  # API calls, by "service.Operation"
    log: list[str] = field(default_factory=list)  # API calls in order
    attempts: Counter[str] = field(default_factory=Counter)  # HTTP attempts
    timeline: list[list[Any]] = field(default_factory=list)  # [operation, seconds since reset, spoilt]
    first_attempt: dict[str, float] = field(default_factory=dict)  # monotonic time, by operation
    params: list[list[Any]] = field(default_factory=list)  # [operation, parameters] when `record`
    spans: list[list[Any]] = field(default_factory=list)  # [operation, start, end] (s since reset)
    rules: list[Rule] = field(default_factory=list)
    record: bool = False
    dead: bool = False  # after a "crash" rule fired, every attempt raises Crash
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()
        self._moto_call: Any = None

    # ------------------------------------------------------------------ installing
    def install(self) -> Injector:
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        events = boto3.DEFAULT_SESSION.events
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        events.register("after-call-error", self._after_call)
        events.register("before-parameter-build", self._before_parameter_build)
        events.register("before-send", self._before_send)
        stubber = sys.modules.get("moto.core.botocore_stubber")
        if stubber is None:  # no moto in this process: every request goes over HTTP
            return self
        BotocoreStubber = stubber.BotocoreStubber
        injector = self
        self._moto_call = moto_call = BotocoreStubber.__call__

        def in_front_of_moto(stub: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if not stub.enabled:
                return None
            injector._local.handled = id(request)
            return injector._attempt(
                event_name, request, lambda: moto_call(stub, event_name, request, **kwargs)
            )

        BotocoreStubber.__call__ = in_front_of_moto
        return self

    def uninstall(self) -> None:
        if self._moto_call is not None:
            sys.modules["moto.core.botocore_stubber"].BotocoreStubber.__call__ = self._moto_call
        boto3.DEFAULT_SESSION = None

    # ------------------------------------------------------------------ rules
    def add(self, rule: Rule) -> Rule:
        with self._lock:
            rule.armed = rule.armed or rule.occurrence == 0
            self.rules.append(rule)
        return rule

    def fail(
        self,
        operation: str,
        code: str,
        message: str = "injected",
        times: int | None = None,
        status: int = 400,
    ) -> Rule:
        """Every attempt of `operation` (or the first `times`) answered with an AWS error."""
        return self.add(Rule(operation, occurrence=0, code=code, message=message, times=times, status=status))

    def reset(self) -> None:
        """Forget the log, counts and rules (between requests)."""
        with self._lock:
            self.rules.clear()
            self.log.clear()
            self.calls.clear()
            self.attempts.clear()
            self.timeline.clear()
            self.first_attempt.clear()
            self.params.clear()
            self.spans.clear()
            self.dead = False
            self.started = time.monotonic()

    def total(self) -> int:
        return sum(self.calls.values())

    # ------------------------------------------------------------------ botocore events
    def _before_call(self, event_name: str = "", context: Any = None, **_: Any) -> None:
        operation = _operation(event_name)
        if isinstance(context, dict):
            context["injector_started"] = time.monotonic()
        with self._lock:
            self.calls[operation] += 1
            self.log.append(operation)
            for rule in self.rules:
                if (
                    rule.applies(operation)
                    and rule.operation != "*"
                    and self.calls[operation] == rule.occurrence
                ):
                    rule.armed = True

    def _after_call(self, event_name: str = "", context: Any = None, **_: Any) -> None:
        """How long each API call took, retries included (its span in the request's time)."""
        began = context.get("injector_started") if isinstance(context, dict) else None
        if began is not None:
            with self._lock:
                self.spans.append(
                    [
                        _operation(event_name),
                        round(began - self.started, 4),
                        round(time.monotonic() - self.started, 4),
                    ]
                )

    def _before_parameter_build(self, params: dict[str, Any], event_name: str = "", **_: Any) -> None:
        if self.record:
            with self._lock:
                self.params.append([_operation(event_name), copy.deepcopy(params)])

    def _before_send(self, event_name: str = "", request: Any = None, **_: Any) -> Any:
        if getattr(self._local, "handled", None) == id(request):
            return None  # moto in process answered it, behind this injector already
        return self._attempt(event_name, request, lambda: None)

    def _attempt(self, event_name: str, request: Any, through: Callable[[], Any]) -> Any:
        """One HTTP attempt: spoilt by the first armed rule for its operation, else sent on."""
        operation = _operation(event_name)
        now = time.monotonic()
        with self._lock:
            self.attempts[operation] += 1
            self.first_attempt.setdefault(operation, now)
            if self.dead:
                raise Crash(operation)
            rule = next((r for r in self.rules if self._spoils(r, operation)), None)
            self.timeline.append([operation, round(now - self.started, 4), rule is not None])
            if rule is not None:
                rule.fired += 1
        if rule is None:
            return through()
        return self._spoil(rule, operation, request, through)

    def _spoils(self, rule: Rule, operation: str) -> bool:
        if not rule.applies(operation) or not rule.armed:
            return False
        if rule.times is not None and rule.fired >= rule.times:
            return False
        return rule.decide is None or rule.decide(operation)

    def _spoil(self, rule: Rule, operation: str, request: Any, through: Callable[[], Any]) -> Any:
        url = getattr(request, "url", "https://aws.invalid/")
        if rule.kind == "slow":
            time.sleep(rule.seconds)
            return through()
        if rule.kind == "connection":
            raise EndpointConnectionError(endpoint_url=url)
        if rule.kind == "crash":
            # AWS applies the request, then the process dies before it hears back.
            through()
            self.dead = True
            raise Crash(operation)
        if rule.kind == "lost":
            # AWS applies the request, then the answer never arrives: botocore retries it.
            through()
            raise ReadTimeoutError(endpoint_url=url)
        service = operation.split(".", 1)[0]
        code = rule.code or (
            "RequestLimitExceeded"
            if service in EC2_PROTOCOL
            else "Throttling"
            if service in QUERY_PROTOCOL
            else "ThrottlingException"
        )
        return error_response(service, code, rule.message, rule.status, url)
