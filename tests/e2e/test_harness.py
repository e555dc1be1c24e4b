"""The machinery the end-to-end tests rely on behaves as CloudFormation, Lambda and Step Functions do."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.validate import ParamValidator

from testkit.cloudformation import ResponseShapeError, check_response, stringify
from testkit.lambda_runner import FunctionSettings, LambdaFunction, function_arn
from testkit.listener import DROP, Listener
from testkit.moto_patches import operation_model, to_boto_parameters, to_sfn_response
from testkit.tls import TlsMaterial


def test_properties_are_stringified_like_cloudformation() -> None:
    template = {
        "TimeoutSeconds": 300,
        "PinRevision": True,
        "Ratio": 1.5,
        "Retry": [{"MaxAttempts": 2, "On": False}],
    }
    assert stringify(template) == {
        "TimeoutSeconds": "300",
        "PinRevision": "true",
        "Ratio": "1.5",
        "Retry": [{"MaxAttempts": "2", "On": "false"}],
    }


def _put(listener: Listener, context: ssl.SSLContext, path: str, body: bytes) -> int:
    connection = http.client.HTTPSConnection(f"127.0.0.1:{listener.port}", context=context, timeout=5)
    try:
        connection.request("PUT", path, body=body, headers={"content-type": ""})
        return connection.getresponse().status
    finally:
        connection.close()


def test_listener_answers_a_programmed_sequence_and_records_every_attempt(tls: TlsMaterial) -> None:
    trusting = ssl.create_default_context(cafile=str(tls.ca_file))
    with Listener(tls) as listener:
        url = listener.response_url("arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "R", "req-1")
        path = url.split(str(listener.port), 1)[1]
        listener.program([500, DROP, 503])
        assert _put(listener, trusting, path, b'{"n": 1}') == 500
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            _put(listener, trusting, path, b'{"n": 2}')
        assert _put(listener, trusting, path, b'{"n": 3}') == 503
        assert _put(listener, trusting, path, b'{"n": 4}') == 200
        attempts = listener.wait_for("req-1", 4)
        assert [a.answered for a in attempts] == [500, DROP, 503, 200]
        assert [a.json()["n"] for a in attempts] == [1, 2, 3, 4]
        assert {a.method for a in attempts} == {"PUT"}
        assert attempts[0].query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"

        with pytest.raises(ssl.SSLCertVerificationError):
            _put(listener, ssl.create_default_context(), path, b"{}")


def _request(request_type: str = "Create") -> dict:
    return {
        "RequestType": request_type,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "R",
        "PhysicalResourceId": "pid",
    }


def _body(**changes: object) -> bytes:
    response = {
        "Status": "SUCCESS",
        "PhysicalResourceId": "pid",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "R",
        "Data": {"Arn": "a"},
    }
    response.update(changes)
    return json.dumps({k: v for k, v in response.items() if v is not None}).encode()


def test_response_check_accepts_a_valid_response() -> None:
    assert check_response(_request(), _body())["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (_body(Data={"Big": "x" * 4096}), "under 4096"),
        (_body(Status="FAILED"), "without a Reason"),
        (_body(RequestId="other"), "RequestId"),
        (_body(PhysicalResourceId=""), "PhysicalResourceId"),
        (_body(Data={"Revision": 3}), "not strings"),
        (_body(Extra="x"), "unknown keys"),
    ],
    ids=[
        "too-big",
        "failed-without-reason",
        "wrong-request-id",
        "empty-id",
        "data-not-strings",
        "unknown-key",
    ],
)
def test_response_check_rejects_what_cloudformation_rejects(body: bytes, problem: str) -> None:
    with pytest.raises(ResponseShapeError, match=problem):
        check_response(_request(), body)


def test_response_check_rejects_a_delete_that_changes_the_id() -> None:
    with pytest.raises(ResponseShapeError, match="Delete answered"):
        check_response(_request("Delete"), _body(PhysicalResourceId="another"))


def test_run_task_parameters_become_valid_boto3_parameters() -> None:
    asl = {
        "Cluster": "c",
        "TaskDefinition": "f:1",
        "LaunchType": "FARGATE",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["s"], "AssignPublicIp": "DISABLED"}},
        "Overrides": {
            "ContainerOverrides": [
                {"Name": "hoge", "Command": ["echo"], "Environment": [{"Name": "A", "Value": "1"}]}
            ]
        },
        "Tags": [{"Key": "k", "Value": "v"}],
        "PropagateTags": "TASK_DEFINITION",
        "EnableExecuteCommand": True,
    }
    parameters = to_boto_parameters(asl, _run_task().input_shape)
    assert parameters["overrides"]["containerOverrides"][0]["environment"] == [{"name": "A", "value": "1"}]
    assert parameters["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    report = ParamValidator().validate(parameters, _run_task().input_shape)
    assert not report.has_errors(), report.generate_report()


def test_run_task_response_gets_step_functions_casing_once() -> None:
    response = {
        "tasks": [{"taskArn": "t", "overrides": {"containerOverrides": [{"name": "hoge"}]}}],
        "failures": [],
    }
    once = to_sfn_response(response, _run_task().output_shape)
    assert once == {
        "Tasks": [{"TaskArn": "t", "Overrides": {"ContainerOverrides": [{"Name": "hoge"}]}}],
        "Failures": [],
    }
    assert to_sfn_response(once, _run_task().output_shape) == once


def _run_task() -> Any:
    return operation_model("ecs", "run_task")


FAKE_HANDLER = textwrap.dedent(
    """
    import os, time

    def handler(event, context):
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("raise"):
            raise ValueError(event["raise"])
        names = ["function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
                 "aws_request_id", "log_group_name", "log_stream_name"]
        return {
            "context": {name: getattr(context, name) for name in names},
            "remaining": context.get_remaining_time_in_millis(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "SSL_"))},
            "cwd": os.getcwd(),
            "pid": os.getpid(),
        }
    """
)


@pytest.fixture
def fake_function(
    tmp_path: Path, tls: TlsMaterial, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LambdaFunction]:
    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    (tmp_path / "fn.py").write_text(FAKE_HANDLER)
    function = LambdaFunction(
        endpoint_url="http://127.0.0.1:1",
        ca_file=tls.ca_file,
        log_file=tmp_path / "fn.log",
        settings=FunctionSettings(handler="fn.handler", timeout_seconds=1.5, memory_mb=128),
        task_root=tmp_path,
    )
    yield function
    function.close()


def test_handler_gets_lambdas_context_and_environment(fake_function: LambdaFunction, tmp_path: Path) -> None:
    invocation = fake_function.invoke({})
    assert not invocation.failed, invocation.error
    context = invocation.result["context"]
    assert context["function_name"] == "ecs-state-machine-provider"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == function_arn() == fake_function.arn
    assert context["memory_limit_in_mb"] == "128"
    assert context["aws_request_id"] == invocation.request_id
    assert context["log_group_name"] == "/aws/lambda/ecs-state-machine-provider"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 1000 < invocation.result["remaining"] <= 1500
    env = invocation.result["env"]
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["SSL_CERT_FILE"] == str(fake_function._ca_file)
    assert env["AWS_REGION"] == "us-east-1"
    assert "AWS_SAM_LOCAL" not in env
    assert "AWS_PROFILE" not in env
    assert Path(invocation.result["cwd"]) == tmp_path
    assert f"START RequestId: {invocation.request_id}" in invocation.logs


def test_sandbox_is_reused_until_a_timeout(fake_function: LambdaFunction) -> None:
    first = fake_function.invoke({})
    error = fake_function.invoke({"raise": "boom"})
    assert error.failed and error.error["errorType"] == "ValueError" and not error.cold
    warm = fake_function.invoke({})
    assert first.cold and not warm.cold and warm.result["pid"] == first.result["pid"]
    assert 1000 < warm.result["remaining"] <= 1500, "the deadline restarts with every invocation"

    timed_out = fake_function.invoke({"sleep": 5})
    assert timed_out.timed_out and timed_out.failed
    assert 1500 <= timed_out.duration_ms < 3000
    after = fake_function.invoke({})
    assert after.cold and after.result["pid"] != first.result["pid"]
    assert os.path.exists(fake_function.log_file)
