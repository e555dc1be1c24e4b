"""CloudFormation's side of a custom resource: requests, responses, and the sequences it runs.

Requests are built from the sample events in ``events/`` (so those stay real, valid events), with
fresh ids, a ``ResponseURL`` on the ``ResponseListener`` and the properties stringified the way
CloudFormation delivers them. Each request is an asynchronous Lambda invocation: a function error
(exception, timeout, crash) is retried twice with the same event, as Lambda does. CloudFormation's
view of the outcome is the first response that the listener accepted (answered 2xx); every response
is checked for the shape CloudFormation requires.

``CustomResource`` runs the sequences CloudFormation runs around a single resource:

- Create; if it FAILED, the stack rolls back with a Delete carrying the PhysicalResourceId of the
  failed response.
- Update; if it FAILED, the stack rolls back with an Update whose ResourceProperties and
  OldResourceProperties are swapped, for the PhysicalResourceId from before. If it succeeded with a
  new PhysicalResourceId (replacement), the cleanup phase deletes the old id with the old properties.
  Unchanged properties send no request at all.
- Delete.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import stacks
from tests.harness.lambda_runner import Invocation, LambdaFunction
from tests.harness.moto_server import ACCOUNT_ID, REGION, REPO_ROOT
from tests.harness.response_listener import Attempt, ResponseListener

EVENTS_DIR = REPO_ROOT / "events"
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
LAMBDA_ASYNC_RETRIES = 2


def stringify(value: Any) -> Any:
    """A template value as CloudFormation hands it to a custom resource: every scalar a string."""
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


def load_event(name: str, directory: Path = EVENTS_DIR) -> dict:
    """``events/<name>.json`` (``create``, ``update`` or ``delete``)."""
    return json.loads((directory / f"{name}.json").read_text())


def substitute(value: Any, replacements: dict[str, str]) -> Any:
    """``value`` with every string equal to a key of ``replacements`` replaced, recursively."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, list):
        return [substitute(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, replacements) for key, item in value.items()}
    return value


class ResponseShapeError(AssertionError):
    pass


class NoResponseError(AssertionError):
    pass


def check_response(request: dict, body: bytes) -> dict:
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
    if missing := REQUIRED_RESPONSE_KEYS - response.keys():
        problems.append(f"missing {sorted(missing)}")
    if unknown := response.keys() - RESPONSE_KEYS:
        problems.append(f"unknown keys {sorted(unknown)}")
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        problems.append(f"Status is {status!r}")
    if status == "FAILED" and not (isinstance(response.get("Reason"), str) and response["Reason"].strip()):
        problems.append("a FAILED response without a Reason")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if key in response and response[key] != request[key]:
            problems.append(f"{key} is {response[key]!r}, the request's is {request[key]!r}")
    physical_id = response.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id.strip():
        problems.append(f"PhysicalResourceId is {physical_id!r}")
    elif len(physical_id) > MAX_PHYSICAL_ID_LENGTH:
        problems.append(f"PhysicalResourceId is {len(physical_id)} characters long")
    elif request["RequestType"] == "Delete" and physical_id != request["PhysicalResourceId"]:
        problems.append(
            f"Delete answered PhysicalResourceId {physical_id!r} for {request['PhysicalResourceId']!r}"
        )
    data = response.get("Data")
    if data is not None:
        if not isinstance(data, dict):
            problems.append(f"Data is a {type(data).__name__}")
        else:
            not_strings = {k: v for k, v in data.items() if not isinstance(v, str)}
            if not_strings:
                problems.append(f"Data values that are not strings: {not_strings}")
    if "NoEcho" in response and not isinstance(response["NoEcho"], bool):
        problems.append(f"NoEcho is {response['NoEcho']!r}")
    if problems:
        raise ResponseShapeError("; ".join(problems) + f"\nresponse: {response}")
    return response


@dataclass
class Step:
    """One request, the invocations it took, and what came back."""

    request: dict
    invocations: list[Invocation]
    attempts: list[Attempt]
    response: dict | None  # the response CloudFormation acted on

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
        return (self.response or {}).get("Reason") or ""

    @property
    def data(self) -> dict:
        return (self.response or {}).get("Data") or {}

    @property
    def logs(self) -> str:
        return "".join(invocation.logs for invocation in self.invocations)

    def describe(self) -> str:
        lines = [f"{self.request['RequestType']} {self.request.get('PhysicalResourceId', '')}".rstrip()]
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


@dataclass
class Operation:
    """A stack operation on one resource: its requests in order and the state it ends in."""

    action: str
    outcome: str
    steps: list[Step] = field(default_factory=list)

    @property
    def first(self) -> Step:
        return self.steps[0]

    @property
    def last(self) -> Step:
        return self.steps[-1]

    def describe(self) -> str:
        return f"{self.action} -> {self.outcome}\n" + "\n".join(step.describe() for step in self.steps)


