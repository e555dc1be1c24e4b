"""A role policy cut into parts that fit IAM's limits: unchanged when it fits inline; otherwise
every grant lands in exactly one part, each part within its limit, Sids unique in each document,
and a policy no role could hold is refused saying by how much."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.planning.policy_parts import INLINE_LIMIT, MANAGED_COUNT, MANAGED_LIMIT, size, split


def statement(sid: str, resources: int, width: int = 60) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": [
            f"arn:aws:iam::123456789012:role/{sid.lower()}/{i:0{width - 40}d}" for i in range(resources)
        ],
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def grants(*policies: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (s["Action"], json.dumps(s.get("Condition"), sort_keys=True), r)
        for p in policies
        for s in p["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    )


def test_a_policy_that_fits_inline_is_left_as_it_is():
    small = policy(statement("A", 10))
    parts = split(small)
    assert parts.inline is small and parts.managed == ()


@pytest.mark.parametrize("shape", [(1, 400), (30, 12), (3, 150), (120, 3)])
def test_a_large_policy_is_split_without_losing_or_adding_a_grant(shape):
    count, resources = shape
    large = policy(*(statement(f"S{i}", resources) for i in range(count)))
    assert size(large) > INLINE_LIMIT
    parts = split(large)
    assert size(parts.inline) <= INLINE_LIMIT
    assert parts.managed and all(size(m) <= MANAGED_LIMIT for m in parts.managed)
    assert len(parts.managed) <= MANAGED_COUNT
    assert grants(parts.inline, *parts.managed) == grants(large)
    for document in (parts.inline, *parts.managed):
        sids = [s["Sid"] for s in document["Statement"]]
        assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)


def test_a_policy_no_role_can_hold_is_refused_with_its_size():
    huge = policy(*(statement(f"S{i}", 40) for i in range(40)))
    with pytest.raises(PropertyError) as caught:
        split(huge)
    assert caught.value.reason.startswith(f"Definition: needs a role policy of {size(huge)} characters")
    assert len(caught.value.reason) <= 255
