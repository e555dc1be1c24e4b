"""CloudFormation's own record of stacks and resources, served over HTTP as CloudFormation serves it.

The provider confirms every request with `DescribeStackResource` (and `DescribeStacks` for a
replacement's cleanup) before it changes anything. `Stacks` is that record for the tests: a small
HTTP server speaking CloudFormation's query protocol, reached by the provider through botocore's
standard `AWS_ENDPOINT_URL_CLOUDFORMATION`, whatever else answers for the other services (moto in
process, or a moto server).

The players move the record the way CloudFormation does around each request (`waiting` before
the request is delivered, `heard` once its response arrived):

| request | while CloudFormation waits | once it has the answer |
|---|---|---|
| Create | resource CREATE_IN_PROGRESS, no physical id | CREATE_COMPLETE / CREATE_FAILED, the answered id |
| Update (and rollback Update) | UPDATE_IN_PROGRESS, the current id | UPDATE_COMPLETE (the answered id) / UPDATE_FAILED |
| Delete of the current id | DELETE_IN_PROGRESS, that id | DELETE_COMPLETE / DELETE_FAILED |
| Delete of an older id (replacement) | stack UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (after a rollback, UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS); the resource keeps its record | unchanged |

A test that plays an attacker sets the record itself (`put`) and delivers its own event without
moving it.
"""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

RESOURCE_TYPE = "Custom::EcsStateMachine"
NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


@dataclass
class Resource:
    logical_id: str
    status: str
    physical_id: str | None = None
    resource_type: str = RESOURCE_TYPE


@dataclass
class Stack:
    stack_id: str
    status: str
    resources: dict[str, Resource] = field(default_factory=dict)
    template: str = ""  # the deployed template (GetTemplate)
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.stack_id.split(":stack/", 1)[-1].split("/", 1)[0]


Hook = Callable[["Stacks", str, dict[str, str]], Any]


