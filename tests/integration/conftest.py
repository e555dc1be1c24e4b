"""In-process integration tests: moto's mock_aws, the real handler, responses captured."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from testkit import stacks
from tests.aws_fixtures import ACCOUNT, REGION, Estate, build_estate
from tests.harness.cloudformation import stringify

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ecs-state-machine-provider"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/my-batch-stack/1a2b3c4d-0000-4000-8000-00000000abcd"
)


class Context:
    """What the Lambda runtime passes as `context`, with a real deadline."""

    function_name = "ecs-state-machine-provider"
    function_version = "$LATEST"
    invoked_function_arn = FUNCTION_ARN
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/ecs-state-machine-provider"
    log_stream_name = "2026/11/27/[$LATEST]0123456789abcdef"

    def __init__(self, timeout_s: float = 300.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Cfn:
    """Plays CloudFormation against the in-process handler and keeps every response it got."""

    responses: list[dict[str, Any]] = field(default_factory=list)
    logical_id: str = "NightlyBatch"
    stack_id: str = STACK_ID

    def event(self, request_type: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
        event = {
            "RequestType": request_type,
            "ServiceToken": FUNCTION_ARN,
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=secret",
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": self.logical_id,
            "ResourceType": "Custom::EcsStateMachine",
            "ResourceProperties": stringify({"ServiceToken": FUNCTION_ARN, **props}),
        }
        event.update(extra)
        return event

    def send(self, event: dict[str, Any], timeout_s: float = 300.0) -> dict[str, Any]:
        """Deliver `event` as CloudFormation does: its record shows the resource waiting for this
        request while the handler runs, and records the answer once it arrived."""
        stacks.shared().waiting(event)
        answer = self.deliver(event, timeout_s)
        stacks.shared().heard(event, answer)
        return answer

    def deliver(self, event: dict[str, Any], timeout_s: float = 300.0) -> dict[str, Any]:
        """Invoke the handler with `event`, leaving CloudFormation's record as it is (a forged or
        a late request)."""
        import app

        before = len(self.responses)
        app.lambda_handler(event, Context(timeout_s))
        assert len(self.responses) == before + 1, "the handler must answer exactly once"
        answer = self.responses[-1]
        assert len(json.dumps(answer).encode()) < 4096
        assert answer["RequestId"] == event["RequestId"]
        if answer["Status"] == "FAILED":
            assert 0 < len(answer["Reason"]) <= 256
        return answer

    def create(self, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return self.send(self.event("Create", props, **extra))

    def update(
        self, physical_id: str, props: dict[str, Any], old: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        event = self.event("Update", props, PhysicalResourceId=physical_id, **extra)
        event["OldResourceProperties"] = stringify({"ServiceToken": FUNCTION_ARN, **old})
        return self.send(event)

    def delete(self, physical_id: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return self.send(self.event("Delete", props, PhysicalResourceId=physical_id, **extra))


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "PERMISSIONS_BOUNDARY",
        "ROLE_PATH",
        "ALLOW_POLICY_STATEMENTS",
        "PASSABLE_ROLE_PATTERN",
        "TASK_ROLE_PATTERN",
        "LOG_GROUP_PATTERN",
        "ALLOWED_RESPONSE_HOSTS",
        "AWS_SAM_LOCAL",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", stacks.shared().endpoint_url)
    stacks.shared().clear()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def session(aws_env: None) -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def estate(session: boto3.Session) -> Estate:
    return build_estate(session, with_vpc=False)


@pytest.fixture
def cfn(monkeypatch: pytest.MonkeyPatch, session: boto3.Session) -> Cfn:
    import app

    recorder = Cfn()

    def capture(url: str, body: dict[str, Any]) -> bool:
        recorder.responses.append(json.loads(json.dumps(body)))
        return True

    monkeypatch.setattr(app.helper, "_sender", capture)
    return recorder


@pytest.fixture
def props(estate: Estate) -> dict[str, Any]:
    return {
        "TaskDefinition": estate.family,
        "ContainerName": "hoge",
        "Cluster": "hogefuga-cluster",
        "Subnets": estate.subnets,
        "SecurityGroups": estate.security_groups,
    }


def provider_leftovers(session: boto3.Session) -> tuple[list[str], list[str]]:
    """Roles on the provider's path and state machines that still exist (not being deleted)."""
    iam = session.client("iam")
    sfn = session.client("stepfunctions")
    roles = [r["RoleName"] for r in iam.list_roles(PathPrefix="/ecs-state-machine/")["Roles"]]
    machines = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        status = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"]).get(
            "status", "ACTIVE"
        )
        if status != "DELETING":
            machines.append(machine["name"])
    return roles, machines


os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ecs-state-machine")


@pytest.fixture
def faults(session: boto3.Session):
    from tests.faults import Faults

    injected = Faults().install()
    yield injected
    boto3.DEFAULT_SESSION = None
