"""What the provider writes to its log, across a whole deployment, faults and bad input included.

Every test in this folder already fails if a secret marker shows up anywhere in the captured output
(the autouse `logs` fixture: powertools' JSON stream, every logging record with its extra fields,
stdout and stderr). Here the requests go out through the real sender to a local HTTPS endpoint, so
the ResponseURL, with its signature marker, is really used, and the log's structure is checked.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from testkit import stacks
from testkit.cloudformation import stringify
from testkit.faults import Rule
from testkit.listener import Listener
from testkit.logs import Logs
from testkit.transports import Context
from tests.reliability.support import PATH_SECRET, TAG_SECRET, URL_SECRET, World

QUERY = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={URL_SECRET}"
REQUEST_KEYS = ("request_type", "stack_id", "logical_id", "request_id")


@pytest.fixture
def deployment(
    fresh: World, listener: Listener, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> dict[str, Any]:
    """A stack's life with the real sender: what CloudFormation got, per RequestId."""
    import app
    from ecs_state_machine.cloudformation import response

    world = fresh
    monkeypatch.setattr(app.helper, "_sender", response.send)
    cfn = world.player()
    url = listener.url(QUERY)
    events: list[dict[str, Any]] = []

    def send(request_type: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
        if "OldResourceProperties" in extra:
            extra["OldResourceProperties"] = stringify(extra["OldResourceProperties"])
        event = {**cfn.event(request_type, props, **extra), "ResponseURL": url}
        events.append(event)
        stacks.shared().waiting(event)
        app.lambda_handler(event, Context())
        answer = json.loads(listener.attempts[-1].body)
        stacks.shared().heard(event, answer)
        return dict(answer)

    props = world.props
    listener.program([500])  # the first answer is refused once
    arn = send("Create", props)["PhysicalResourceId"]
    new = {**props, "TimeoutSeconds": 60, "Tags": [{"Key": "team", "Value": TAG_SECRET}]}
    send("Update", new, PhysicalResourceId=arn, OldResourceProperties=props)
    bad = {**new, "ContainerName": "nope"}
    assert send("Update", bad, PhysicalResourceId=arn, OldResourceProperties=new)["Status"] == "FAILED"
    send("Update", new, PhysicalResourceId=arn, OldResourceProperties=bad)
    world.arm(Rule("iam.PutRolePolicy", code="Throttling", times=7))
    send("Update", props, PhysicalResourceId=arn, OldResourceProperties=new)
    world.arm(Rule("iam.CreateRole", code="AccessDenied", status=403, times=None))
    failed = send("Create", props)
    assert failed["Status"] == "FAILED"
    world.reset()
    send("Delete", props, PhysicalResourceId=failed["PhysicalResourceId"])
    send("Create", {**props, "CommandPath": '$.a"; rm -rf /'})
    send("Delete", props, PhysicalResourceId=arn)
    send("Delete", props, PhysicalResourceId=arn)
    assert world.leftovers() == ([], [])
    delivered = {
        json.loads(a.body)["RequestId"]: json.loads(a.body) for a in listener.attempts if a.answered == 200
    }
    assert len(delivered) == len(events) == 10
    return {"events": events, "delivered": delivered, "listener": listener}


def test_every_request_logs_structured_lines_with_its_context_and_one_outcome(
    deployment: dict[str, Any], logs: Logs
) -> None:
    lines = logs.structured()
    assert lines, "the provider logged nothing"
    for line in lines:
        assert {"level", "message", "timestamp", "service"} <= set(line), line
        assert line["service"] == "ecs-state-machine"
    for event in deployment["events"]:
        mine = [line for line in lines if line.get("request_id") == event["RequestId"]]
        assert mine, f"nothing logged for {event['RequestType']} {event['RequestId']}"
        for line in mine:
            assert (line["request_type"], line["stack_id"], line["logical_id"]) == (
                event["RequestType"],
                event["StackId"],
                event["LogicalResourceId"],
            ), line
        outcomes = [line["outcome"] for line in mine if "outcome" in line]
        answered = deployment["delivered"][event["RequestId"]]["Status"]
        assert outcomes == [answered], (event["RequestType"], outcomes, answered)
        failures = [line for line in mine if line.get("outcome") == "FAILED"]
        for line in failures:
            # A Reason may show a property's value: the log says what kind of failure, and where.
            assert "reason" not in line, line
            assert line["error_category"] in ("property", "aws", "refused", "provider"), line
            reason = deployment["delivered"][event["RequestId"]]["Reason"]
            if line["error_category"] == "property":
                assert reason.startswith(line["property"]), (line, reason)
        delivery = [line for line in mine if line["message"] == "response delivered"]
        assert [line["status"] for line in delivery] == [answered]


def test_no_secret_reaches_the_log_though_each_was_used(
    deployment: dict[str, Any], logs: Logs, fresh: World
) -> None:
    signatures = [attempt.query.get("X-Amz-Signature") for attempt in deployment["listener"].attempts]
    assert signatures and all(signature == URL_SECRET for signature in signatures), (
        "the marker URL was really used"
    )
    assert any(TAG_SECRET in json.dumps(event["ResourceProperties"]) for event in deployment["events"])
    assert any(PATH_SECRET in json.dumps(event["ResourceProperties"]) for event in deployment["events"])
    text = logs.text()
    assert "cloudformation-response" not in text, "no part of the ResponseURL is logged"
    for marker in (URL_SECRET, TAG_SECRET, PATH_SECRET, "X-Amz-Credential", "AKIAEXAMPLE"):
        assert marker not in text, marker


def test_request_keys_do_not_outlive_the_request(fresh: World, logs: Logs) -> None:
    """A warm Lambda serves many requests: one request's context must not tag the next one's lines."""
    import app

    cfn = fresh.player()
    cfn.create({**fresh.props, "ContainerName": "nope"})
    app.logger.info("between requests")
    (probe,) = [line for line in logs.structured() if line["message"] == "between requests"]
    assert not set(REQUEST_KEYS) & set(probe), probe


def test_debug_logging_still_keeps_the_response_url_out(fresh: World, logs: Logs) -> None:
    """POWERTOOLS_LOG_LEVEL=DEBUG turns the provider's own loggers up; the URL must stay out."""
    service = logging.getLogger("ecs-state-machine")
    level = service.level
    service.setLevel(logging.DEBUG)
    try:
        cfn = fresh.player()
        arn = cfn.create(fresh.props)["PhysicalResourceId"]
        cfn.delete(arn, fresh.props)
        cfn.create({**fresh.props, "Tags": "not-a-list-of-tags"})
    finally:
        service.setLevel(level)
    text = logs.text()
    assert URL_SECRET not in text and "cloudformation-custom-resource-response" not in text


def test_an_event_that_is_not_a_request_is_logged_without_its_contents(fresh: World, logs: Logs) -> None:
    import app

    event = fresh.player().event("Create", fresh.props)
    del event["RequestId"]
    app.lambda_handler(event, Context())
    (line,) = [line for line in logs.structured() if "ignored" in line["message"]]
    assert line["level"] == "ERROR"
    assert URL_SECRET not in json.dumps(line) and TAG_SECRET not in json.dumps(line)
