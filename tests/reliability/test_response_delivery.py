"""Getting the answer to CloudFormation: `response.send` against a real local HTTPS endpoint, the
timeout guard, and a Delete that is answered at once.

The endpoint is `testkit.listener`: 127.0.0.1 with a certificate from a throwaway CA
that SSL_CERT_FILE makes trusted, so the sender's default certificate verification is exercised.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from testkit import stacks
from testkit.faults import Rule
from testkit.listener import HANG, Listener, refusing_url
from testkit.logs import Logs
from testkit.tls import TlsMaterial
from tests.reliability.support import URL_SECRET, World

QUERY = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={URL_SECRET}"
BODY = {
    "Status": "SUCCESS",
    "Reason": "",
    "PhysicalResourceId": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
    "RequestId": "req-1",
    "LogicalResourceId": "NightlyBatch",
    "NoEcho": False,
    "Data": {},
}


class Clock:
    """Real time plus the time the sender asked to sleep (recorded, not slept)."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self._start = time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def __call__(self) -> float:
        return time.monotonic() + sum(self.slept)


def lines(logs: Logs, message: str) -> list[dict[str, Any]]:
    return [line for line in logs.structured() if line.get("message") == message]


def test_a_response_refused_twice_is_delivered_on_the_third_attempt(listener: Listener, logs: Logs) -> None:
    from ecs_state_machine.cloudformation import response

    listener.program([500, 500])
    started = time.monotonic()
    assert response.send(listener.url(QUERY), BODY) is True
    elapsed = time.monotonic() - started
    assert [a.answered for a in listener.attempts] == [500, 500, 200]
    assert {a.body for a in listener.attempts} == {json.dumps(BODY).encode()}, (
        "every attempt sends the same body"
    )
    assert all(a.raw_query == QUERY for a in listener.attempts), "the presigned query must be sent as given"
    assert 0.375 <= elapsed < 3.0, "two jittered backoffs: 0.25-0.5 s then 0.5-1 s"
    assert [line["http_status"] for line in lines(logs, "response refused")] == [500, 500]
    (delivered,) = lines(logs, "response delivered")
    assert (delivered["attempt"], delivered["status"]) == (3, "SUCCESS")


def test_an_endpoint_that_always_answers_500_is_given_up_within_the_bound(
    listener: Listener, logs: Logs
) -> None:
    from ecs_state_machine.cloudformation import response

    listener.program([500] * 20)
    clock = Clock()
    assert response.send(listener.url(QUERY), BODY, sleep=clock.sleep, clock=clock) is False
    assert len(listener.attempts) == response.ATTEMPTS == 5
    # Backoff 0.5 s doubling to 4 s, jittered by 0.5-1: at most 7.5 s of the 60 s budget in all.
    assert 3.75 <= sum(clock.slept) <= 7.5, clock.slept
    assert len(lines(logs, "response lost: CloudFormation will wait for its timeout")) == 1


def test_the_real_clock_bounds_a_500_loop(listener: Listener) -> None:
    from ecs_state_machine.cloudformation import response

    listener.program([500] * 20)
    started = time.monotonic()
    assert response.send(listener.url(QUERY), BODY, budget=1.2) is False
    elapsed = time.monotonic() - started
    assert elapsed < 1.2 + 0.5, f"gave up after {elapsed:.2f}s with a 1.2s budget"
    assert 2 <= len(listener.attempts) < 5


def test_a_refused_connection_is_retried_then_given_up_within_the_bound(logs: Logs) -> None:
    from ecs_state_machine.cloudformation import response

    clock = Clock()
    started = time.monotonic()
    assert response.send(refusing_url(QUERY), BODY, sleep=clock.sleep, clock=clock) is False
    assert time.monotonic() - started < 2.0, "five refused connections take no time"
    failures = lines(logs, "response not delivered")
    assert [line["attempt"] for line in failures] == [1, 2, 3, 4, 5]
    assert {line["error"] for line in failures} == {"ConnectionRefusedError"}
    spent = time.monotonic() - started + sum(clock.slept)
    assert spent <= 7.5 + 2.0 < 60, f"{spent:.1f}s with the default bound (60s budget)"
    assert len(lines(logs, "response lost: CloudFormation will wait for its timeout")) == 1
    # With the real clock and a tight budget, it stops when the budget is spent.
    started = time.monotonic()
    assert response.send(refusing_url(QUERY), BODY, budget=1.0) is False
    assert time.monotonic() - started < 1.5


