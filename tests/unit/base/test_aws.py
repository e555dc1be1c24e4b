"""The one bounded retry helper every AWS call goes through: what it retries, how long, and what it
refuses to retry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecs_state_machine.base.aws import Aws, AwsError, Deadline, call_allowing_missing
from ecs_state_machine.base.errors import PROPAGATION_MESSAGES, ProviderError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


class Flaky:
    """A client whose `operation` raises the given errors in turn, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def operation(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": kwargs}


def error(code: str, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


def aws(client: Flaky, clock: Clock, **options: Any) -> Aws:
    return Aws(clients={"svc": client}, sleep=clock.sleep, clock=clock, **options)


def test_throttling_is_retried_with_jittered_backoff_capped_at_a_second():
    clock, client = Clock(), Flaky(*[error("ThrottlingException")] * 6)
    assert aws(client, clock).call("svc", "operation", "doing x", a=1) == {"ok": {"a": 1}}
    assert client.calls == 7
    windows = [(0.125, 0.25), (0.25, 0.5)] + [(0.5, 1.0)] * 4
    assert all(low <= pause <= high for pause, (low, high) in zip(clock.pauses, windows, strict=True))


def test_a_permanent_error_is_not_retried():
    clock, client = Clock(), Flaky(error("ValidationException"))
    with pytest.raises(AwsError) as caught:
        aws(client, clock).call("svc", "operation", "doing x")
    assert client.calls == 1 and clock.pauses == [] and caught.value.code == "ValidationException"


def test_propagation_is_retried_only_where_the_caller_says_it_can_happen():
    for flagged in (False, True):
        clock, client = Clock(), Flaky(error("AccessDeniedException", PROPAGATION_MESSAGES[1]))
        helper = aws(client, clock)
        if flagged:
            assert helper.call("svc", "operation", "x", propagation=True) == {"ok": {}}
        else:
            with pytest.raises(AwsError):
                helper.call("svc", "operation", "x")
        assert client.calls == (2 if flagged else 1)


def test_propagation_that_outlasts_the_budget_says_so():
    clock, client = Clock(), Flaky(*[error("AccessDeniedException", PROPAGATION_MESSAGES[0])] * 1000)
    with pytest.raises(ProviderError) as caught:
        aws(client, clock, budget=10.0).call("svc", "operation", "creating state machine x", propagation=True)
    assert caught.value.reason.startswith("IAM did not let Step Functions use the role within")
    assert 9.0 <= clock.now <= 10.0


def test_the_deadline_stops_retries_before_the_budget_does():
    clock, client = Clock(), Flaky(*[error("Throttling")] * 1000)
    deadline = Deadline(lambda: int((40.0 - clock.now) * 1000), reserve=25.0)  # 15 s of work left
    with pytest.raises(AwsError):
        aws(client, clock, deadline=deadline).call("svc", "operation", "x")
    assert 14.0 <= clock.now <= 15.0


def test_a_pause_never_reaches_into_the_reserve():
    clock = Clock()
    helper = Aws(Deadline(lambda: 25_300, reserve=25.0), sleep=clock.sleep, clock=clock)
    helper.pause(1.0)
    assert clock.pauses == [pytest.approx(0.3)]


def test_deleting_what_is_already_gone_is_what_was_wanted():
    clock = Clock()
    for code in ("NoSuchEntity", "StateMachineDoesNotExist", "ResourceNotFound"):
        assert call_allowing_missing(aws(Flaky(error(code)), clock), "svc", "operation", "deleting x") is None
    with pytest.raises(AwsError):
        call_allowing_missing(aws(Flaky(error("DeleteConflict")), clock), "svc", "operation", "deleting x")
