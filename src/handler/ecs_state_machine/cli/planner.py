"""One Custom::EcsStateMachine planned with the provider's own planning (`plan.make_plan`: rules,
resolution, rendering, verdict), the documents a deploy would write (`Plan.documents`), the action
CloudFormation and the provider would take, and what changes against what exists now."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..base.arn import state_machine_name
from ..base.errors import ProviderError
from ..base.names import role_name_for
from ..planning.plan import make_plan
from ..schema import rules
from ..schema.properties import Previous, parse
from ..schema.request import OWNER_LOGICAL, OWNER_STACK
from . import iam_diff
from .template import delivered, unknowns

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..base.settings import Settings
    from ..planning.plan import Documents
    from ..schema.model import Properties
    from .reads import Existing, Reads, Stack

GENERATED = "GENERATED-AT-DEPLOY"  # a name the provider generates from the deploy's RequestId


@dataclass(frozen=True)
class Context:
    aws: Aws
    place: Place
    reads: Reads
    settings: Settings
    stack_name: str
    stack: Stack | None  # None: not deployed yet


@dataclass
class ResourcePlan:
    logical_id: str
    action: str  # create, update, replace, none or error
    reason: str = ""
    arn: str | None = None
    revisions: tuple[str, ...] = ()
    definition: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None  # every statement the role gets, inline and managed parts
    managed_parts: int = 0
    trust: dict[str, Any] | None = None
    role: str = ""  # the role the state machine runs as ("created": the provider's)
    unknown: tuple[str, ...] = ()
    definition_diff: list[str] = field(default_factory=list)
    iam: iam_diff.Change | None = None
    other_changes: list[str] = field(default_factory=list)
    documents: Documents | None = None

    @property
    def broadening(self) -> bool:
        return bool(self.iam and self.iam.broadening)


def generated_arn(ctx: Context, logical_id: str) -> str:
    """The ARN of a name the deploy generates: shown as such, never guessed."""
    return ctx.place.state_machine_arn(f"{ctx.stack_name}-{logical_id}-{GENERATED}")


def plan_resource(
    ctx: Context, logical_id: str, raw: dict[str, Any], old: dict[str, Any] | None
) -> ResourcePlan:
    physical = ctx.stack.physical_id(logical_id) if ctx.stack else None
    deployed = physical if physical and ctx.place.state_machine_name(physical) else None
    missing = unknowns(raw)
    if missing:
        return ResourcePlan(
            logical_id,
            "update" if deployed else "create",
            reason="not known before the deploy: " + "; ".join(sorted({u.why for u in missing})),
            arn=deployed,
            unknown=tuple(sorted({u.why for u in missing})),
        )
    properties = delivered(raw)
    try:
        props = parse(properties)
        existing = (
            ctx.reads.existing(deployed, ctx.settings.role_path, not props.role_arn) if deployed else None
        )
        action, target, why = _target(ctx, logical_id, props, deployed, existing, old)
        made = make_plan(props, ctx.place, ctx.aws, ctx.settings)
    except ProviderError as err:
        return ResourcePlan(logical_id, "error", reason=f"{logical_id}: {str(err)[:256]}", arn=deployed)
    docs = made.documents(target)
    result = ResourcePlan(
        logical_id,
        action,
        reason=why,
        arn=target,
        revisions=made.revisions,
        definition=json.loads(docs.definition),
        policy=made.policy_for(target),
        managed_parts=len(docs.managed),
        trust=json.loads(docs.trust),
        role=props.role_arn or "created",
        documents=docs,
    )
    if action == "update" and existing is not None:
        _compare(ctx, result, props, existing, properties != old)
    elif action in ("create", "replace"):
        result.iam = iam_diff.compare(existing.statements if existing else [], statements_of(docs))
    return result


def _target(
    ctx: Context,
    logical_id: str,
    props: Properties,
    deployed: str | None,
    existing: Existing | None,
    old: dict[str, Any] | None,
) -> tuple[str, str, str]:
    """(action, the state machine ARN the deploy writes, why), as `Lifecycle` decides it:
    StateMachineName and StateMachineType are fixed at creation."""
    named = ctx.place.state_machine_arn(props.state_machine_name) if props.state_machine_name else None
    if deployed is None:
        return "create", named or generated_arn(ctx, logical_id), "not deployed yet"
    if existing is None:
        return "replace", named or generated_arn(ctx, logical_id), f"{deployed} no longer exists"
    previous = Previous.of(old) if old is not None else Previous.of(None)
    current = state_machine_name(deployed)
    name = props.state_machine_name or (GENERATED if previous.named else current)
    if name != current:
        return "replace", named or generated_arn(ctx, logical_id), f"StateMachineName {current} -> {name}"
    if props.state_machine_type != existing.state_machine_type:
        rules.check_type_change(props, name)
        why = f"StateMachineType {existing.state_machine_type} -> {props.state_machine_type}"
        return "replace", generated_arn(ctx, logical_id), why
    return "update", deployed, ""


def statements_of(docs: Documents) -> list[Any]:
    found = list(json.loads(docs.policy)["Statement"]) if docs.policy else []
    for part in docs.managed:
        found += json.loads(part)["Statement"]
    return found


def _compare(
    ctx: Context, result: ResourcePlan, props: Properties, existing: Existing, props_changed: bool
) -> None:
    docs = result.documents
    assert docs is not None and result.definition is not None
    if existing.definition != result.definition:
        result.definition_diff = definition_diff(existing.definition, result.definition)
    if not props.role_arn:
        result.iam = iam_diff.compare(existing.statements, statements_of(docs))
        result.other_changes += _role_changes(existing, result.trust)
    elif existing.role_arn != props.role_arn:
        result.other_changes.append(
            f"the state machine's role changes: {existing.role_arn} -> {props.role_arn}"
        )
    result.other_changes += configuration_changes(existing, docs)
    wanted = {**dict(props.tags), **ownership(ctx, result.logical_id)}
    changed = sorted(k for k, v in wanted.items() if existing.tags.get(k) != v)
    if changed:
        result.other_changes.append("tags change: " + ", ".join(changed))
    if not (result.definition_diff or (result.iam and result.iam.changed) or result.other_changes):
        result.action = "update" if props_changed else "none"
        result.reason = "properties change; nothing the provider writes does" if props_changed else ""


def _role_changes(existing: Existing, trust: dict[str, Any] | None) -> list[str]:
    if existing.role is None:
        return [f"role {role_name_for(existing.arn)} is missing: the deploy creates it"]
    if existing.role.get("AssumeRolePolicyDocument") != trust:
        return ["the role's trust policy changes"]
    return []


def configuration_changes(existing: Existing, docs: Documents) -> list[str]:
    """How the state machine's logging, tracing and encryption differ from what `docs` say."""
    found = []
    now, wanted = _logging(existing.logging), _logging(docs.logging)
    if now != wanted:
        found.append(f"logging: {json.dumps(now)} -> {json.dumps(wanted)}")
    if bool(existing.tracing.get("enabled")) != bool(docs.tracing.get("enabled")):
        found.append(
            f"tracing: {bool(existing.tracing.get('enabled'))} -> {bool(docs.tracing.get('enabled'))}"
        )
    if docs.encryption is not None:
        keys = ("type", "kmsKeyId")
        now_key = {k: existing.encryption.get(k) for k in keys if existing.encryption.get(k)}
        wanted_key = {k: docs.encryption.get(k) for k in keys if docs.encryption.get(k)}
        if now_key != wanted_key:
            found.append(f"encryption: {json.dumps(now_key)} -> {json.dumps(wanted_key)}")
    return found


def _logging(configuration: dict[str, Any]) -> dict[str, Any]:
    level = str(configuration.get("level") or "OFF")
    if level == "OFF":
        return {"level": "OFF"}
    return {
        "level": level,
        "includeExecutionData": bool(configuration.get("includeExecutionData")),
        "destinations": configuration.get("destinations") or [],
    }


def ownership(ctx: Context, logical_id: str) -> dict[str, str]:
    return {OWNER_STACK: ctx.stack.stack_id if ctx.stack else "", OWNER_LOGICAL: logical_id}


def definition_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old = json.dumps(before, indent=2, sort_keys=True).splitlines()
    new = json.dumps(after, indent=2, sort_keys=True).splitlines()
    return list(difflib.unified_diff(old, new, "deployed", "planned", lineterm="", n=2))