def test_an_endpoint_that_never_answers_does_not_hold_the_function(listener: Listener) -> None:
    """crhelper's sender would wait here forever; this one gives up when its budget is spent."""
    from ecs_state_machine.cloudformation import response

    listener.program([HANG] * 5)
    started = time.monotonic()
    assert response.send(listener.url(QUERY), BODY, budget=1.0) is False
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"blocked {elapsed:.2f}s on an endpoint that never answers"


def test_an_untrusted_certificate_is_not_delivered_to(tls: TlsMaterial, logs: Logs) -> None:
    """Without SSL_CERT_FILE pointing at the test CA, verification must fail: nothing sent."""
    from ecs_state_machine.cloudformation import response

    with Listener(tls) as server:
        clock = Clock()
        assert response.send(server.url(QUERY), BODY, sleep=clock.sleep, clock=clock) is False
        assert server.attempts == []
        assert {line["error"] for line in lines(logs, "response not delivered")} == {
            "SSLCertVerificationError"
        }


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:9/cloudformation-response?{QUERY}",
        f"file:///etc/passwd?{QUERY}",
        f"https:///no-host?{QUERY}",
    ],
)
def test_a_response_url_that_is_not_https_is_refused_at_once(url: str, logs: Logs) -> None:
    from ecs_state_machine.cloudformation import response

    started = time.monotonic()
    assert response.send(url, BODY) is False
    assert time.monotonic() - started < 0.5
    assert len(lines(logs, "response not sent: the ResponseURL is not an https URL")) == 1


def test_an_oversized_body_is_cut_to_fit_without_losing_the_status(listener: Listener) -> None:
    from ecs_state_machine.cloudformation import response

    body = {**BODY, "Reason": "r" * 300, "Data": {"ContainerNames": ",".join(["c" * 200] * 30), "Arn": "a"}}
    assert response.send(listener.url(QUERY), body) is True
    (attempt,) = listener.attempts
    assert len(attempt.body) <= 4096
    sent = json.loads(attempt.body)
    assert sent["Status"] == "SUCCESS" and sent["PhysicalResourceId"] == BODY["PhysicalResourceId"]
    assert sent["Data"] == {"Arn": "a"}, "only the bulky list is dropped"


# --------------------------------------------------------------------------- through the handler
def test_the_handler_delivers_one_response_through_a_flaky_endpoint(
    world: World, listener: Listener, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    import app
    from ecs_state_machine.cloudformation import response

    world.reset()
    monkeypatch.setattr(app.helper, "_sender", response.send)
    listener.program([503])
    cfn = world.player()
    event = cfn.event("Create", world.props, ResponseURL=listener.url(QUERY))
    from testkit.transports import Context

    stacks.shared().waiting(event)
    app.lambda_handler(event, Context())
    answered = [a for a in listener.attempts if a.answered == 200]
    assert len(answered) == 1 and len(listener.attempts) == 2
    sent = json.loads(answered[0].body)
    assert sent["Status"] == "SUCCESS" and sent["RequestId"] == event["RequestId"]
    delete = cfn.event("Delete", world.props, PhysicalResourceId=sent["PhysicalResourceId"])
    delete["ResponseURL"] = listener.url(QUERY)
    stacks.shared().heard(event, sent)
    stacks.shared().waiting(delete)
    app.lambda_handler(delete, Context())
    assert json.loads(listener.attempts[-1].body)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


# --------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(
    "slow",
    [
        pytest.param("ecs.DescribeClusters", id="before-the-name-is-reported"),
        pytest.param("iam.CreateRole", id="after-the-name-is-reported"),
    ],
)
def test_a_create_that_runs_out_of_time_answers_failed_once_and_its_delete_leaves_nothing(
    fresh: World, slow: str
) -> None:
    from ecs_state_machine.cloudformation.provider import TIMEOUT_REASON

    world = fresh
    world.arm(Rule(slow, kind="slow", seconds=1.5, times=1))
    cfn = world.player()
    event = cfn.event("Create", world.props)
    started = time.monotonic()
    answer = cfn.send(event, timeout_s=1.2)  # asserts exactly one response, after the late finish
    assert time.monotonic() - started >= 1.5, "the handler ran on past the guard"
    assert answer["Status"] == "FAILED" and answer["Reason"] == TIMEOUT_REASON
    assert answer["PhysicalResourceId"], "CloudFormation needs an id to send its Delete to"
    # CloudFormation deletes the id it was given: whatever the late-running handler made must go.
    assert cfn.delete(answer["PhysicalResourceId"], world.props)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


