"""CloudFormation templates as CloudFormation reads them: parsed (cfn-lint's decoder, which knows
the short-form intrinsics), with parameters and pseudo parameters fixed so that intrinsics can be
evaluated, and resource properties as a custom resource receives them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

from testkit.cloudformation import stringify
from testkit.estate import ACCOUNT

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
RESOURCE_TYPE = "Custom::EcsStateMachine"


NO_VALUE = object()


class Stack:
    """A template with its parameters and pseudo parameters fixed, so intrinsics can be evaluated."""

    def __init__(
        self,
        template: dict,
        parameters: dict[str, Any] | None = None,
        *,
        partition: str = "aws",
        region: str = "eu-west-1",
        account: str = ACCOUNT,
        stack_name: str = "ecs-state-machine",
    ) -> None:
        self.template = template
        self.refs: dict[str, Any] = {
            name: str(spec["Default"])
            for name, spec in template.get("Parameters", {}).items()
            if "Default" in spec
        }
        declared = set(template.get("Parameters", {}))
        assert set(parameters or {}) <= declared, f"template has no parameters {set(parameters) - declared}"
        self.refs.update(parameters or {})
        assert set(self.refs) == declared, f"no value for parameters {declared - set(self.refs)}"
        self.refs.update(
            {
                "AWS::Partition": partition,
                "AWS::Region": region,
                "AWS::AccountId": account,
                "AWS::StackName": stack_name,
                "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            }
        )
        self.partition, self.region, self.account, self.stack_name = partition, region, account, stack_name

    def physical_name(self, logical_id: str) -> str:
        resource = self.template["Resources"][logical_id]
        for name_property in ("LogGroupName", "RoleName"):
            if name_property in resource.get("Properties", {}):
                return self.render(resource["Properties"][name_property])
        return f"{self.stack_name}-{logical_id}-SAMPLE"

    def ref(self, name: str) -> Any:
        if name in self.refs:
            return self.refs[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        resource = self.template["Resources"][name]
        if "Condition" in resource:
            assert self.condition(resource["Condition"]), f"Ref to {name}, which this stack does not create"
        if resource["Type"] == "AWS::IAM::ManagedPolicy":  # Ref is the policy's ARN
            path = resource["Properties"].get("Path", "/")
            return f"arn:{self.partition}:iam::{self.account}:policy{path}{self.physical_name(name)}"
        if resource["Type"] == "AWS::KMS::Alias":  # Ref is the alias name
            return str(self.render(resource["Properties"]["AliasName"]))
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self.template["Resources"][logical_id]["Type"]
        name = self.physical_name(logical_id)
        if (resource_type, attribute) == ("AWS::Logs::LogGroup", "Arn"):
            return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}:*"
        if (resource_type, attribute) == ("AWS::IAM::Role", "Arn"):
            path = self.template["Resources"][logical_id].get("Properties", {}).get("Path", "/")
            return f"arn:{self.partition}:iam::{self.account}:role{path}{name}"
        if (resource_type, attribute) == ("AWS::DynamoDB::Table", "Arn"):
            return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{name}"
        if (resource_type, attribute) == ("AWS::Events::Rule", "Arn"):
            return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{name}"
        return f"<{logical_id}.{attribute}>"

    def condition(self, name: str) -> bool:
        return bool(self.render(self.template["Conditions"][name]))

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.render(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def render(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.render(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), *_ = node.items()
            if key == "Ref":
                return NO_VALUE if value == "AWS::NoValue" else self.ref(value)
            if key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                return self.sub(text, variables)
            if key == "Fn::GetAtt":
                logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::ImportValue":
                return f"<import {self.render(value)}>"
            if key == "Fn::Join":
                separator, items = value
                return separator.join(self.render(items))
            if key == "Fn::Split":
                separator, text = value
                return str(self.render(text)).split(separator)
            if key == "Fn::If":
                name, when_true, when_false = value
                return self.render(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.render(item) for item in value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.render(value[0])
            if key == "Fn::And":
                return all(self.render(item) for item in value)
            if key == "Fn::Or":
                return any(self.render(item) for item in value)
            if key == "Condition":
                return self.condition(value)
            assert not key.startswith("Fn::"), f"no renderer for {key}"
        rendered = {key: self.render(value) for key, value in node.items()}
        return {key: value for key, value in rendered.items() if value is not NO_VALUE}


def load(path: Path) -> dict[str, Any]:
    template, problems = decode_str(path.read_text())
    assert not problems, problems
    return dict(template)


def provision(aws: Any, path: Path, stack_name: str, parameters: dict[str, Any], **place: Any) -> None:
    """What CloudFormation would have made of an example's other resources before its
    Custom::EcsStateMachine, as the custom resource sees them: state machine roles (named as
    `Stack` names them), log groups, and KMS keys with their aliases."""
    from testkit.account import STATES_TRUST

    template = load(path)
    given = {k: v for k, v in parameters.items() if k in template.get("Parameters", {})}
    stack = Stack(template, given, stack_name=stack_name, **place)
    for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items():
        if "states.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"]):
            aws.client("iam").create_role(
                RoleName=stack.physical_name(logical_id),
                Path=role["Properties"].get("Path", "/"),
                AssumeRolePolicyDocument=STATES_TRUST,
            )
    for logical_id in resources_of_type(template, "AWS::Logs::LogGroup"):
        aws.client("logs").create_log_group(logGroupName=stack.physical_name(logical_id))
    kms = aws.client("kms")
    for alias in resources_of_type(template, "AWS::KMS::Alias").values():
        key = template["Resources"][alias["Properties"]["TargetKeyId"]["Ref"]]["Properties"]
        policy = json.dumps(stack.render(key["KeyPolicy"]))
        created = kms.create_key(Description=str(key.get("Description", "")), Policy=policy)
        kms.create_alias(
            AliasName=stack.render(alias["Properties"]["AliasName"]),
            TargetKeyId=created["KeyMetadata"]["KeyId"],
        )


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def custom_resources(path: Path, parameters: dict[str, Any], **place: Any) -> dict[str, dict[str, Any]]:
    """The template's Custom::EcsStateMachine resources, each with its properties as CloudFormation
    delivers them (intrinsics evaluated, every scalar a string), ServiceToken left out."""
    template = load(path)
    given = {k: v for k, v in parameters.items() if k in template.get("Parameters", {})}
    stack = Stack(template, given, **place)
    found = {}
    for name, resource in resources_of_type(template, RESOURCE_TYPE).items():
        rendered = stack.render(resource["Properties"])
        rendered.pop("ServiceToken", None)
        found[name] = stringify(rendered)
    return found


def _target_of(arn: Any) -> str | None:
    """The logical id a target's Arn names (`!Ref X`, `!GetAtt X.Arn`), if it names one."""
    if isinstance(arn, dict) and "Ref" in arn:
        return str(arn["Ref"])
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        attribute = arn["Fn::GetAtt"]
        return str(attribute[0] if isinstance(attribute, list) else attribute.split(".")[0])
    return None


def trigger_inputs(path: Path) -> dict[str, list[str]]:
    """Every execution input the template's own triggers send, by the logical id they start: an
    EventBridge Scheduler schedule's Target.Input, an EventBridge rule's Targets[].Input. A trigger
    that sends no Input sends `{}` (a schedule) or the event (a rule: refused here, no example has
    one)."""
    template = load(path)
    sent: dict[str, list[str]] = {}
    for schedule in resources_of_type(template, "AWS::Scheduler::Schedule").values():
        target = schedule["Properties"]["Target"]
        name = _target_of(target["Arn"])
        if name is not None:
            sent.setdefault(name, []).append(str(target.get("Input", "{}")))
    for rule in resources_of_type(template, "AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets", []):
            name = _target_of(target["Arn"])
            if name is not None:
                assert "Input" in target, f"{path.name}: a rule target without Input sends the event itself"
                sent.setdefault(name, []).append(str(target["Input"]))
    return sent
