"""From validated properties to every document the lifecycle writes: the definition, the role's
inline and trust policies, the logging and tracing configuration, and the attributes returned to
CloudFormation. Both modes meet here; the lifecycle only writes what the plan says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..schema import definition as asl
from ..schema import rules, state_rules, task_rules
from ..schema.model import SingleTask, Workflow
from ..schema.resolved import Resolved
from ..schema.run_request import from_single_task
from . import policy_parts, preflight, render, single_task, verdict
from .resolve import resolve, resolve_key, resolve_states

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..base.settings import Settings


@dataclass(frozen=True)
class Documents:
    """What is written for one state machine ARN (the role's policies name it)."""

    definition: str
    policy: str | None  # the inline policy; None: the state machine calls nothing and needs no permission
    managed: tuple[str, ...]  # managed policies for what the inline policy cannot hold (IAM's size limits)
    trust: str
    logging: dict[str, Any]
    tracing: dict[str, Any]
    encryption: dict[str, Any] | None  # None: not sent (AWS's own key, as it always was)


@dataclass(frozen=True)
class Plan:
    definition: dict[str, Any]
    policy: dict[str, Any]
    data: dict[str, str]
    logging: dict[str, Any]
    tracing: dict[str, Any]
    runs_child_executions: bool = False  # a Distributed Map starts executions of its own state machine
    families: tuple[str, ...] = ()  # the task definition families it runs (FollowRevisions follows them)
    revisions: tuple[str, ...] = ()  # every revision it was made from (the policy names their roles)
    encryption: dict[str, Any] = field(default_factory=lambda: {"type": "AWS_OWNED_KEY"})
    # Sent only when the properties say it, so that a runtime boto3 older than encryption at rest
    # still deploys everything else.
    states_encryption: bool = False

    def policy_for(self, state_machine_arn: str) -> dict[str, Any]:
        """The role policy for the state machine `state_machine_arn`, which a Distributed Map and a
        customer-managed key name."""
        extra = [
            *(render.child_execution_statements(state_machine_arn) if self.runs_child_executions else ()),
            *render.key_statements(self.encryption.get("kmsKeyId"), state_machine_arn, self.logging),
        ]
        return {**self.policy, "Statement": [*self.policy["Statement"], *extra]} if extra else self.policy

    def documents(self, state_machine_arn: str, *, also: dict[str, Any] | None = None) -> Documents:
        """Every document for `state_machine_arn`. With `also` (the policy the role has now), the
        role's policy grants both: what a move from one revision to another writes first, so that
        neither the old nor the new definition is ever without its grants."""
        policy = self.policy_for(state_machine_arn)
        if also is not None:
            policy = {**policy, "Statement": render.union(also.get("Statement", []), policy["Statement"])}
        parts = policy_parts.split(policy)
        return Documents(
            definition=json.dumps(self.definition, separators=(",", ":")),
            policy=_compact(parts.inline) if parts.inline["Statement"] else None,
            managed=tuple(_compact(m) for m in parts.managed),
            trust=json.dumps(render.render_trust_policy(state_machine_arn), separators=(",", ":")),
            logging=self.logging,
            tracing=self.tracing,
            encryption=self.encryption if self.states_encryption else None,
        )


def make_plan(props: SingleTask | Workflow, place: Place, aws: Aws, settings: Settings) -> Plan:
    rules.check_properties(props, place, settings)
    plan = (
        _single_task(props, place, aws, settings)
        if isinstance(props, SingleTask)
        else _workflow(props, place, aws, settings)
    )
    verdict.check(
        aws, plan.definition, props.state_machine_type, "Definition" if isinstance(props, Workflow) else None
    )
    if props.encryption:
        plan = replace(plan, states_encryption=True)
    if props.encryption and props.encryption.customer_managed:
        key = resolve_key(str(props.encryption.kms_key_id), aws, place)
        plan = replace(
            plan,
            encryption={
                "type": "CUSTOMER_MANAGED_KMS_KEY",
                "kmsKeyId": key,
                "kmsDataKeyReusePeriodSeconds": props.encryption.reuse_seconds,
            },
        )
    if not props.role_arn:
        # Before anything is made: the role's permissions fit IAM's limits, for the longest name.
        policy_parts.split(plan.policy_for(place.state_machine_arn("x" * 80)))
    return plan


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _single_task(props: SingleTask, place: Place, aws: Aws, settings: Settings) -> Plan:
    task_rules.check_single_task_place(props, place)
    td, cluster, network = resolve(props, aws)
    resolved = Resolved(td, task_rules.single_task_facts(props, td, place, settings), cluster.arn)
    preflight.check(from_single_task(props), td, cluster, network)
    task_rules.check_overrides_size(single_task.overrides(props, resolved))
    return Plan(
        definition=single_task.render_definition(props, resolved),
        policy=render.render_role_policy(props, resolved),
        data={
            "TaskDefinitionArn": td.arn,
            "TaskDefinitionRevision": str(td.revision),
            "TaskDefinitionArns": td.arn,
            "ContainerName": resolved.container_name,
            "ContainerNames": ",".join(td.containers),
        },
        logging=render.logging_configuration(props),
        tracing=render.tracing_configuration(props),
        families=(td.family,),
        revisions=(td.arn,),
    )


def _workflow(props: Workflow, place: Place, aws: Aws, settings: Settings) -> Plan:
    asl.validate(props.definition)
    tasks = asl.ecs_tasks(props.definition)
    state_rules.check_states(props, tasks, place, settings)
    facts, network = resolve_states(props, tasks, aws, place.account)
    state_rules.check_state_facts(facts, place, settings)
    for fact in facts:
        if not fact.foreign:
            td = fact.revisions[0] if fact.revisions and not fact.dynamic else None
            preflight.check(fact.task.request, td, fact.cluster, network)
    return Plan(
        definition=asl.pin(props.definition, {f.task.path: f.parameters(props.pin_revision) for f in facts}),
        policy=render.role_policy(
            [f.grant(props.pin_revision) for f in facts],
            logging_enabled=bool(props.logging and props.logging.enabled),
            tracing_enabled=props.tracing_enabled,
            extra=props.policy_statements,
        ),
        data={
            "TaskDefinitionArns": ",".join(f.revisions[0].arn for f in facts if f.revisions and not f.dynamic)
        },
        logging=render.logging_configuration(props),
        tracing=render.tracing_configuration(props),
        runs_child_executions=asl.has_distributed_map(props.definition),
        families=tuple(dict.fromkeys(td.family for f in facts for td in f.revisions)),
        revisions=tuple(dict.fromkeys(td.arn for f in facts for td in f.revisions)),
    )