def test_an_update_that_runs_out_of_time_answers_failed_with_its_own_id(fresh: World) -> None:
    world = fresh
    cfn = world.player()
    arn = cfn.create(world.props)["PhysicalResourceId"]
    world.arm(Rule("sfn.UpdateStateMachine", kind="slow", seconds=1.5, times=1))
    new = {**world.props, "TimeoutSeconds": 60}
    answer = cfn.send(
        {**cfn.event("Update", new, PhysicalResourceId=arn), "OldResourceProperties": world.props},
        timeout_s=1.2,
    )
    assert answer["Status"] == "FAILED" and answer["PhysicalResourceId"] == arn
    world.faults.rules.clear()
    rollback = cfn.send(
        {**cfn.event("Update", world.props, PhysicalResourceId=arn), "OldResourceProperties": new}
    )
    assert rollback["Status"] == "SUCCESS" and rollback["PhysicalResourceId"] == arn
    assert cfn.delete(arn, world.props)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], [])


def test_a_replacement_update_that_runs_out_of_time_leaves_nothing_after_rollback(fresh: World) -> None:
    world = fresh
    cfn = world.player()
    old = {**world.props, "StateMachineName": "timeout-a"}
    new = {**world.props, "StateMachineName": "timeout-b"}
    arn = cfn.create(old)["PhysicalResourceId"]
    world.arm(Rule("sfn.CreateStateMachine", kind="slow", seconds=1.5, times=1))
    update = {**cfn.event("Update", new, PhysicalResourceId=arn), "OldResourceProperties": old}
    answer = cfn.send(update, timeout_s=1.2)
    assert answer["Status"] == "FAILED" and answer["PhysicalResourceId"] == arn
    world.faults.rules.clear()
    # CloudFormation rolls back (props swapped, same id), then the stack is deleted.
    rollback = cfn.send({**cfn.event("Update", old, PhysicalResourceId=arn), "OldResourceProperties": new})
    assert rollback["Status"] == "SUCCESS" and rollback["PhysicalResourceId"] == arn
    assert cfn.delete(arn, old)["Status"] == "SUCCESS"
    assert world.leftovers() == ([], []), "timeout-b (and its role) outlived the stack"


def test_a_delete_is_answered_at_once(fresh: World) -> None:
    """crhelper sleeps up to 120 s before answering a Delete; this provider must not."""
    world = fresh
    cfn = world.player()
    arn = cfn.create(world.props)["PhysicalResourceId"]
    started = time.monotonic()
    answer = cfn.send(cfn.event("Delete", world.props, PhysicalResourceId=arn), timeout_s=900.0)
    elapsed = time.monotonic() - started
    assert answer["Status"] == "SUCCESS"
    assert elapsed < 2.0, f"the Delete took {elapsed:.2f}s to answer"
    assert world.leftovers() == ([], [])
