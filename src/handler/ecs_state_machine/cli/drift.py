"""What changed outside the stack: for each Custom::EcsStateMachine of a deployed stack, what the
provider wrote (its deployed template and parameters, planned at the revisions the deployed
definition pins) against what exists now: definition, role trust, inline and attached policies,
permissions boundary, tags."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..base.arn import TASK_DEFINITION
from ..base.errors import ProviderError
from ..base.names import POLICY_NAME, role_name_for
from ..planning.plan import make_plan
from ..schema import definition as asl
from ..schema.properties import parse
from ..schema.values import OWNERSHIP_TAG_PREFIX
from . import iam_diff
from .planner import configuration_changes, definition_diff, ownership, statements_of
from .template import delivered, unknowns

if TYPE_CHECKING:
    from ..planning.plan import Documents
    from ..schema.model import Properties
    from .planner import Context
    from .reads import Existing


@dataclass
class ResourceDrift:
    logical_id: str
    arn: str | None
    status: str  # in-sync, drifted or error
    differences: list[str] = field(default_factory=list)
    definition_diff: list[str] = field(default_factory=list)
    iam: iam_diff.Change | None = None


def drift_resource(ctx: Context, logical_id: str, raw: dict[str, Any]) -> ResourceDrift:
    arn = ctx.stack.physical_id(logical_id) if ctx.stack else None
    if not arn or not ctx.place.state_machine_name(arn):
        return ResourceDrift(logical_id, arn, "error", [f"{logical_id} has no state machine in the stack"])
    missing = unknowns(raw)
    if missing:
        return ResourceDrift(logical_id, arn, "error", [f"cannot be rendered: {missing[0].why}"])
    try:
        props = parse(delivered(raw))
        existing = ctx.reads.existing(arn, ctx.settings.role_path, not props.role_arn)
        if existing is None:
            return ResourceDrift(logical_id, arn, "drifted", [f"state machine {arn} no longer exists"])
        pinned = parse(delivered(pin(raw, existing.definition)))
        docs = make_plan(pinned, ctx.place, ctx.aws, ctx.settings).documents(arn)
    except ProviderError as err:
        return ResourceDrift(logical_id, arn, "error", [f"{logical_id}: {err}"])
    found = ResourceDrift(logical_id, arn, "in-sync")
    _compare(ctx, found, pinned, docs, existing)
    if found.differences:
        found.status = "drifted"
    return found


def pin(raw: dict[str, Any], deployed: dict[str, Any]) -> dict[str, Any]:
    """The properties with each task definition the deployed definition names by revision."""
    pinned = copy.deepcopy(raw)
    revisions = {
        path: str(state.get("Parameters", state.get("Arguments", {})).get("TaskDefinition", ""))
        for path, _name, state, _jsonata in asl.states(deployed)
    }
    revisions = {
        path: arn for path, arn in revisions.items() if TASK_DEFINITION.match(arn) and arn.count(":") == 6
    }
    if "Definition" in pinned and isinstance(pinned["Definition"], dict):
        for path, _name, state, jsonata in asl.states(pinned["Definition"]):
            payload = state.get("Arguments" if jsonata else "Parameters")
            if path in revisions and isinstance(payload, dict) and "TaskDefinition" in payload:
                payload["TaskDefinition"] = revisions[path]
    elif "TaskDefinition" in pinned and len(set(revisions.values())) == 1:
        pinned["TaskDefinition"] = next(iter(revisions.values()))
    return pinned


def _compare(
    ctx: Context, found: ResourceDrift, props: Properties, docs: Documents, existing: Existing
) -> None:
    written = json.loads(docs.definition)
    if existing.definition != written:
        found.differences.append("definition: rewritten outside the stack")
        found.definition_diff = definition_diff(written, existing.definition)
    found.differences += [
        f"{change} (edited outside the stack)" for change in configuration_changes(existing, docs)
    ]
    wanted_tags = {**dict(props.tags), **ownership(ctx, found.logical_id)}
    found.differences += _tags("state machine tags", wanted_tags, existing.tags)
    if props.role_arn:
        if existing.role_arn != props.role_arn:
            found.differences.append(f"role: runs as {existing.role_arn}, the stack says {props.role_arn}")
        return
    role = existing.role
    name = role_name_for(existing.arn)
    if role is None:
        found.differences.append(f"role {name}: deleted outside the stack")
        return
    if role.get("AssumeRolePolicyDocument") != json.loads(docs.trust):
        found.differences.append(f"role {name}: trust policy edited")
    found.differences += _policies(name, docs, existing)
    found.iam = iam_diff.compare(statements_of(docs), existing.statements)
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    wanted = ctx.settings.permissions_boundary or props.role_permissions_boundary
    if wanted and boundary != wanted:
        found.differences.append(f"role {name}: permissions boundary is {boundary or 'none'}, not {wanted}")
    role_tags = {str(t["Key"]): str(t["Value"]) for t in role.get("Tags", [])}
    found.differences += _tags(f"role {name} tags", wanted_tags, role_tags)


def _policies(name: str, docs: Documents, existing: Existing) -> list[str]:
    """Each statement added to or removed from the inline policy, each policy attached outside
    the stack, and whether the provider's managed policies were edited."""
    differences = []
    written_inline = json.loads(docs.policy)["Statement"] if docs.policy else []
    inline = iam_diff.compare(written_inline, (existing.inline or {}).get("Statement", []))
    for verb, rows in (("added", inline.added), ("removed", inline.removed)):
        for row in rows:
            differences.append(
                f"role {name} policy {POLICY_NAME}: statement {verb}: {row.action} on {row.resource}"
                + (f" when {row.condition}" if row.condition else "")
            )
    parts = [json.loads(part)["Statement"] for part in docs.managed]
    for document in existing.managed.values():
        if "attached" in document:
            differences.append(f"role {name}: policy {document['attached']} attached outside the stack")
    written_managed = [s for part in parts for s in part]
    found_managed = [
        s for d in existing.managed.values() if "attached" not in d for s in d.get("Statement", [])
    ]
    managed = iam_diff.compare(written_managed, found_managed)
    if managed.changed:
        differences.append(
            f"role {name}: its managed policies were edited ({len(managed.added)} rows added, "
            f"{len(managed.removed)} removed)"
        )
    return differences


def _tags(what: str, wanted: dict[str, str], found: dict[str, str]) -> list[str]:
    differences = [
        f"{what}: {key} is {found[key]!r}, not {value!r}" if key in found else f"{what}: {key} removed"
        for key, value in wanted.items()
        if found.get(key) != value
    ]
    differences += [
        f"{what}: {key} added outside the stack"
        for key in found
        if key not in wanted and not key.startswith(OWNERSHIP_TAG_PREFIX)
    ]
    return differences
