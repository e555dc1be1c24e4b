"""CloudFormation's side of a custom resource, played for the tests, the benchmark and the demo:
requests, responses, its record, and the sequences it runs.

`Player` plays one resource of one stack. Requests are built from the sample events in ``events/``
(so those stay real, valid events), with fresh ids, the properties stringified the way
CloudFormation delivers them, and a ``ResponseURL`` the transport answers at. Around each request
CloudFormation's record (`testkit.stacks`) shows the resource waiting for it, then records the
answer. Every answer is checked for what CloudFormation requires of it. A transport
(`testkit.transports`) runs the handler: in this process, or in a Lambda-like process of its own.

The sequences CloudFormation runs around a request (`Player.create_operation` & co.):
- Create; if it FAILED, the stack rolls back with a Delete carrying the PhysicalResourceId of the
  failed response.
- Update; if it FAILED, the stack rolls back with an Update whose ResourceProperties and
  OldResourceProperties are swapped, for the PhysicalResourceId from before. If it succeeded with a
  new PhysicalResourceId (replacement), the cleanup phase deletes the old id with the old
  properties. Unchanged properties send no request at all.
- Delete.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from testkit import stacks
from testkit.estate import load_event
from testkit.moto_server import ACCOUNT_ID, REGION

RESOURCE_TYPE = "Custom::EcsStateMachine"
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_LENGTH = 1024
RESPONSE_KEYS = {
    "Status",
    "Reason",
    "PhysicalResourceId",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "NoEcho",
    "Data",
}
REQUIRED_RESPONSE_KEYS = {"Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId"}


def new_stack_id(name: str = "my-batch-stack") -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{uuid.uuid4()}"


def stringify(value: Any) -> Any:
    """A template value as CloudFormation hands it to a custom resource: every scalar a string.
    What a template cannot deliver (null) is refused rather than turned into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [stringify(item) for item in value]
    if isinstance(value, dict):
        return {str(key): stringify(item) for key, item in value.items()}
    raise TypeError(f"CloudFormation has no template value of type {type(value).__name__}")


class ResponseShapeError(AssertionError):
    pass


class NoResponseError(AssertionError):
    pass


