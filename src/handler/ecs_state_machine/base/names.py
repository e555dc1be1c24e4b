"""The names the provider gives: a state machine's when the stack names none, its role's, the role's
inline policy and the path of its managed policies."""

from __future__ import annotations

import hashlib
import re

from .arn import STACK, state_machine_name

POLICY_NAME = "ecs-state-machine"  # the one inline policy of every role the provider makes


def managed_policy_path(role_path: str, role: str) -> str:
    """Where the managed policies of `role` live: their own path under the provider's roles."""
    return f"{role_path}policies/{role}/"


def stack_name(stack_id: str) -> str:
    match = STACK.match(stack_id)
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
    return f"{state_machine_name(state_machine_arn)[:47]}-{digest(state_machine_arn, length=16)}"


def failed_create_id(stack_id: str, logical_id: str, request_id: str) -> str:
    """The id a Create that failed before its state machine had a name reports (never an ARN, so
    the Delete that follows touches nothing)."""
    return f"{stack_name(stack_id)}-{logical_id}-failed-{digest(stack_id, request_id, length=8)}"[:200]
