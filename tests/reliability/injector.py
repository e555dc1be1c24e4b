"""Fail chosen AWS calls on the wire, below botocore's own retries, and count every attempt.

`tests.faults.Faults` answers from botocore's `before-call` event, which short-circuits the call
before botocore's retry loop: an injected throttle there reaches the provider on the first try.
`WireFaults` keeps that class's call log (`log`, `calls`) and adds rules that act once per HTTP
attempt, in front of moto's `before-send` stub (which stands in for the network: botocore calls
every `before-send` handler, so the rule must wrap moto's stub rather than run beside it, or moto
would still apply the request it "failed"). So a throttle injected 6 times is
first retried by botocore (standard mode, 5 attempts), then by the provider's `Aws.call`, as it
would be against AWS. A rule targets one *occurrence* of an operation (the n-th API call of it in
the request), which is how the fault matrix makes "the call at position k" fail.

Error bodies are encoded per protocol (JSON for ECS and Step Functions, query XML for IAM), so
botocore parses them into the same `ClientError` an AWS answer would give.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber

from tests.faults import Faults

QUERY_PROTOCOL = {"iam", "cloudformation"}


class Crash(BaseException):
    """The Lambda process died (killed, out of memory): not an Exception, so nothing in the
    provider catches it, and once raised every later AWS call dies too (no cleanup happens)."""


class _Raw:
    """What botocore reads an HTTP body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class Rule:
    operation: str  # "sfn.CreateStateMachine", "iam.PutRolePolicy", "ecs.DescribeClusters"
    occurrence: int = 1  # arm on the n-th API call of `operation` in the request (1-based)
    kind: str = "error"  # "error" | "connection" | "lost" (applied, answer lost) | "slow" | "crash"
    code: str = ""
    message: str = "injected"
    status: int = 400
    times: int | None = 1  # HTTP attempts to spoil once armed; None: every attempt from then on
    seconds: float = 0.0  # for "slow": how long the attempt hangs before it goes through
    armed: bool = False
    fired: int = 0


@dataclass
class WireFaults(Faults):
    rules: list[Rule] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    dead: bool = False  # after a "crash" rule fired, every attempt raises Crash

    def install(self) -> WireFaults:
        """Log calls on boto3's default session; put the rules in front of moto's stub (undo with
        `uninstall`)."""
        super().install()
        injector = self
        self._moto_call = moto_call = BotocoreStubber.__call__

        def in_front_of_moto(stub: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if not stub.enabled:
                return None
            return injector._attempt(
                event_name, request, lambda: moto_call(stub, event_name, request, **kwargs)
            )

        BotocoreStubber.__call__ = in_front_of_moto  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        BotocoreStubber.__call__ = self._moto_call  # type: ignore[method-assign]
        boto3.DEFAULT_SESSION = None

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def reset(self) -> None:
        """Forget the log, counts and rules (between requests)."""
        self.rules.clear()
        self.faults.clear()
        self.log.clear()
        self.calls.clear()
        self.attempts.clear()
        self.dead = False

    # ------------------------------------------------------------------ botocore events
    def _before_call(self, model: Any, params: Any, event_name: str = "", **kwargs: Any) -> Any:
        answer = super()._before_call(model, params, event_name=event_name, **kwargs)
        operation = ".".join(event_name.split(".")[1:3])
        for rule in self.rules:
            if rule.operation == operation and self.calls[operation] == rule.occurrence:
                rule.armed = True
        return answer

    def _attempt(self, event_name: str, request: Any, through: Callable[[], Any]) -> Any:
        """One HTTP attempt: spoilt by the first armed rule for its operation, else sent to moto."""
        operation = ".".join(event_name.split(".")[1:3])
        self.attempts[operation] += 1
        if self.dead:
            raise Crash(operation)
        for rule in self.rules:
            if rule.operation != operation or not rule.armed:
                continue
            if rule.times is not None and rule.fired >= rule.times:
                continue
            rule.fired += 1
            if rule.kind == "slow":
                time.sleep(rule.seconds)
                return through()
            if rule.kind == "connection":
                raise EndpointConnectionError(endpoint_url=request.url)
            if rule.kind == "crash":
                # AWS applies the request, then the process dies before it hears back.
                through()
                self.dead = True
                raise Crash(operation)
            if rule.kind == "lost":
                # AWS applies the request, then the answer never arrives: botocore retries it.
                through()
                raise ReadTimeoutError(endpoint_url=request.url)
            return self._error_response(operation, rule, request)
        return through()

    @staticmethod
    def _error_response(operation: str, rule: Rule, request: Any) -> AWSResponse:
        service = operation.split(".", 1)[0]
        if service in QUERY_PROTOCOL:
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{rule.code}</Code><Message>{_xml(rule.message)}</Message>"
                "</Error><RequestId>injected</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        else:
            body = json.dumps({"__type": rule.code, "message": rule.message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "injected"}
        return AWSResponse(request.url, rule.status, headers, _Raw(body))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
