"""How a test run gets a request to the provider and its answer back, as a `Player` needs it:

- `InProcess`: `app.lambda_handler` in this process (moto in process). The responses are captured
  as the real sender would send them (the same JSON bytes, cut to CloudFormation's limit), or,
  with `sender=response.send`, really sent to a listener.
- `InFunction`: the handler in a Lambda-like process of its own (`LambdaFunction`), invoked
  asynchronously (a function error is retried twice with the same event, as Lambda does), answering
  over HTTPS at a `Listener`.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from testkit.cloudformation import Delivery, check_response
from testkit.lambda_runner import LambdaFunction, function_arn
from testkit.listener import Listener

FUNCTION_ARN = function_arn()
LAMBDA_ASYNC_RETRIES = 2
CFN_RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/{stack}%7C{logical}%7C{request}"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={signature}"
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


class InProcess:
    """The handler in this process. Use as a context manager: it takes over the provider's sender
    (every response lands in `responses`, with its URL in `urls`) and gives it back after."""

    service_token = FUNCTION_ARN

    def __init__(
        self,
        *,
        signature: str = "secret",
        timeout_s: float = 300.0,
        sender: Callable[[str, dict[str, Any]], bool] | None = None,
    ) -> None:
        self.signature = signature
        self.timeout_s = timeout_s
        self.sender = sender
        self.responses: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self._previous: Any = None

    def __enter__(self) -> InProcess:
        import app

        self._previous = app.helper._sender
        app.helper._sender = self._capture
        return self

    def __exit__(self, *exc: object) -> None:
        import app

        app.helper._sender = self._previous

    def _capture(self, url: str, body: dict[str, Any]) -> bool:
        from ecs_state_machine.cloudformation.response import encode

        self.responses.append(json.loads(encode(body)))
        self.urls.append(url)
        return self.sender(url, body) if self.sender is not None else True

    def response_url(self, stack_id: str, logical_id: str, request_id: str) -> str:
        stack = stack_id.split("/")[1] if stack_id.count("/") >= 2 else "stack"
        return CFN_RESPONSE_URL.format(
            stack=stack, logical=logical_id, request=request_id, signature=self.signature
        )

    def invoke(self, event: Any, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """Run the handler once with `event` (whatever it is); the responses it sent."""
        import app

        sent = len(self.responses)
        app.lambda_handler(event, Context(timeout_s or self.timeout_s))
        return self.responses[sent:]

    def deliver(self, event: dict[str, Any], timeout_s: float | None = None) -> Delivery:
        from ecs_state_machine.cloudformation.response import encode

        answers = self.invoke(event, timeout_s)
        assert len(answers) <= 1, f"the handler answered {len(answers)} times"
        if not answers:
            return Delivery(event, None)
        return Delivery(event, check_response(event, encode(answers[0])))


class InFunction:
    """The handler in its own process, answering at `listener`."""

    def __init__(
        self,
        function: LambdaFunction,
        listener: Listener,
        *,
        grace_s: float = 5.0,
        retries: int = LAMBDA_ASYNC_RETRIES,
    ) -> None:
        self.function = function
        self.listener = listener
        self.grace_s = grace_s
        self.retries = retries

    @property
    def service_token(self) -> str:
        return self.function.arn

    def response_url(self, stack_id: str, logical_id: str, request_id: str) -> str:
        return self.listener.response_url(stack_id, logical_id, request_id)

    def deliver(self, event: dict[str, Any], timeout_s: float | None = None) -> Delivery:
        """Invoke asynchronously and collect the response CloudFormation acts on: the first one the
        listener accepted (every one is checked). The function's own timeout applies."""
        invocations = []
        for _ in range(1 + self.retries):
            invocation = self.function.invoke(copy.deepcopy(event))
            invocations.append(invocation)
            if not invocation.failed:
                break
        attempts = self.listener.wait_for(event["RequestId"], 1, timeout=self.grace_s)
        accepted = [a for a in attempts if isinstance(a.answered, int) and 200 <= a.answered < 300]
        response = check_response(event, accepted[0].body) if accepted else None
        for later in accepted[1:]:
            check_response(event, later.body)
        return Delivery(event, response, invocations, attempts)
