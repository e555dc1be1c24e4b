"""Amazon States Language validation as strict as Step Functions, and no stricter.

statelint checks a document before anything is created. Where it is stricter than Step Functions
(each case below was checked against AWS's documentation, AWS's answers on statelint's issues, and
the AWS Toolkit's ASL schema), its message is dropped, and only then: no problem type is ignored
as a whole, because each one also catches real errors.

| statelint says | Step Functions |
|---|---|
| integer `BackoffRate` "should be a Float" | takes 1 as it takes 1.0 |
| `MaxAttempts`/`TimeoutSeconds`/`HeartbeatSeconds` 99999999 over the "ceiling" | 99999999 is the documented maximum |
| `Assign` not allowed (Pass, Task, Choice, Wait, Parallel, Map, a Choice rule) | workflow variables |
| `Label` not allowed on a Map | the Map Run's label |
| `ReaderConfig` CSV and manifest fields; `ResultWriter` with only `WriterConfig` | documented |
| a JSONata `{% %}` in a numeric or timestamp field of a JSONata state; `{%expr%}` without spaces; `Condition: true` | documented JSONata forms |
| a `.$` value or a path field that is a `$`-path with dashes, brackets, filters, `$$` or `$variable` | Step Functions' JSONPath (Jayway) takes them |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ASSIGNABLE = frozenset({"Pass", "Task", "Choice", "Wait", "Parallel", "Map"})
_JSONATA_NUMERIC = (
    r"TimeoutSeconds|HeartbeatSeconds|Seconds|MaxConcurrency|ToleratedFailureCount|ToleratedFailurePercentage|"
    r"ItemReader\.ReaderConfig\.MaxItems|ItemBatcher\.MaxItemsPerBatch|ItemBatcher\.MaxInputBytesPerBatch"
)


@dataclass(frozen=True)
class Node:
    """A part of the document, named by the path statelint gives it in its messages."""

    value: dict[str, Any]
    kind: str  # "container", "state" or "rule"
    type: str | None
    language: str  # the QueryLanguage in effect


def index(document: dict[str, Any]) -> dict[str, Node]:
    found: dict[str, Node] = {}

    def container(node: dict[str, Any], path: str, language: str) -> None:
        language = node.get("QueryLanguage", language)
        found[path] = Node(node, "container", None, language)
        for name, state in (node.get("States") or {}).items():
            if isinstance(state, dict):
                visit(state, f"{path}.States.{name}", language)

    def visit(state: dict[str, Any], path: str, language: str) -> None:
        language = state.get("QueryLanguage", language)
        found[path] = Node(state, "state", state.get("Type"), language)
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                container(branch, f"{path}.Branches[{i}]", language)
        inner = next((k for k in ("Iterator", "ItemProcessor") if isinstance(state.get(k), dict)), None)
        if inner:
            container(state[inner], f"{path}.{inner}", language)
        for i, rule in enumerate(state.get("Choices") or [] if state.get("Type") == "Choice" else []):
            if isinstance(rule, dict):
                found[f"{path}.Choices[{i}]"] = Node(rule, "rule", None, rule.get("QueryLanguage", language))

    if isinstance(document.get("States"), dict):
        container(document, "State Machine", document.get("QueryLanguage", "JSONPath"))
    return found


def _owner(nodes: dict[str, Node], path: str) -> Node | None:
    owners = [known for known in nodes if path == known or path.startswith(known + ".")]
    return nodes[max(owners, key=len)] if owners else None


def _dollar_templates(nodes: dict[str, Node]) -> set[str]:
    """The messages statelint gives `.$` template values that are `$`-paths Step Functions takes."""
    messages: set[str] = set()

    def walk(field: str, where: str, value: Any) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                walk(field, f"{where}[{i}]", item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not key.endswith(".$"):
                    walk(field, f"{where}.{key}", item)
                elif isinstance(item, str) and item.startswith("$"):
                    messages.add(
                        f'Field "{key}" of {field} at "{where}" is not a JSONPath or intrinsic function expression'
                    )

    for path, node in nodes.items():
        if node.kind != "state":
            continue
        for field in ("Parameters", "ResultSelector", "ItemSelector"):
            walk(field, path, node.value.get(field))
        for part in ("ItemReader", "ResultWriter"):
            if isinstance(node.value.get(part), dict):
                walk("Parameters", f"{path}.{part}", node.value[part].get("Parameters"))
        if isinstance(node.value.get("ItemBatcher"), dict):
            walk("BatchInput", f"{path}.ItemBatcher", node.value["ItemBatcher"].get("BatchInput"))
    return messages


Lenient = Callable[[re.Match[str], dict[str, Node]], bool]


def _assign_or_label(match: re.Match[str], nodes: dict[str, Node]) -> bool:
    node = nodes.get(match.group(2))
    if node is None:
        return False
    if match.group(1) == "Label":
        return node.type == "Map"
    return node.kind == "rule" or (node.kind == "state" and node.type in ASSIGNABLE)


def _writer_only(match: re.Match[str], nodes: dict[str, Node]) -> bool:
    node = nodes.get(match.group(1))
    writer = node.value.get("ResultWriter") if node else None
    return (
        isinstance(writer, dict)
        and "WriterConfig" in writer
        and not {"Parameters", "Arguments"} & set(writer)
    )


def _in_jsonata(match: re.Match[str], nodes: dict[str, Node]) -> bool:
    node = _owner(nodes, match.group(1))
    return node is not None and node.language == "JSONata"


def _dollar_path(match: re.Match[str], nodes: dict[str, Node]) -> bool:
    field, value = match.groups()
    return bool(re.match(r"^\$(\.|\[)", value)) if field == "ResultPath" else value.startswith("$")


LENIENCY: tuple[tuple[re.Pattern[str], Lenient], ...] = (
    (
        re.compile(r"^.+\.Retry\[\d+\]\.BackoffRate is (-?\d+) but should be a Float$"),
        lambda m, n: int(m.group(1)) >= 1,
    ),
    (
        re.compile(
            r"^.+\.States\..+\.(MaxAttempts|TimeoutSeconds|HeartbeatSeconds) is 99999999 but allowed ceiling is 99999999$"
        ),
        lambda m, n: True,
    ),
    (re.compile(r'^Field "(Assign|Label)" not allowed in (.+)$'), _assign_or_label),
    (
        re.compile(
            r'^Field "(InputType|CSVHeaderLocation|CSVHeaders|CSVDelimiter|ManifestType)" not allowed in .+\.ItemReader\.ReaderConfig$'
        ),
        lambda m, n: True,
    ),
    (re.compile(r'^Field "WriterConfig" not allowed in .+\.ResultWriter$'), lambda m, n: True),
    (re.compile(r'^(.+)\.ResultWriter does not have required field "Resource"$'), _writer_only),
    (
        re.compile(
            rf'^(.+?)\.(?:{_JSONATA_NUMERIC}) is "\{{%.*%\}}" but should be (?:an Integer|numeric)$', re.S
        ),
        _in_jsonata,
    ),
    (re.compile(r'^(.+?)\.Timestamp is "\{%.*%\}" but should be an RFC3339 timestamp$', re.S), _in_jsonata),
    (re.compile(r'^.+ is "\{%.*%\}" but should be a JSONata$', re.S), lambda m, n: True),
    (re.compile(r"^.+\.Condition is (true|false) but should be a String$"), lambda m, n: True),
    (
        re.compile(
            r'^.+\.(\w+) is "(.*)" but should be (?:a Reference Path|a Reference Path or an Intrinsic Function|a JSONPath)$',
            re.S,
        ),
        _dollar_path,
    ),
)


def stricter_than_step_functions(message: str, nodes: dict[str, Node], templates: set[str]) -> bool:
    if message in templates:
        return True
    for pattern, lenient in LENIENCY:
        match = pattern.match(message)
        if match:
            return lenient(match, nodes)
    return False


def problems(document: dict[str, Any]) -> list[str]:
    """What Step Functions would refuse in `document`, as statelint words it."""
    from statelint.linter import Linter

    found = [str(problem) for problem in Linter.validate(document)]
    if not found:
        return []
    nodes = index(document)
    templates = _dollar_templates(nodes)
    return [message for message in found if not stricter_than_step_functions(message, nodes, templates)]