class CloudFormation:
    def __init__(
        self,
        function: LambdaFunction,
        listener: ResponseListener,
        *,
        response_grace_seconds: float = 5.0,
        async_retries: int = LAMBDA_ASYNC_RETRIES,
    ) -> None:
        self.function = function
        self.listener = listener
        self.response_grace_seconds = response_grace_seconds
        self.async_retries = async_retries

    def stack(self, name: str = "my-batch-stack") -> Stack:
        return Stack(self, name)

    def request(
        self,
        request_type: str,
        *,
        stack_id: str,
        logical_id: str,
        properties: dict,
        physical_id: str | None = None,
        old_properties: dict | None = None,
    ) -> dict:
        """A request event: ``events/<type>.json`` with this request's values."""
        event = load_event(request_type.lower())
        request_id = str(uuid.uuid4())
        token = self.function.arn
        event.update(
            {
                "RequestType": request_type,
                "ServiceToken": token,
                "ResponseURL": self.listener.response_url(stack_id, logical_id, request_id),
                "StackId": stack_id,
                "RequestId": request_id,
                "LogicalResourceId": logical_id,
                "ResourceType": RESOURCE_TYPE,
                "ResourceProperties": {"ServiceToken": token, **stringify(properties)},
            }
        )
        event.pop("PhysicalResourceId", None)
        event.pop("OldResourceProperties", None)
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = {"ServiceToken": token, **stringify(old_properties)}
        return event

    def send(self, request: dict) -> Step:
        """Invoke the function asynchronously with ``request`` and collect the response; CloudFormation's
        record shows the resource waiting for it meanwhile, and records the answer."""
        record = stacks.shared()
        record.waiting(request)
        step = self.deliver(request)
        record.heard(request, step.response)
        return step

    def deliver(self, request: dict) -> Step:
        """Invoke the function with ``request``, leaving CloudFormation's record as it is."""
        invocations = []
        for _ in range(1 + self.async_retries):
            invocation = self.function.invoke(copy.deepcopy(request))
            invocations.append(invocation)
            if not invocation.failed:
                break
        attempts = self.listener.wait_for(request["RequestId"], 1, timeout=self.response_grace_seconds)
        accepted = [a for a in attempts if isinstance(a.answered, int) and 200 <= a.answered < 300]
        response = check_response(request, accepted[0].body) if accepted else None
        for later in accepted[1:]:
            check_response(request, later.body)
        return Step(request=request, invocations=invocations, attempts=attempts, response=response)


class Stack:
    def __init__(self, cloudformation: CloudFormation, name: str) -> None:
        self.cloudformation = cloudformation
        self.name = name
        self.stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{uuid.uuid1()}"

    def resource(self, logical_id: str = "NightlyBatch") -> CustomResource:
        return CustomResource(self, logical_id)


class CustomResource:
    def __init__(self, stack: Stack, logical_id: str) -> None:
        self.stack = stack
        self.logical_id = logical_id
        self.physical_id: str | None = None
        self.properties: dict | None = None  # template values of the live resource

    def _send(
        self, request_type: str, properties: dict, physical_id: str | None = None, old: dict | None = None
    ) -> Step:
        cloudformation = self.stack.cloudformation
        step = cloudformation.send(
            cloudformation.request(
                request_type,
                stack_id=self.stack.stack_id,
                logical_id=self.logical_id,
                properties=properties,
                physical_id=physical_id,
                old_properties=old,
            )
        )
        if step.response is None:
            raise NoResponseError(
                "no response reached the ResponseURL: CloudFormation would wait for the resource's "
                "ServiceTimeout (one hour by default)\n" + step.describe()
            )
        return step

    def create(self, properties: dict) -> Operation:
        assert self.physical_id is None, "the resource exists already"
        operation = Operation("CREATE", "CREATE_COMPLETE", [self._send("Create", properties)])
        if operation.first.succeeded:
            self.physical_id, self.properties = operation.first.physical_id, copy.deepcopy(properties)
            return operation
        rollback = self._send("Delete", properties, physical_id=operation.first.physical_id)
        operation.steps.append(rollback)
        operation.outcome = "ROLLBACK_COMPLETE" if rollback.succeeded else "ROLLBACK_FAILED"
        return operation

    def update(self, properties: dict) -> Operation:
        assert self.physical_id is not None and self.properties is not None, "the resource does not exist"
        old_id, old_properties = self.physical_id, self.properties
        if stringify(properties) == stringify(old_properties):
            return Operation("UPDATE", "NO_CHANGES")
        operation = Operation(
            "UPDATE", "UPDATE_COMPLETE", [self._send("Update", properties, old_id, old_properties)]
        )
        if operation.first.succeeded:
            new_id = operation.first.physical_id
            if new_id != old_id:
                # Replacement: the old resource goes in the cleanup phase; a failure there is only a warning.
                operation.steps.append(self._send("Delete", old_properties, physical_id=old_id))
            self.physical_id, self.properties = new_id, copy.deepcopy(properties)
            return operation
        rollback = self._send("Update", old_properties, old_id, properties)
        operation.steps.append(rollback)
        operation.outcome = "UPDATE_ROLLBACK_COMPLETE" if rollback.succeeded else "UPDATE_ROLLBACK_FAILED"
        return operation

    def delete(self) -> Operation:
        assert self.physical_id is not None and self.properties is not None, "the resource does not exist"
        step = self._send("Delete", self.properties, physical_id=self.physical_id)
        operation = Operation("DELETE", "DELETE_COMPLETE" if step.succeeded else "DELETE_FAILED", [step])
        if step.succeeded:
            self.physical_id = self.properties = None
        return operation
