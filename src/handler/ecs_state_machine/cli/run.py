"""`plan` and `drift` from start to end: the caller's account and region, the stacks' record, the
template's values, the provider's settings, then each resource planned or checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..base.arn import Place
from . import provider_settings
from .drift import ResourceDrift, drift_resource
from .planner import Context, ResourcePlan, plan_resource
from .reads import Reads, Stack
from .template import Evaluator, TemplateError, Unknown, custom_resources, delivered, load

if TYPE_CHECKING:
    from ..base.aws import Aws


@dataclass
class Outcome:
    resources: list[Any]  # ResourcePlan or ResourceDrift
    warnings: list[str] = field(default_factory=list)


def where(aws: Aws) -> Place:
    caller = aws.call("sts", "get_caller_identity", "finding the account of the credentials")
    region = aws.client("sts").meta.region_name
    return Place(str(caller["Arn"]).split(":")[1], str(region), str(caller["Account"]))


class StackValues:
    """Ref and Fn::GetAtt of a template's resources: what the stack has (DescribeStackResources),
    or what the template itself fixes (a RoleName, a LogGroupName); otherwise Unknown."""

    def __init__(self, place: Place, reads: Reads, stack: Stack | None, template: dict[str, Any]) -> None:
        self.place, self.reads, self.stack, self.template = place, reads, stack, template
        self.evaluator: Evaluator | None = None

    def __call__(self, logical_id: str, attribute: str | None) -> Any:
        resource = self.template["Resources"][logical_id]
        kind = str(resource.get("Type", ""))
        physical = self.stack.physical_id(logical_id) if self.stack else None
        if physical is None:
            physical = self._named(kind, resource.get("Properties") or {})
        if physical is None or isinstance(physical, Unknown):
            return physical or Unknown(f"{logical_id} is created by the deploy")
        if attribute is None or (kind, attribute) in (("Custom::EcsStateMachine", "Arn"),):
            return physical
        if (kind, attribute) == ("AWS::Logs::LogGroup", "Arn"):
            return self.place.arn("logs", f"log-group:{physical}:*")
        if (kind, attribute) == ("AWS::IAM::Role", "Arn"):
            path = (resource.get("Properties") or {}).get("Path", "/")
            if self.stack and self.stack.physical_id(logical_id):
                found = self.reads.aws.call("iam", "get_role", f"reading role {physical}", RoleName=physical)
                return str(found["Role"]["Arn"])
            return self.place.arn("iam", f"role{path}{physical}", regional=False)
        if (kind, attribute) == ("AWS::KMS::Key", "Arn"):
            return self.place.arn("kms", f"key/{physical}")
        return Unknown(f"{logical_id}.{attribute} is not read before the deploy")

    def _named(self, kind: str, properties: dict[str, Any]) -> Any:
        """A physical id the template fixes itself, for the few types named by a property."""
        name_property = {
            "AWS::IAM::Role": "RoleName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::KMS::Alias": "AliasName",
        }.get(kind)
        if name_property and name_property in properties and self.evaluator is not None:
            return self.evaluator.value(properties[name_property])
        return None


def evaluator(
    place: Place,
    reads: Reads,
    stack: Stack | None,
    stack_name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
) -> Evaluator:
    values = StackValues(place, reads, stack, template)
    pseudo = {
        "AWS::AccountId": place.account,
        "AWS::Region": place.region,
        "AWS::Partition": place.partition,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack.stack_id if stack else Unknown("AWS::StackId (the stack does not exist yet)"),
        "AWS::URLSuffix": "amazonaws.com.cn" if place.partition == "aws-cn" else "amazonaws.com",
        "AWS::NotificationARNs": Unknown("AWS::NotificationARNs"),
    }

    def imports(name: str) -> Any:
        found = reads.exports().get(name)
        return found[0] if found else Unknown(f"no stack exports {name}")

    declared = template.get("Parameters") or {}
    given = {k: v for k, v in parameters.items() if k in declared}
    ev = Evaluator(template, given, pseudo, values, imports)
    values.evaluator = ev
    return ev


def properties_of(ev: Evaluator) -> dict[str, dict[str, Any]]:
    """Each Custom::EcsStateMachine the stack creates, with its evaluated properties."""
    found = {}
    for logical_id, resource in custom_resources(ev.template).items():
        if ev.creates(resource) is False:
            continue
        found[logical_id] = ev.value(resource.get("Properties") or {})
    return found


def plan(
    aws: Aws,
    template_text: str,
    *,
    stack_name: str | None,
    overrides: dict[str, str],
    provider_stack: str | None,
) -> Outcome:
    template = load(template_text)
    undeclared = sorted(set(overrides) - set(template.get("Parameters") or {}))
    if undeclared:
        raise TemplateError(
            f"--parameter-overrides: the template declares no parameter {', '.join(undeclared)}"
        )
    place, reads = where(aws), Reads(aws)
    stack = reads.stack(stack_name) if stack_name else None
    if stack is not None and stack.status in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        stack = None
    parameters = {**(stack.parameters if stack else {}), **overrides}
    ev = evaluator(place, reads, stack, stack_name or "STACK-NAME", template, parameters)
    resources = properties_of(ev)
    old = _deployed_properties(place, reads, stack) if stack else {}
    token = next((p.get("ServiceToken") for p in resources.values()), None)
    settings = provider_settings.read(reads, provider_stack, token)
    ctx = Context(aws, place, reads, settings.settings, stack_name or "STACK-NAME", stack)
    planned: list[ResourcePlan] = [
        plan_resource(ctx, logical_id, raw, old.get(logical_id)) for logical_id, raw in resources.items()
    ]
    return Outcome(planned, list(settings.warnings))


def _deployed_properties(place: Place, reads: Reads, stack: Stack) -> dict[str, dict[str, Any]]:
    """The properties CloudFormation last delivered (the deployed template, its parameters)."""
    try:
        template = load(reads.template(stack))
        ev = evaluator(place, reads, stack, stack.name, template, stack.parameters)
        return {k: delivered(v) for k, v in properties_of(ev).items()}
    except TemplateError:
        return {}


def drift(aws: Aws, *, stack_name: str, provider_stack: str | None) -> Outcome:
    place, reads = where(aws), Reads(aws)
    stack = reads.stack(stack_name)
    if stack is None:
        raise TemplateError(f"stack {stack_name} does not exist")
    template = load(reads.template(stack))
    ev = evaluator(place, reads, stack, stack.name, template, stack.parameters)
    resources = properties_of(ev)
    token = next((p.get("ServiceToken") for p in resources.values()), None)
    settings = provider_settings.read(reads, provider_stack, token)
    ctx = Context(aws, place, reads, settings.settings, stack.name, stack)
    checked: list[ResourceDrift] = [drift_resource(ctx, k, raw) for k, raw in resources.items()]
    return Outcome(checked, list(settings.warnings))