def check_response(request: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The response body as CloudFormation reads it; raises ResponseShapeError listing every problem."""
    problems: list[str] = []
    if len(body) >= MAX_RESPONSE_BYTES:
        problems.append(f"body is {len(body)} bytes; CloudFormation needs it under {MAX_RESPONSE_BYTES}")
    try:
        response = json.loads(body)
    except ValueError as err:
        raise ResponseShapeError(f"body is not JSON ({err}): {body[:200]!r}") from err
    if not isinstance(response, dict):
        raise ResponseShapeError(f"body is not a JSON object: {body[:200]!r}")
    problems += _shape_problems(request, response)
    if problems:
        raise ResponseShapeError("; ".join(problems) + f"\nresponse: {response}")
    return response


def _shape_problems(request: dict[str, Any], response: dict[str, Any]) -> list[str]:
    problems = []
    if missing := REQUIRED_RESPONSE_KEYS - response.keys():
        problems.append(f"missing {sorted(missing)}")
    if unknown := response.keys() - RESPONSE_KEYS:
        problems.append(f"unknown keys {sorted(unknown)}")
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        problems.append(f"Status is {status!r}")
    if status == "FAILED" and not (isinstance(response.get("Reason"), str) and response["Reason"].strip()):
        problems.append("a FAILED response without a Reason")
    if status == "FAILED" and len(str(response.get("Reason"))) > 256:
        problems.append("a Reason over 256 characters (CloudFormation keeps its end only)")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if key in response and response[key] != request.get(key):
            problems.append(f"{key} is {response[key]!r}, the request's is {request.get(key)!r}")
    physical_id = response.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id.strip():
        problems.append(f"PhysicalResourceId is {physical_id!r}")
    elif len(physical_id) > MAX_PHYSICAL_ID_LENGTH:
        problems.append(f"PhysicalResourceId is {len(physical_id)} characters long")
    elif request.get("RequestType") == "Delete" and physical_id != request.get("PhysicalResourceId"):
        problems.append(
            f"Delete answered PhysicalResourceId {physical_id!r} for {request.get('PhysicalResourceId')!r}"
        )
    data = response.get("Data")
    if data is not None and (
        not isinstance(data, dict) or any(not isinstance(v, str) for v in data.values())
    ):
        problems.append(f"Data values that are not strings: {data!r}")
    if "NoEcho" in response and not isinstance(response["NoEcho"], bool):
        problems.append(f"NoEcho is {response['NoEcho']!r}")
    return problems


class Delivery(dict[str, Any]):
    """One request as CloudFormation saw it: the response it acted on (the mapping itself, empty if
    none reached it), the request, every invocation it took and every attempt that reached the
    ResponseURL."""

    def __init__(
        self,
        request: dict[str, Any],
        response: dict[str, Any] | None,
        invocations: list[Any] | None = None,
        attempts: list[Any] | None = None,
    ) -> None:
        super().__init__(response or {})
        self.request = request
        self.response = response
        self.invocations = invocations or []
        self.attempts = attempts or []

    @property
    def status(self) -> str | None:
        return self.response["Status"] if self.response else None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def physical_id(self) -> str | None:
        return self.response.get("PhysicalResourceId") if self.response else None

    @property
    def reason(self) -> str:
        return str((self.response or {}).get("Reason") or "")

    @property
    def data(self) -> dict[str, str]:
        return dict((self.response or {}).get("Data") or {})

    @property
    def logs(self) -> str:
        return "".join(invocation.logs for invocation in self.invocations)

    def describe(self) -> str:
        lines = [f"{self.request.get('RequestType')} {self.request.get('PhysicalResourceId', '')}".rstrip()]
        lines += [f"  response: {json.dumps(self.response)}"]
        for invocation in self.invocations:
            state = (
                "ok"
                if not invocation.failed
                else f"error {invocation.error and invocation.error['errorType']}"
            )
            lines.append(f"  invocation {invocation.request_id} ({state}, {invocation.duration_ms:.0f} ms)")
            lines += ["    " + line for line in invocation.logs.splitlines()[-40:]]
        return "\n".join(lines)


class Transport(Protocol):
    """Runs the handler for a request and collects what reached the ResponseURL."""

    service_token: str

    def response_url(self, stack_id: str, logical_id: str, request_id: str) -> str: ...

    def deliver(self, event: dict[str, Any], timeout_s: float | None = None) -> Delivery: ...


@dataclass
class Operation:
    """A stack operation on one resource: its requests in order and the state it ends in."""

    action: str
    outcome: str
    steps: list[Delivery] = field(default_factory=list)

    @property
    def first(self) -> Delivery:
        return self.steps[0]

    @property
    def last(self) -> Delivery:
        return self.steps[-1]

    def describe(self) -> str:
        return f"{self.action} -> {self.outcome}\n" + "\n".join(step.describe() for step in self.steps)


class Player:
    """CloudFormation, for one resource (`logical_id`) of one stack (`stack_id`)."""

    def __init__(
        self, transport: Transport, stack_id: str | None = None, logical_id: str = "NightlyBatch"
    ) -> None:
        self.transport = transport
        self.stack_id = stack_id or new_stack_id()
        self.logical_id = logical_id
        self.record = stacks.shared()
        # The live resource, as CloudFormation knows it (the sequences keep these).
        self.physical_id: str | None = None
        self.properties: dict[str, Any] | None = None

    # ------------------------------------------------------------------ single requests
    def event(self, request_type: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """``events/<type>.json`` with this request's values; `extra` overrides event fields."""
        event = load_event(
            request_type.lower() if request_type in ("Create", "Update", "Delete") else "create"
        )
        request_id = str(uuid.uuid4())
        event.pop("PhysicalResourceId", None)
        event.pop("OldResourceProperties", None)
        event.update(
            {
                "RequestType": request_type,
                "ServiceToken": self.transport.service_token,
                "ResponseURL": self.transport.response_url(self.stack_id, self.logical_id, request_id),
                "StackId": self.stack_id,
                "RequestId": request_id,
                "LogicalResourceId": self.logical_id,
                "ResourceType": RESOURCE_TYPE,
                "ResourceProperties": stringify({"ServiceToken": self.transport.service_token, **props}),
            }
        )
        if isinstance(extra.get("OldResourceProperties"), dict):
            extra["OldResourceProperties"] = stringify(
                {"ServiceToken": self.transport.service_token, **extra["OldResourceProperties"]}
            )
        event.update(extra)
        return event

    def send(self, event: dict[str, Any], timeout_s: float | None = None) -> Delivery:
        """Deliver `event` as CloudFormation does: its record shows the resource waiting for this
        request while the handler runs, and records the answer once it arrived."""
        self.record.waiting(event)
        delivered = self.deliver(event, timeout_s)
        self.record.heard(event, delivered.response)
        return delivered

    def deliver(self, event: dict[str, Any], timeout_s: float | None = None) -> Delivery:
        """Run the handler for `event`, leaving CloudFormation's record as it is (a forged or a late
        request). Asserts what CloudFormation requires: exactly one answer, of the right shape.
        `timeout_s`: the function's time for this invocation (in process only)."""
        delivered = self.transport.deliver(copy.deepcopy(event), timeout_s)
        if delivered.response is None:
            raise NoResponseError(
                "no response reached the ResponseURL: CloudFormation would wait for the resource's "
                "ServiceTimeout (one hour by default)\n" + delivered.describe()
            )
        return delivered

    def create(self, props: dict[str, Any], **extra: Any) -> Delivery:
        return self.send(self.event("Create", props, **extra))

    def update(self, physical_id: str, props: dict[str, Any], old: dict[str, Any], **extra: Any) -> Delivery:
        return self.send(
            self.event("Update", props, PhysicalResourceId=physical_id, OldResourceProperties=old, **extra)
        )

    def delete(self, physical_id: str, props: dict[str, Any], **extra: Any) -> Delivery:
        return self.send(self.event("Delete", props, PhysicalResourceId=physical_id, **extra))

    # ------------------------------------------------------------------ CloudFormation's sequences
    def create_operation(self, properties: dict[str, Any]) -> Operation:
        assert self.physical_id is None, "the resource exists already"
        operation = Operation("CREATE", "CREATE_COMPLETE", [self.create(properties)])
        if operation.first.succeeded:
            self.physical_id, self.properties = operation.first.physical_id, copy.deepcopy(properties)
            return operation
        rollback = self.delete(str(operation.first.physical_id), properties)
        operation.steps.append(rollback)
        operation.outcome = "ROLLBACK_COMPLETE" if rollback.succeeded else "ROLLBACK_FAILED"
        return operation

    def update_operation(self, properties: dict[str, Any]) -> Operation:
        assert self.physical_id is not None and self.properties is not None, "the resource does not exist"
        old_id, old_properties = self.physical_id, self.properties
        if stringify(properties) == stringify(old_properties):
            return Operation("UPDATE", "NO_CHANGES")
        operation = Operation("UPDATE", "UPDATE_COMPLETE", [self.update(old_id, properties, old_properties)])
        if operation.first.succeeded:
            new_id = operation.first.physical_id
            if new_id != old_id:
                # Replacement: the old resource goes in the cleanup phase; a failure there is only a warning.
                operation.steps.append(self.delete(old_id, old_properties))
            self.physical_id, self.properties = new_id, copy.deepcopy(properties)
            return operation
        rollback = self.update(old_id, old_properties, properties)
        operation.steps.append(rollback)
        operation.outcome = "UPDATE_ROLLBACK_COMPLETE" if rollback.succeeded else "UPDATE_ROLLBACK_FAILED"
        return operation

    def delete_operation(self) -> Operation:
        assert self.physical_id is not None and self.properties is not None, "the resource does not exist"
        step = self.delete(self.physical_id, self.properties)
        operation = Operation("DELETE", "DELETE_COMPLETE" if step.succeeded else "DELETE_FAILED", [step])
        if step.succeeded:
            self.physical_id = self.properties = None
        return operation
