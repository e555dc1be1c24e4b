"""The one way this provider talks to AWS: lazily built clients (those of boto3's default session
kept for the sandbox's life), one bounded retry helper, and translation of every AWS error into a
ProviderError whose Reason a stack author can act on.

botocore's standard retry mode absorbs short bursts of throttling. On top of that, `Aws.call`
retries throttling that outlasts botocore, and the IAM-propagation AccessDenied messages of Step
Functions, with jittered backoff capped at one second, until a budget runs out or the Lambda
deadline (minus a reserve kept for cleanup and the response) comes near.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .arn import Place, place_of
from .errors import ProviderError, error_code, error_message, is_propagation_error, is_transient, translate

# Three attempts per call inside botocore (short bursts); longer trouble is Aws.call's to retry,
# against its budget and the Lambda deadline. Short timeouts keep one hung call from eating the reserve.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,
    user_agent_extra="ecs-state-machine",
)

RETRY_BUDGET_SECONDS = 120.0  # how long IAM propagation or throttling may hold up one call
RESERVE_SECONDS = 25.0  # kept back from the Lambda deadline for cleanup and the response
FIRST_DELAY = 0.25
MAX_DELAY = 1.0


class AwsError(ProviderError):
    """An AWS call failed for good. `code` is AWS's error code; the message is the Reason."""

    def __init__(self, err: BaseException, action: str) -> None:
        self.code = error_code(err)
        self.aws_message = error_message(err)
        super().__init__(translate(err, action).reason)


class Deadline:
    """Seconds left before the provider must stop starting new work."""

    def __init__(self, remaining_ms: Callable[[], int] | None, reserve: float = RESERVE_SECONDS) -> None:
        self._remaining_ms = remaining_ms
        self._reserve = reserve

    def left(self) -> float:
        if self._remaining_ms is None:
            return float("inf")
        return self._remaining_ms() / 1000.0 - self._reserve


class Aws:
    def __init__(
        self,
        deadline: Deadline | None = None,
        *,
        session: Any = None,
        clients: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        budget: float = RETRY_BUDGET_SECONDS,
    ) -> None:
        self.deadline = deadline or Deadline(None)
        self._session = session
        self._clients: dict[str, Any] = dict(clients or {})
        self._clients_lock = threading.Lock()  # threads share this object (parallel describes, sweeps)
        self._sleep = sleep
        self._clock = clock
        self.budget = budget

    def client(self, service: str) -> Any:
        """The client for `service`, made on first use (once, whichever thread asks first)."""
        with self._clients_lock:
            if service not in self._clients:
                if self._session is not None:
                    self._clients[service] = self._session.client(service, config=CLIENT_CONFIG)
                else:
                    self._clients[service] = shared_client(service)
            return self._clients[service]

    def call(
        self, service: str, operation: str, action: str, *, propagation: bool = False, **kwargs: Any
    ) -> Any:
        """Call `service.operation(**kwargs)`; `action` says what it was for, in a Reason.

        With `propagation`, the IAM-propagation AccessDenied messages are retried too: only for a
        call that hands Step Functions a role this request just wrote, or whose trust was checked."""
        method = getattr(self.client(service), operation)
        started = self._clock()
        attempt = 0
        while True:
            try:
                return method(**kwargs)
            except (ClientError, BotoCoreError) as err:
                if not (is_transient(err) or (propagation and is_propagation_error(err))):
                    raise AwsError(err, action) from err
                attempt += 1
                delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                spent = self._clock() - started
                if spent + delay > self.budget or delay > self.deadline.left():
                    if is_propagation_error(err):
                        raise ProviderError(
                            f"IAM did not let Step Functions use the role within {spent:.0f}s while {action} "
                            f"({error_message(err)}). Deploy again; if it persists, check the role's trust policy."
                        ) from err
                    raise AwsError(err, action) from err
                self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, never past the deadline's reserve."""
        self._sleep(max(0.0, min(seconds, self.deadline.left())))


def invoked_place(context: Any, stack_id: str | None, aws: Aws, *, sam_local: bool) -> Place:
    """Where a function acts: the account of its own ARN (else of `stack_id`), or, under
    `sam local invoke`, the credentials' account."""
    if sam_local:
        return caller_place(aws)
    return place_of(getattr(context, "invoked_function_arn", None), stack_id)


def caller_place(aws: Aws) -> Place:
    """Where the credentials act: under `sam local invoke` the function ARN is made up, so the
    account is asked of STS (the region is the one SAM sets)."""
    caller = aws.call("sts", "get_caller_identity", "finding the account of the credentials")
    return Place(caller["Arn"].split(":")[1], os.environ.get("AWS_REGION", "us-east-1"), caller["Account"])


def tag_list(tags: dict[str, str], key: str = "key", value: str = "value") -> list[dict[str, str]]:
    """Tags as AWS APIs take them: Step Functions' {key, value}, IAM's {Key, Value}."""
    return [{key: k, value: v} for k, v in tags.items()]


def policy_document(document: Any) -> Any:
    """A policy document as IAM returns it: boto3 decodes it; undecoded, it is URL-encoded JSON."""
    if isinstance(document, str):
        try:
            return json.loads(unquote(document))
        except ValueError:
            return document
    return document


MISSING_CODES = ("NoSuchEntity", "StateMachineDoesNotExist", "ResourceNotFound")


def call_allowing_missing(aws: Aws, service: str, operation: str, action: str, **kwargs: Any) -> Any:
    """`aws.call`, where a resource that is already gone is what was wanted (deleting): None then."""
    try:
        return aws.call(service, operation, action, **kwargs)
    except AwsError as err:
        if err.code not in MISSING_CODES:
            raise
    return None


# Clients of boto3's default session, kept for the sandbox's life: building one reads the service
# model and endpoint rules (tens of milliseconds, more than most calls take), and a warm sandbox
# can reuse them across invocations. Keyed by the session itself, so a new default session
# (boto3.setup_default_session, as tests do to install fault injectors) gets new clients, and the
# clients of a session no longer in use go with it.
_SHARED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared_client(service: str) -> Any:
    """The client for `service` of boto3's current default session (made once per session)."""
    with _SHARED_LOCK:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session: Any = boto3.DEFAULT_SESSION
        clients = _SHARED.setdefault(session, {})
        if service not in clients:
            clients[service] = session.client(service, config=CLIENT_CONFIG)
        return clients[service]
