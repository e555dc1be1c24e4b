"""A role policy in parts that fit IAM's limits: the inline policy (10,240 characters for all of a
role's inline policies) and, for what does not fit, customer-managed policies (6,144 characters
each, at most 10 attached to a role by default), as CDK does for its own roles.

Whole statements move; a statement too large for any part on its own (a RunTask statement naming
a hundred revisions, say) is first cut into statements with the same actions and condition and a
share of its resources. IAM counts characters without white space: documents are compact JSON.
Pure: nothing here calls AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..base.errors import MISSING, PropertyError

INLINE_LIMIT = 10_240
MANAGED_LIMIT = 6_144
MANAGED_COUNT = 10
VERSION = "2012-10-17"


def size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


_EMPTY = size(_document([]))


@dataclass(frozen=True)
class PolicyParts:
    """The inline policy, and the managed policies (in order) for what it cannot hold."""

    inline: dict[str, Any]
    managed: tuple[dict[str, Any], ...] = ()


def _pieces(statement: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The statement, or (when a document of it alone would pass `limit`) statements that share
    its resources out, each with its own Sid (`<Sid>Part<n>`)."""
    if _EMPTY + size(statement) <= limit:
        return [statement]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    sid = statement.get("Sid", "Statement")
    shares: list[list[str]] = [[]]
    for resource in resources:
        trial = {**statement, "Sid": f"{sid}Part{len(shares)}", "Resource": [*shares[-1], resource]}
        if shares[-1] and _EMPTY + size(trial) > limit:
            shares.append([])
        shares[-1].append(resource)
    return [
        {**statement, "Sid": f"{sid}Part{n}", "Resource": share[0] if len(share) == 1 else share}
        for n, share in enumerate(shares, start=1)
    ]


def split(policy: dict[str, Any]) -> PolicyParts:
    """The policy as it is when it fits inline; otherwise as many statements inline as fit, in
    order, and the rest packed into managed policies (largest first, each into the first that has
    room). Refused, saying by how much, when even ten managed policies cannot hold the rest."""
    if size(policy) <= INLINE_LIMIT:
        return PolicyParts(policy)
    pieces = [piece for statement in policy["Statement"] for piece in _pieces(statement, MANAGED_LIMIT)]
    inline: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    used = _EMPTY
    for piece in pieces:
        cost = size(piece) + 1  # and its comma
        if used + cost <= INLINE_LIMIT:
            inline.append(piece)
            used += cost
        else:
            rest.append(piece)
    managed: list[list[dict[str, Any]]] = []
    sizes: list[int] = []
    for piece in sorted(rest, key=size, reverse=True):
        cost = size(piece) + 1
        index = next((i for i, taken in enumerate(sizes) if taken + cost <= MANAGED_LIMIT), len(managed))
        if index == len(managed):
            managed.append([])
            sizes.append(_EMPTY)
        managed[index].append(piece)
        sizes[index] += cost
    if len(managed) > MANAGED_COUNT:
        room = INLINE_LIMIT + MANAGED_COUNT * MANAGED_LIMIT
        raise PropertyError(
            "Definition",
            MISSING,
            f"needs a role policy of {size(policy)} characters, more than one role can hold "
            f"(one inline policy and {MANAGED_COUNT} managed ones, about {room})",
            "Split the workflow into state machines that start each other, or give RoleArn.",
        )
    return PolicyParts(_document(inline), tuple(_document(m) for m in managed))