class Stacks:
    """The record, and the server that answers from it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.stacks: dict[str, Stack] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.hooks: list[Hook] = []
        self.exports: dict[str, tuple[str, str]] = {}  # name -> (value, exporting stack id)
        self._server: http.server.ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ the record
    def put(
        self,
        stack_id: str,
        logical_id: str,
        *,
        status: str,
        physical_id: str | None = None,
        resource_type: str = RESOURCE_TYPE,
        stack_status: str | None = None,
    ) -> Resource:
        with self._lock:
            stack = self.stacks.setdefault(stack_id, Stack(stack_id, stack_status or "CREATE_COMPLETE"))
            if stack_status:
                stack.status = stack_status
            resource = Resource(logical_id, status, physical_id, resource_type)
            stack.resources[logical_id] = resource
            return resource

    def deployed(
        self,
        stack_id: str,
        template: str,
        parameters: dict[str, str] | None = None,
        outputs: dict[str, str] | None = None,
        resources: dict[str, tuple[str, str]] | None = None,
    ) -> Stack:
        """A stack as a deploy leaves it: its template, parameters, outputs and (besides the custom
        resources a player records) other resources, `logical id -> (type, physical id)`."""
        with self._lock:
            stack = self.stacks.setdefault(stack_id, Stack(stack_id, "CREATE_COMPLETE"))
            stack.template, stack.parameters, stack.outputs = (
                template,
                dict(parameters or {}),
                dict(outputs or {}),
            )
            for logical_id, (resource_type, physical_id) in (resources or {}).items():
                stack.resources[logical_id] = Resource(
                    logical_id, "CREATE_COMPLETE", physical_id, resource_type
                )
            return stack

    def resource(self, stack_id: str, logical_id: str) -> Resource | None:
        with self._lock:
            stack = self.stacks.get(stack_id)
            return stack.resources.get(logical_id) if stack else None

    def stack_status(self, stack_id: str) -> str | None:
        with self._lock:
            stack = self.stacks.get(stack_id)
            return stack.status if stack else None

    def set_stack_status(self, stack_id: str, status: str) -> None:
        with self._lock:
            self.stacks[stack_id].status = status

    def clear(self) -> None:
        with self._lock:
            self.stacks.clear()
            self.calls.clear()
            self.hooks.clear()
            self.exports.clear()

    def waiting(self, event: dict[str, Any]) -> None:
        """What CloudFormation shows while it waits for the answer to `event`."""
        stack_id, logical_id = str(event.get("StackId")), str(event.get("LogicalResourceId"))
        request_type = event.get("RequestType")
        event_id = event.get("PhysicalResourceId")
        event_id = None if event_id is None else str(event_id)
        resource_type = (
            event.get("ResourceType") if isinstance(event.get("ResourceType"), str) else RESOURCE_TYPE
        )
        with self._lock:
            stack = self.stacks.get(stack_id)
            current = stack.resources.get(logical_id) if stack else None
            if request_type == "Create":
                status = "CREATE_IN_PROGRESS" if stack is None else "UPDATE_IN_PROGRESS"
                self.put(
                    stack_id,
                    logical_id,
                    status="CREATE_IN_PROGRESS",
                    resource_type=resource_type,
                    stack_status=status,
                )
            elif request_type == "Update":
                rolling_back = stack is not None and stack.status.startswith("UPDATE_ROLLBACK")
                self.put(
                    stack_id,
                    logical_id,
                    status="UPDATE_IN_PROGRESS",
                    physical_id=event_id,
                    resource_type=resource_type,
                    stack_status="UPDATE_ROLLBACK_IN_PROGRESS" if rolling_back else "UPDATE_IN_PROGRESS",
                )
            elif request_type == "Delete":
                physical_id = event_id
                replaced = (
                    current is not None
                    and current.physical_id not in (None, physical_id)
                    and not current.status.startswith("DELETE")
                    and not current.status.startswith("CREATE_FAILED")
                )
                if replaced:
                    assert stack is not None
                    stack.status = (
                        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
                        if stack.status.startswith("UPDATE_ROLLBACK")
                        else "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
                    )
                else:
                    self.put(
                        stack_id,
                        logical_id,
                        status="DELETE_IN_PROGRESS",
                        physical_id=physical_id,
                        resource_type=resource_type,
                        stack_status="DELETE_IN_PROGRESS",
                    )

    def heard(self, event: dict[str, Any], response: dict[str, Any] | None) -> None:
        """What CloudFormation records once `response` (None: no answer in time) reached it."""
        stack_id, logical_id = str(event.get("StackId")), str(event.get("LogicalResourceId"))
        with self._lock:
            stack = self.stacks.get(stack_id)
            resource = stack.resources.get(logical_id) if stack else None
            if stack is None or resource is None:
                return
            succeeded = bool(response) and response.get("Status") == "SUCCESS"
            answered_id = (response or {}).get("PhysicalResourceId") or resource.physical_id
            request_type = event.get("RequestType")
            if request_type == "Create":
                resource.status = "CREATE_COMPLETE" if succeeded else "CREATE_FAILED"
                resource.physical_id = answered_id
                stack.status = "CREATE_COMPLETE" if succeeded else "ROLLBACK_IN_PROGRESS"
            elif request_type == "Update":
                rolling_back = stack.status.startswith("UPDATE_ROLLBACK")
                resource.status = "UPDATE_COMPLETE" if succeeded else "UPDATE_FAILED"
                if succeeded:
                    resource.physical_id = answered_id
                if rolling_back:
                    stack.status = "UPDATE_ROLLBACK_COMPLETE" if succeeded else "UPDATE_ROLLBACK_FAILED"
                else:
                    stack.status = "UPDATE_COMPLETE" if succeeded else "UPDATE_ROLLBACK_IN_PROGRESS"
            elif request_type == "Delete":
                if stack.status.endswith("CLEANUP_IN_PROGRESS"):
                    stack.status = stack.status.replace("_CLEANUP_IN_PROGRESS", "")
                else:
                    resource.status = "DELETE_COMPLETE" if succeeded else "DELETE_FAILED"

    # ------------------------------------------------------------------ the server
    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Stacks:
        record = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = record.answer(form)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Stacks:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, form: dict[str, str]) -> tuple[int, str]:
        action = form.get("Action", "")
        with self._lock:
            self.calls.append((action, form))
            for hook in list(self.hooks):
                answered = hook(self, action, form)
                if answered is not None:
                    return answered
            if action == "DescribeStackResource":
                return self._describe_stack_resource(form)
            if action == "DescribeStacks":
                return self._describe_stacks(form)
            if action == "DescribeStackResources":
                return self._describe_stack_resources(form)
            if action == "GetTemplate":
                return self._get_template(form)
            if action == "ListExports":
                return self._list_exports()
        return error(400, "InvalidAction", f"{action} is not served by this stand-in")

    def _find(self, name: str) -> Stack | None:
        if name in self.stacks:
            return self.stacks[name]
        live = [s for s in self.stacks.values() if s.name == name and s.status != "DELETE_COMPLETE"]
        return live[0] if live else None

    def _describe_stack_resource(self, form: dict[str, str]) -> tuple[int, str]:
        name, logical_id = form.get("StackName", ""), form.get("LogicalResourceId", "")
        stack = self._find(name)
        if stack is None:
            return error(400, "ValidationError", f"Stack '{name}' does not exist")
        resource = stack.resources.get(logical_id)
        if resource is None:
            return error(
                400, "ValidationError", f"Resource {logical_id} does not exist for stack {stack.name}"
            )
        physical = (
            f"<PhysicalResourceId>{escape(resource.physical_id)}</PhysicalResourceId>"
            if resource.physical_id
            else ""
        )
        detail = (
            f"<StackId>{escape(stack.stack_id)}</StackId><StackName>{escape(stack.name)}</StackName>"
            f"<LogicalResourceId>{escape(logical_id)}</LogicalResourceId>{physical}"
            f"<ResourceType>{escape(resource.resource_type)}</ResourceType>"
            "<LastUpdatedTimestamp>2026-11-29T00:00:00Z</LastUpdatedTimestamp>"
            f"<ResourceStatus>{resource.status}</ResourceStatus>"
        )
        return 200, _envelope("DescribeStackResource", f"<StackResourceDetail>{detail}</StackResourceDetail>")

    def _describe_stacks(self, form: dict[str, str]) -> tuple[int, str]:
        name = form.get("StackName", "")
        stack = self._find(name)
        if stack is None:
            return error(400, "ValidationError", f"Stack with id {name} does not exist")
        parameters = "".join(
            f"<member><ParameterKey>{escape(k)}</ParameterKey><ParameterValue>{escape(v)}</ParameterValue></member>"
            for k, v in stack.parameters.items()
        )
        outputs = "".join(
            f"<member><OutputKey>{escape(k)}</OutputKey><OutputValue>{escape(v)}</OutputValue></member>"
            for k, v in stack.outputs.items()
        )
        member = (
            f"<member><StackId>{escape(stack.stack_id)}</StackId><StackName>{escape(stack.name)}</StackName>"
            f"<CreationTime>2026-11-29T00:00:00Z</CreationTime><StackStatus>{stack.status}</StackStatus>"
            f"<Parameters>{parameters}</Parameters><Outputs>{outputs}</Outputs></member>"
        )
        return 200, _envelope("DescribeStacks", f"<Stacks>{member}</Stacks>")

    def _describe_stack_resources(self, form: dict[str, str]) -> tuple[int, str]:
        name = form.get("StackName", "")
        stack = self._find(name)
        if stack is None:
            return error(400, "ValidationError", f"Stack with id {name} does not exist")
        members = "".join(
            f"<member><StackId>{escape(stack.stack_id)}</StackId><StackName>{escape(stack.name)}</StackName>"
            f"<LogicalResourceId>{escape(r.logical_id)}</LogicalResourceId>"
            + (f"<PhysicalResourceId>{escape(r.physical_id)}</PhysicalResourceId>" if r.physical_id else "")
            + f"<ResourceType>{escape(r.resource_type)}</ResourceType>"
            "<Timestamp>2026-11-29T00:00:00Z</Timestamp>"
            f"<ResourceStatus>{r.status}</ResourceStatus></member>"
            for r in stack.resources.values()
        )
        return 200, _envelope("DescribeStackResources", f"<StackResources>{members}</StackResources>")

    def _get_template(self, form: dict[str, str]) -> tuple[int, str]:
        name = form.get("StackName", "")
        stack = self._find(name)
        if stack is None:
            return error(400, "ValidationError", f"Stack with id {name} does not exist")
        body = f"<TemplateBody>{escape(stack.template)}</TemplateBody><StagesAvailable><member>Original</member></StagesAvailable>"
        return 200, _envelope("GetTemplate", body)

    def _list_exports(self) -> tuple[int, str]:
        members = "".join(
            f"<member><ExportingStackId>{escape(stack_id)}</ExportingStackId><Name>{escape(name)}</Name>"
            f"<Value>{escape(value)}</Value></member>"
            for name, (value, stack_id) in self.exports.items()
        )
        return 200, _envelope("ListExports", f"<Exports>{members}</Exports>")


def _envelope(action: str, result: str) -> str:
    return (
        f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
    )


def error(status: int, code: str, message: str) -> tuple[int, str]:
    return status, (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


_SHARED: Stacks | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Stacks:
    """One record and server for the whole test process (started on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Stacks().start()
        return _SHARED


def provider_environment(response_host: str) -> dict[str, str]:
    """What a test run adds to the provider function's environment: this process's CloudFormation
    record, and the local ResponseURL endpoint `response_host` (host:port), which the deployed
    provider stack never sets; and the follower's table, as the stack names it for the estate."""
    from testkit.estate import FOLLOW_TABLE

    return {
        "AWS_ENDPOINT_URL_CLOUDFORMATION": shared().endpoint_url,
        "ALLOWED_RESPONSE_HOSTS": response_host,
        "FOLLOW_TABLE": FOLLOW_TABLE,
    }
