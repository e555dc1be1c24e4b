"""A CloudFormation template read and evaluated the way CloudFormation evaluates it before it hands a
custom resource its properties: parameters, pseudo parameters, conditions and the intrinsic
functions whose value can be known. What cannot be known (an attribute of a resource not yet
created) becomes an `Unknown` that says why, never a guess."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml  # type: ignore[import-untyped]

RESOURCE_TYPE = "Custom::EcsStateMachine"
NO_VALUE: Any = object()  # Ref AWS::NoValue: the property is left out
_SHORT_TAGS = (
    "And", "Base64", "Cidr", "Condition", "Equals", "FindInMap", "GetAZs", "GetAtt", "If",
    "ImportValue", "Join", "Not", "Or", "Ref", "Select", "Split", "Sub", "Transform",
)  # fmt: skip


class TemplateError(Exception):
    """The template cannot be read or evaluated; the message says where."""


@dataclass(frozen=True)
class Unknown:
    """A value CloudFormation learns only during the deploy."""

    why: str

    def __str__(self) -> str:
        return f"<unknown: {self.why}>"


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML as CloudFormation reads it: short-form intrinsic tags, and dates kept as text
    (`Version: 2012-10-17` is a string to IAM)."""


def _tag_constructor(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in _SHORT_TAGS:
    _Loader.add_constructor(f"!{_name}", _tag_constructor(_name))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load(text: str) -> dict[str, Any]:
    """A template from its text (YAML, short tags included, or JSON)."""
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError) as err:
        raise TemplateError(f"the template is neither YAML nor JSON CloudFormation can read: {err}") from err
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError("the template has no Resources section")
    return document


def custom_resources(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == RESOURCE_TYPE
    }


# A resource's Ref and Fn::GetAtt, as the stack knows them (Unknown before it exists).
Lookup = Callable[[str, str | None], Any]


class Evaluator:
    """Evaluates a template's values for one stack: `parameters` (given values; defaults fill in),
    `pseudo` (AWS::Region & co.), `lookup(logical_id, attribute or None)` for resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        pseudo: Mapping[str, Any],
        lookup: Lookup,
        imports: Callable[[str], Any],
    ) -> None:
        self.template = template
        self.refs: dict[str, Any] = dict(pseudo)
        declared = template.get("Parameters") or {}
        for name, spec in declared.items():
            if name in parameters:
                value: Any = parameters[name]
            elif isinstance(spec, dict) and "Default" in spec:
                value = spec["Default"]
            else:
                value = Unknown(f"parameter {name} has no default and no value was given")
            self.refs[name] = _parameter_value(spec, value)
        undeclared = sorted(set(parameters) - set(declared))
        if undeclared:
            raise TemplateError(f"the template declares no parameter {', '.join(undeclared)}")
        self.lookup = lookup
        self.imports = imports

    def condition(self, name: str) -> Any:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"condition {name} is not in the template's Conditions")
        return self.value(conditions[name])

    def creates(self, resource: Mapping[str, Any]) -> Any:
        """Whether the stack has the resource: True, False or Unknown (its Condition)."""
        name = resource.get("Condition")
        return True if name is None else self.condition(str(name))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (self.value(i) for i in node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
            if key.startswith("Fn::"):
                return Unknown(f"{key} is not evaluated before the deploy")
        evaluated = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in evaluated.items() if item is not NO_VALUE}

    def ref(self, name: Any) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.refs:
            return self.refs[name]
        if name in self.template["Resources"]:
            return self.lookup(str(name), None)
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        logical_id, attribute = (self.value(part) for part in argument)
        if logical_id not in self.template["Resources"]:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        return self.lookup(str(logical_id), str(attribute))

    def sub(self, argument: Any) -> Any:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.value(node) for name, node in (variables or {}).items()}
        unknown: list[Unknown] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                found = values[name]
            elif "." in name and not name.startswith("AWS::"):
                found = self.get_att(name.split(".", 1))
            else:
                found = self.ref(name)
            if isinstance(found, Unknown):
                unknown.append(found)
            return _text(found)

        result = re.sub(r"\$\{([^}]+)\}", replace, str(text))
        return unknown[0] if unknown else result

    def join(self, argument: Any) -> Any:
        separator, items = argument
        values = self.value(items)
        if isinstance(values, Unknown):
            return values
        unknown = [v for v in values if isinstance(v, Unknown)]
        return unknown[0] if unknown else str(separator).join(_text(v) for v in values)

    def select(self, argument: Any) -> Any:
        index, items = (self.value(part) for part in argument)
        if isinstance(index, Unknown) or isinstance(items, Unknown):
            return index if isinstance(index, Unknown) else items
        try:
            return items[int(index)]
        except (IndexError, ValueError, TypeError) as err:
            raise TemplateError(f"Fn::Select {index} of {items}: {err}") from err

    def split(self, argument: Any) -> Any:
        separator, text = argument
        value = self.value(text)
        return value if isinstance(value, Unknown) else _text(value).split(str(separator))

    def if_(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        chosen = self.condition(str(name))
        if isinstance(chosen, Unknown):
            return chosen
        return self.value(when_true if chosen else when_false)

    def equals(self, argument: Any) -> Any:
        left, right = (self.value(part) for part in argument)
        for side in (left, right):
            if isinstance(side, Unknown):
                return side
        return _text(left) == _text(right)

    def logic(self, combine: Callable[[list[bool]], bool], argument: Any) -> Any:
        values = [self.value(item) for item in (argument if isinstance(argument, list) else [argument])]
        unknown = [v for v in values if isinstance(v, Unknown)]
        return unknown[0] if unknown else combine([bool(v) for v in values])

    def import_value(self, argument: Any) -> Any:
        name = self.value(argument)
        return name if isinstance(name, Unknown) else self.imports(str(name))


_FUNCTIONS: dict[str, Callable[[Evaluator, Any], Any]] = {
    "Ref": Evaluator.ref,
    "Fn::GetAtt": Evaluator.get_att,
    "Fn::Sub": Evaluator.sub,
    "Fn::Join": Evaluator.join,
    "Fn::Select": Evaluator.select,
    "Fn::Split": Evaluator.split,
    "Fn::If": Evaluator.if_,
    "Fn::Equals": Evaluator.equals,
    "Fn::Not": lambda ev, arg: ev.logic(lambda vs: not vs[0], arg),
    "Fn::And": lambda ev, arg: ev.logic(all, arg),
    "Fn::Or": lambda ev, arg: ev.logic(any, arg),
    "Condition": lambda ev, arg: ev.condition(str(arg)),
    "Fn::ImportValue": Evaluator.import_value,
}


def _parameter_value(spec: Any, value: Any) -> Any:
    """A parameter's value as Ref gives it: a list for the list types, else a string."""
    if isinstance(value, Unknown):
        return value
    kind = str(spec.get("Type", "String")) if isinstance(spec, dict) else "String"
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        return value if isinstance(value, list) else [p.strip() for p in str(value).split(",") if p.strip()]
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def delivered(value: Any) -> Any:
    """A value as CloudFormation hands it to a custom resource: every scalar a string."""
    if isinstance(value, bool | int | float):
        return _text(value)
    if isinstance(value, list):
        return [delivered(item) for item in value]
    if isinstance(value, dict):
        return {str(key): delivered(item) for key, item in value.items()}
    return value


def unknowns(value: Any) -> list[Unknown]:
    """Every Unknown inside `value`."""
    if isinstance(value, Unknown):
        return [value]
    if isinstance(value, list):
        return [u for item in value for u in unknowns(item)]
    if isinstance(value, dict):
        return [u for item in value.values() for u in unknowns(item)]
    return []
