"""How `plan` and `drift` show what they found: text for a terminal, one JSON object for a machine,
and Markdown for a pull request comment."""

from __future__ import annotations

import json
from typing import Any

from .drift import ResourceDrift
from .iam_diff import Row
from .planner import ResourcePlan

SYMBOL = {"create": "+", "update": "~", "replace": "±", "none": "=", "error": "!"}


def plan_json(plans: list[ResourcePlan], warnings: list[str]) -> dict[str, Any]:
    return {"resources": [_plan_object(p) for p in plans], "warnings": warnings}


def _plan_object(p: ResourcePlan) -> dict[str, Any]:
    iam = p.iam
    return {
        "logicalId": p.logical_id,
        "action": p.action,
        "reason": p.reason,
        "stateMachineArn": p.arn,
        "revisions": list(p.revisions),
        "definition": p.definition,
        "policy": p.policy,
        "managedPolicyParts": p.managed_parts,
        "policyParts": {
            "inline": json.loads(p.documents.policy) if p.documents and p.documents.policy else None,
            "managed": [json.loads(part) for part in p.documents.managed] if p.documents else [],
        },
        "trust": p.trust,
        "role": p.role,
        "unknown": list(p.unknown),
        "changes": {
            "definition": bool(p.definition_diff) or p.action in ("create", "replace"),
            "iam": {
                "added": [r.statement() for r in iam.added] if iam else [],
                "removed": [r.statement() for r in iam.removed] if iam else [],
            },
            "other": p.other_changes,
        },
        "definitionDiff": p.definition_diff,
        "broadening": p.broadening,
        "broadeningStatements": [r.statement() for r in iam.broadening] if iam else [],
    }


def drift_json(found: list[ResourceDrift], warnings: list[str]) -> dict[str, Any]:
    return {
        "resources": [
            {
                "logicalId": d.logical_id,
                "stateMachineArn": d.arn,
                "status": d.status,
                "differences": d.differences,
                "definitionDiff": d.definition_diff,
                "iam": {
                    "added": [r.statement() for r in d.iam.added] if d.iam else [],
                    "removed": [r.statement() for r in d.iam.removed] if d.iam else [],
                },
            }
            for d in found
        ],
        "warnings": warnings,
    }


def _row(row: Row, mark: str, broadening: tuple[Row, ...]) -> str:
    condition = f" when {row.condition}" if row.condition else ""
    flag = "  [broadening]" if row in broadening else ""
    return f"{mark} {row.effect} {row.action} on {row.resource}{condition}{flag}"


def plan_text(plans: list[ResourcePlan], warnings: list[str]) -> str:
    lines = [f"warning: {w}" for w in warnings]
    for p in plans:
        lines.append(
            f"{SYMBOL[p.action]} {p.logical_id}: {p.action}" + (f" ({p.reason})" if p.reason else "")
        )
        if p.arn:
            lines.append(f"    state machine: {p.arn}")
        if p.revisions:
            lines.append("    revisions: " + ", ".join(p.revisions))
        if p.action in ("create", "replace") and p.definition is not None:
            lines += _indented("definition", p.definition)
            lines += _indented("trust policy", p.trust)
        lines += ["    " + line for line in p.definition_diff]
        lines += _iam_lines(p)
        lines += [f"    {change}" for change in p.other_changes]
    lines.append(summary(plans))
    return "\n".join(lines) + "\n"


def _iam_lines(p: ResourcePlan) -> list[str]:
    lines = []
    if p.iam and p.iam.changed:
        lines.append("    IAM statements:" + (" (the stack's own role)" if p.role != "created" else ""))
        lines += [f"      {_row(r, '+', p.iam.broadening)}" for r in p.iam.added]
        lines += [f"      {_row(r, '-', ())}" for r in p.iam.removed]
    if p.managed_parts:
        lines.append(f"    the policy is split: {p.managed_parts} managed policies beside the inline one")
    return lines


def summary(plans: list[ResourcePlan]) -> str:
    counts = {a: sum(p.action == a for p in plans) for a in SYMBOL}
    text = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    broadening = sum(p.broadening for p in plans)
    return f"Plan: {text or 'no resources'}" + (
        f"; permissions broaden in {broadening} resource(s)" if broadening else ""
    )


def _indented(title: str, document: Any) -> list[str]:
    return [f"    {title}:"] + ["      " + line for line in json.dumps(document, indent=2).splitlines()]


def plan_markdown(plans: list[ResourcePlan], warnings: list[str]) -> str:
    lines = ["## ecs-state-machine plan", ""] + [f"> **warning:** {w}" for w in warnings]
    lines += ["| resource | action | broadening | reason |", "|---|---|---|---|"]
    for p in plans:
        reason = p.reason.replace("|", "\\|")
        lines.append(f"| `{p.logical_id}` | {p.action} | {'**yes**' if p.broadening else 'no'} | {reason} |")
    for p in plans:
        if p.iam and p.iam.changed:
            lines += [
                "",
                f"### `{p.logical_id}`: IAM statements",
                "",
                "| | effect | action | resource | condition |",
            ]
            lines.append("|---|---|---|---|---|")
            for mark, found in (("+", p.iam.added), ("-", p.iam.removed)):
                for r in found:
                    flag = " ⚠ broadening" if r in p.iam.broadening else ""
                    lines.append(
                        f"| {mark}{flag} | {r.effect} | `{r.action}` | `{r.resource}` | {r.condition} |"
                    )
        if p.definition_diff:
            lines += ["", f"<details><summary><code>{p.logical_id}</code>: definition diff</summary>", ""]
            lines += ["```diff", *p.definition_diff, "```", "</details>"]
        elif p.definition is not None and p.action in ("create", "replace"):
            lines += ["", f"<details><summary><code>{p.logical_id}</code>: definition</summary>", ""]
            lines += ["```json", json.dumps(p.definition, indent=2), "```", "</details>"]
    lines += ["", summary(plans)]
    return "\n".join(lines) + "\n"


def drift_text(found: list[ResourceDrift], warnings: list[str]) -> str:
    lines = [f"warning: {w}" for w in warnings]
    for d in found:
        lines.append(f"{d.logical_id}: {d.status}" + (f" ({d.arn})" if d.arn else ""))
        lines += [f"    {difference}" for difference in d.differences]
        lines += ["      " + line for line in d.definition_diff]
    drifted = sum(d.status == "drifted" for d in found)
    lines.append(f"Drift: {drifted} of {len(found)} drifted")
    return "\n".join(lines) + "\n"


def drift_markdown(found: list[ResourceDrift], warnings: list[str]) -> str:
    lines = ["## ecs-state-machine drift", ""] + [f"> **warning:** {w}" for w in warnings]
    lines += ["| resource | status | differences |", "|---|---|---|"]
    for d in found:
        differences = "<br>".join(x.replace("|", "\\|") for x in d.differences) or "none"
        lines.append(f"| `{d.logical_id}` | {d.status} | {differences} |")
    return "\n".join(lines) + "\n"
