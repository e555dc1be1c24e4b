"""IAM statements compared the way `cdk diff` shows them: each statement split into one row per
action and resource (with its effect and condition), rows added and removed, and every added
Allow that grants what no row of today grants marked as a broadening."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..base.settings import matches


@dataclass(frozen=True, order=True)
class Row:
    effect: str
    action: str
    resource: str
    condition: str  # JSON, keys sorted; "" for none

    def statement(self) -> dict[str, Any]:
        """The row as IAM writes a statement."""
        written: dict[str, Any] = {"Effect": self.effect, "Action": self.action, "Resource": self.resource}
        if self.condition:
            written["Condition"] = json.loads(self.condition)
        return written

    def covers(self, other: Row) -> bool:
        """Whether this Allow grants everything `other` does (wildcards as IAM matches them)."""
        return (
            self.effect == other.effect == "Allow"
            and matches(self.action.lower(), other.action.lower())
            and matches(self.resource, other.resource)
            and (not self.condition or self.condition == other.condition)
        )


@dataclass(frozen=True)
class Change:
    added: tuple[Row, ...]
    removed: tuple[Row, ...]
    broadening: tuple[Row, ...]  # the added rows nothing of today's covers

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def rows(statements: Any) -> set[Row]:
    found: set[Row] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            continue
        condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
        actions = _listed(statement.get("Action", statement.get("NotAction")))
        resources = _listed(statement.get("Resource", statement.get("NotResource")))
        prefix_action = "" if "Action" in statement else "NOT "
        prefix_resource = "" if "Resource" in statement else "NOT "
        for action in actions:
            for resource in resources:
                found.add(
                    Row(
                        str(statement.get("Effect", "Allow")),
                        prefix_action + action,
                        prefix_resource + resource,
                        condition,
                    )
                )
    return found


def compare(before: Any, after: Any) -> Change:
    old, new = rows(before), rows(after)
    added = tuple(sorted(new - old))
    allows = [row for row in old if row.effect == "Allow"]
    return Change(
        added=added,
        removed=tuple(sorted(old - new)),
        broadening=tuple(r for r in added if r.effect == "Allow" and not any(o.covers(r) for o in allows)),
    )


def _listed(value: Any) -> list[str]:
    if value is None:
        return ["*"]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
