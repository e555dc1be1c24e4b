"""Make chosen AWS calls fail the way AWS fails them, and count every call, from botocore's events.

A `before-call` handler on boto3's default session sees every call of every client the handler
creates afterwards; returning an error response from it short-circuits the call: botocore raises
the same ClientError an AWS error answer would, without its own retries (tests/reliability's
injector works below botocore's retry loop when that matters).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

PROPAGATION_ASSUME = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume "
    "the provided role."
)
PROPAGATION_EVENTS = "'arn:aws:iam::123456789012:role/x' is not authorized to create managed-rule."


@dataclass
class Fault:
    operation: str  # e.g. "sfn.CreateStateMachine", "iam.PutRolePolicy", "ecs.DescribeClusters"
    code: str
    message: str
    times: int | None  # None: every call
    status: int = 400
    fired: int = 0


@dataclass
class Faults:
    calls: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def install(self) -> Faults:
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call", self._before_call)
        return self

    def fail(
        self,
        operation: str,
        code: str,
        message: str = "injected",
        times: int | None = None,
        status: int = 400,
    ) -> Fault:
        fault = Fault(operation, code, message, times, status)
        self.faults.append(fault)
        return fault

    def _before_call(self, model: Any, params: Any, event_name: str = "", **_: Any) -> Any:
        operation = ".".join(event_name.split(".")[1:3])
        self.calls[operation] += 1
        self.log.append(operation)
        for fault in self.faults:
            if fault.operation == operation and (fault.times is None or fault.fired < fault.times):
                fault.fired += 1
                response = AWSResponse("https://aws.invalid/", fault.status, {}, None)
                return response, {
                    "Error": {"Code": fault.code, "Message": fault.message},
                    "ResponseMetadata": {"HTTPStatusCode": fault.status},
                }
        return None

    def total(self) -> int:
        return sum(self.calls.values())
