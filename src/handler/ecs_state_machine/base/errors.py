"""User-facing errors, and the one place where AWS errors become CloudFormation Reasons.

CloudFormation shows a custom resource's Reason in its console, cut at 256 characters
(crhelper keeps only the *end* of a longer one). Every message here is built to fit, with
the property name and the fix first, so nothing important is ever cut.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

REASON_LIMIT = 255
VALUE_LIMIT = 60

# IAM is eventually consistent: right after a role or its policy is written, Step Functions
# may refuse it with one of these AccessDeniedException messages. AWS's own
# AWS::StepFunctions::StateMachine handler retries exactly these.
PROPAGATION_MESSAGES = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
    "to assume the provided role",
    "is not authorized to create managed-rule",
    "is not authorized to access the Log Destination",
)


class ProviderError(Exception):
    """A failure the stack author can act on. Its message is the CloudFormation Reason.

    `category` is what the provider's log says of it: a Reason may show a property's value, so
    the log carries the category (and, for a property, its name), never the Reason."""

    category = "provider"

    def __init__(self, message: str) -> None:
        super().__init__(fit(message))

    @property
    def reason(self) -> str:
        return str(self)


class PropertyError(ProviderError):
    """A property has a value that cannot work. The Reason names it, shows the value, says the fix."""

    category = "property"

    def __init__(self, prop: str, value: Any, problem: str, fix: str = "") -> None:
        self.prop = prop
        shown = show(value)
        head = f"{prop} {shown}: {problem}" if value is not _MISSING else f"{prop}: {problem}"
        message = f"{head}. {fix}" if fix else head
        if len(message) > REASON_LIMIT:
            # Keep the property and the fix whole; shorten the value only as far as needed (to no
            # less than 24 characters), then the problem.
            room = REASON_LIMIT - len(fix) - 2
            shown = show(value, max(24, room - len(prop) - len(problem) - 4))
            head = f"{prop} {shown}: {problem}" if value is not _MISSING else f"{prop}: {problem}"
            if len(head) > room:
                head = head[: max(room - 3, 40)] + "..."
            message = f"{head}. {fix}" if fix else head
        super().__init__(message)


class Refused(ProviderError):
    """A request CloudFormation did not make (or no longer waits for): nothing was changed."""

    category = "refused"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()
MISSING = _MISSING


def show(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A short, printable rendering of a user value for a Reason (quotes, control characters escaped)."""
    text = value if isinstance(value, str) else _compact(value)
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def _compact(value: Any) -> str:
    import json

    try:
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def fit(message: str) -> str:
    """Make a Reason printable and at most REASON_LIMIT characters, keeping its beginning."""
    message = " ".join(message.split())
    message = "".join(ch if ch.isprintable() else "?" for ch in message)
    if len(message) > REASON_LIMIT:
        message = message[: REASON_LIMIT - 3] + "..."
    return message


def choices(names: list[str] | tuple[str, ...], limit: int = 120) -> str:
    """'a, b, c' kept short enough to leave room for the rest of a Reason."""
    text = ", ".join(names)
    if len(text) > limit:
        text = text[: limit - 5].rsplit(", ", 1)[0] + ", ..."
    return text


def error_code(err: BaseException) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(err: BaseException) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Message", ""))
    return str(err)


def is_propagation_error(err: BaseException) -> bool:
    """True for the AccessDenied messages Step Functions gives while IAM has not caught up."""
    if error_code(err) not in ("AccessDeniedException", "AccessDenied"):
        return False
    message = error_message(err)
    return any(fragment in message for fragment in PROPAGATION_MESSAGES)


_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ServerException",
}


def is_transient(err: BaseException) -> bool:
    """Errors worth another try after botocore's own retries gave up: throttling, a service that is
    briefly unavailable, a connection that failed or an answer cut short. A request botocore refused
    to send (ParamValidationError, no credentials, ...) fails the same way every time."""
    if isinstance(err, BotoCoreError):
        return isinstance(err, HTTPClientError | ConnectionError)
    return error_code(err) in _THROTTLING


def translate(err: BaseException, action: str) -> ProviderError:
    """Turn an AWS error raised while doing `action` into a Reason an operator can act on."""
    if isinstance(err, ProviderError):
        return err
    code = error_code(err) or type(err).__name__
    message = error_message(err)
    if (
        code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
        and "iam:PassRole" in message
    ):
        return ProviderError(
            f"RoleArn: the provider may not pass that role to Step Functions while {action}. Use a role "
            "matching the provider stack's PassableRolePattern parameter, or omit RoleArn to get a role made for you."
        )
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return ProviderError(
            f"The provider was denied {action}: {message}. Check the provider stack's function role "
            "(template.yaml) and any SCP or permissions boundary that applies to it."
        )
    if code in _THROTTLING or is_transient(err):
        return ProviderError(
            f"AWS kept failing while {action} ({code}: {message}). This is transient: retry the deployment."
        )
    if code == "LimitExceeded" or code.endswith("LimitExceeded"):
        return ProviderError(
            f"An AWS quota was reached while {action} ({message}). Delete unused resources or ask for more."
        )
    return ProviderError(f"AWS refused {action} ({code}: {message}).")
