"""What the provider stack's administrator decided, read once per request from the function's
environment (template.yaml sets every variable from a stack parameter) and passed down.

A variable that is missing takes the *secure* default: no stack-written role statements, no
existing role may be handed over or assumed, no response host beyond CloudFormation's own. Only the
permissions boundary has no default of its own: the provider stack always sets one, and without it
(`sam local invoke`, say) roles are created without a boundary and the log says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

ROLE_PATH_DEFAULT = "/ecs-state-machine/"
LOG_GROUP_PATTERN_DEFAULT = "/aws/vendedlogs/states/*"


@dataclass(frozen=True)
class Settings:
    role_path: str = ROLE_PATH_DEFAULT
    permissions_boundary: str | None = None
    allow_policy_statements: bool = False
    passable_role_pattern: str = ""  # empty: RoleArn is refused
    task_role_pattern: str = "*"
    log_group_pattern: str = LOG_GROUP_PATTERN_DEFAULT
    credentials_role_patterns: tuple[str, ...] = ()  # whole role ARNs; empty: Credentials is refused
    follow_table: str | None = None  # the follower's DynamoDB table; None: FollowRevisions is refused
    allowed_response_hosts: tuple[str, ...] = ()  # beyond CloudFormation's own (tests only)
    sam_local: bool = False

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        path = env.get("ROLE_PATH") or ROLE_PATH_DEFAULT
        path = ("" if path.startswith("/") else "/") + path + ("" if path.endswith("/") else "/")
        hosts = tuple(h.lower() for h in _listed(env.get("ALLOWED_RESPONSE_HOSTS")))
        # `sam local invoke` resolves the template's Ref to the boundary policy as its logical id: only
        # an ARN is a boundary (the deployed stack always gives one).
        boundary = (env.get("PERMISSIONS_BOUNDARY") or "").strip()
        return cls(
            role_path=path,
            permissions_boundary=boundary if boundary.startswith("arn:") else None,
            allow_policy_statements=(env.get("ALLOW_POLICY_STATEMENTS") or "").strip().lower() == "true",
            passable_role_pattern=(env.get("PASSABLE_ROLE_PATTERN") or "").strip(),
            task_role_pattern=(env.get("TASK_ROLE_PATTERN") or "*").strip() or "*",
            log_group_pattern=(env.get("LOG_GROUP_PATTERN") or LOG_GROUP_PATTERN_DEFAULT).strip(),
            credentials_role_patterns=_listed(env.get("CREDENTIALS_ROLE_PATTERN")),
            follow_table=(env.get("FOLLOW_TABLE") or "").strip() or None,
            allowed_response_hosts=hosts,
            sam_local=bool(env.get("AWS_SAM_LOCAL")),
        )


def _listed(text: str | None) -> tuple[str, ...]:
    """A comma-separated list, blanks left out."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def matches(pattern: str, text: str) -> bool:
    """IAM's wildcard matching, as in a resource ARN: `*` is any run of characters (`/` included),
    `?` any one character, everything else literal, and the whole text must match."""
    return bool(pattern) and _compiled(pattern).fullmatch(text) is not None


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)
