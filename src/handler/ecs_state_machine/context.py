"""Where the provider acts (partition, region, account) and how ARNs and names are made there."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any

_LAMBDA_ARN = re.compile(r"^arn:([^:]+):lambda:([^:]+):(\d{12}):function:")
_STACK_ARN = re.compile(r"^arn:([^:]+):cloudformation:([^:]+):(\d{12}):stack/([^/]+)/")

SERVICE = "ecs-state-machine"


@dataclass(frozen=True)
class Place:
    partition: str
    region: str
    account: str

    def state_machine_arn(self, name: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{name}"


def place_of(context: Any, event: dict[str, Any]) -> Place:
    """The account the function runs in (its own ARN), else the stack's (sam local invocations)."""
    for arn, pattern in (
        (getattr(context, "invoked_function_arn", ""), _LAMBDA_ARN),
        (event.get("StackId", ""), _STACK_ARN),
    ):
        match = pattern.match(str(arn or ""))
        if match:
            region = os.environ.get("AWS_REGION") or match.group(2)
            return Place(match.group(1), region, match.group(3))
    raise ValueError("cannot tell the account: neither the function ARN nor the StackId is an ARN")


def stack_name(stack_id: str) -> str:
    match = _STACK_ARN.match(stack_id)
    return match.group(4) if match else "stack"


def digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def default_state_machine_name(stack_id: str, logical_id: str, request_id: str) -> str:
    """<stack>-<logical id>-<hash>: unique per creation (the hash covers the RequestId, so a second
    delivery of the same request gets the same name), at most 80 characters."""
    suffix = digest(stack_id, logical_id, request_id, length=12)
    stack = re.sub(r"[^A-Za-z0-9-]", "", stack_name(stack_id))
    logical = re.sub(r"[^A-Za-z0-9_-]", "", logical_id)
    room = 80 - len(suffix) - 2
    logical = logical[: max(room // 2, room - len(stack))]
    stack = stack[: room - len(logical)]
    return "-".join(p for p in (stack, logical, suffix) if p)


def role_name_for(state_machine_arn: str) -> str:
    """The created role's name follows from the state machine ARN (at most 64 characters), so a
    Delete that only knows the ARN can find the role, even if the state machine never came to be."""
    name = state_machine_arn.rsplit(":", 1)[-1]
    return f"{name[:47]}-{digest(state_machine_arn, length=16)}"
