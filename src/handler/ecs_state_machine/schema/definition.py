"""Definition mode, the pure part: a user's own Amazon States Language document in, the ECS task
states found in it (wherever they are: Parallel branches, Map iterators and item processors), and
the document back out with their task definitions and clusters pinned.

CloudFormation turns every number in a YAML map into a string: `asl_types` restores them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base.arn import ROLE
from ..base.errors import MISSING, PropertyError
from .asl_types import JSONATA as _JSONATA
from .asl_types import coerce_run_task, restore_types
from .run_request import RunRequest, from_payload

ECS_RUN_TASK = re.compile(r"^arn:aws[a-z-]*:states:::ecs:runTask(\.sync|\.waitForTaskToken)?$")
_WAITING = re.compile(r"\.(sync(:\d+)?|waitForTaskToken)$")
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

DEFINITION_LIMIT = 1_048_576


@dataclass(frozen=True)
class EcsTask:
    """One ECS RunTask state: where it is, and what it asks for."""

    path: str  # e.g. States.Fanout.Branches[0].States.Backfill
    name: str
    pattern: str  # RUN_JOB, REQUEST_RESPONSE or WAIT_FOR_TASK_TOKEN
    jsonata: bool
    task_definition: str | None  # None when it is chosen at run time
    cluster: str | None  # None when it is chosen at run time; "default" when absent
    container_names: tuple[tuple[int, str], ...]  # (index in ContainerOverrides, name)
    network_configured: bool
    launch_type: str | None
    tags_task: bool  # Tags or PropagateTags (any form but a literal NONE): RunTask tags the new task
    role_overrides: tuple[tuple[str, str], ...] = ()  # (TaskRoleArn or ExecutionRoleArn, literal ARN)
    credentials: str | None = None  # Credentials.RoleArn: the role the state runs RunTask as
    request: RunRequest = field(default_factory=RunRequest)  # what its RunTask asks, for the preflight

    @property
    def credentials_account(self) -> str | None:
        """The account of the role the state assumes (definition._credentials took only a role ARN)."""
        return self.credentials.split(":")[4] if self.credentials else None

    @property
    def payload_key(self) -> str:
        return "Arguments" if self.jsonata else "Parameters"

    def where(self, *keys: str) -> str:
        return ".".join(("Definition", self.path, self.payload_key, *keys))


def load(raw: Any, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The Definition property (a map, or a JSON string) with ${Name} substituted and types restored.

    The size the document will have is counted before anything is substituted: a few kilobytes of
    placeholders, each standing for a long value, must not become gigabytes in memory."""
    size = substituted_size(raw, substitutions)
    if size > DEFINITION_LIMIT:
        raise PropertyError(
            "DefinitionSubstitutions",
            MISSING,
            f"would make the Definition {size} characters, over Step Functions' {DEFINITION_LIMIT}",
            "Use fewer or shorter substitutions.",
        )
    if isinstance(raw, str):
        text = _substitute_text(raw, substitutions)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise PropertyError(
                "Definition",
                MISSING,
                f"is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})",
                "Give a YAML map, or a JSON string of the whole state machine.",
            ) from None
    elif isinstance(raw, Mapping):
        document = _substitute_values(dict(raw), substitutions)
    else:
        raise PropertyError(
            "Definition", raw, "must be a map or a JSON string", "Give the state machine's ASL."
        )
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("States"), dict)
        or "StartAt" not in document
    ):
        raise PropertyError(
            "Definition",
            MISSING,
            "needs StartAt and a States map",
            "Give a whole Amazon States Language document.",
        )
    if len(json.dumps(document)) > DEFINITION_LIMIT:
        raise PropertyError(
            "Definition", MISSING, "is larger than Step Functions' 1 MB limit", "Split the workflow."
        )
    restored: dict[str, Any] = restore_types(document)
    return restored


def substituted_size(raw: Any, substitutions: Mapping[str, str]) -> int:
    """How long the document's text will be once every ${Name} is replaced (JSON-escaped in a JSON
    string), without building it."""
    growth = {name: len(json.dumps(value)) - 2 for name, value in substitutions.items()}
    total = 0
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
            total += 2 * len(node)
        elif isinstance(node, list):
            stack.extend(node)
            total += len(node) + 1
        elif isinstance(node, str):
            total += len(node)
            for match in _SUBSTITUTION.finditer(node):
                total += growth.get(match.group(1), 0) - len(match.group(0))
        else:
            total += len(str(node))
    return total


def _value_of(match: re.Match[str], substitutions: Mapping[str, str]) -> str:
    name = match.group(1)
    if name not in substitutions:
        raise PropertyError(
            "Definition",
            match.group(0),
            "uses a placeholder that DefinitionSubstitutions does not define",
            f"Add {name} to DefinitionSubstitutions.",
        )
    return substitutions[name]


def _substitute_text(text: str, substitutions: Mapping[str, str]) -> str:
    # Inside a JSON document the value lands in a JSON string: escape it as one.
    return _SUBSTITUTION.sub(lambda m: json.dumps(_value_of(m, substitutions))[1:-1], text)


def _substitute_values(node: Any, substitutions: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            _substitute_plain(str(k), substitutions): _substitute_values(v, substitutions)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_substitute_values(v, substitutions) for v in node]
    if isinstance(node, str):
        return _substitute_plain(node, substitutions)
    return node


def _substitute_plain(text: str, substitutions: Mapping[str, str]) -> str:
    return _SUBSTITUTION.sub(lambda m: _value_of(m, substitutions), text)


def states(document: dict[str, Any], path: str = "States") -> Iterator[tuple[str, str, dict[str, Any], bool]]:
    """Every state (path, name, state, uses JSONata) in document order, nested ones included."""
    language = document.get("QueryLanguage", "JSONPath")
    for name, state in document.get("States", {}).items():
        if not isinstance(state, dict):
            continue
        here = f"{path}.{name}"
        yield here, name, state, state.get("QueryLanguage", language) == "JSONata"
        for index, branch in enumerate(state.get("Branches", []) or []):
            if isinstance(branch, dict):
                yield from states(_inherit(branch, language), f"{here}.Branches[{index}].States")
        for key in ("Iterator", "ItemProcessor"):
            inner = state.get(key)
            if isinstance(inner, dict):
                yield from states(_inherit(inner, language), f"{here}.{key}.States")


def _inherit(inner: dict[str, Any], language: str) -> dict[str, Any]:
    return inner if "QueryLanguage" in inner else {**inner, "QueryLanguage": language}


def ecs_tasks(document: dict[str, Any]) -> list[EcsTask]:
    found = []
    for path, name, state, jsonata in states(document):
        resource = state.get("Resource")
        if state.get("Type") != "Task" or not isinstance(resource, str):
            continue
        match = ECS_RUN_TASK.match(resource)
        if not match:
            continue
        pattern = {".sync": "RUN_JOB", ".waitForTaskToken": "WAIT_FOR_TASK_TOKEN"}.get(
            match.group(1) or "", "REQUEST_RESPONSE"
        )
        payload_key = "Arguments" if jsonata else "Parameters"
        payload = state.get(payload_key)
        if not isinstance(payload, dict):
            raise PropertyError(
                f"Definition.{path}.{payload_key}",
                MISSING,
                "must be a map naming the TaskDefinition",
                "Give TaskDefinition and Cluster (and the rest of RunTask's parameters).",
            )
        found.append(
            EcsTask(
                path=path,
                name=name,
                pattern=pattern,
                jsonata=jsonata,
                task_definition=_static(payload, "TaskDefinition", jsonata),
                cluster=_static(payload, "Cluster", jsonata, default="default"),
                container_names=_container_names(payload, jsonata),
                network_configured=any(k.startswith("NetworkConfiguration") for k in payload),
                launch_type=_static(payload, "LaunchType", jsonata),
                tags_task=_tags_task(payload, jsonata),
                role_overrides=_role_overrides(path, payload_key, payload, jsonata),
                credentials=_credentials(path, state, jsonata),
                request=from_payload(payload, jsonata, f"Definition.{path}.{payload_key}"),
            )
        )
    return found


ROLE_OVERRIDES = ("TaskRoleArn", "ExecutionRoleArn")


def _tags_task(payload: dict[str, Any], jsonata: bool) -> bool:
    """Whether RunTask tags the task it starts, which ECS authorizes as ecs:TagResource: Tags (a
    list that is not empty, or chosen at run time) or PropagateTags (anything but a literal NONE)."""
    if "Tags.$" in payload or "PropagateTags.$" in payload:
        return True
    tags = payload.get("Tags")
    if tags is not None and tags != []:
        return True
    propagate = payload.get("PropagateTags")
    return propagate is not None and propagate != "NONE"


def _credentials(path: str, state: dict[str, Any], jsonata: bool) -> str | None:
    """The role a state assumes to call RunTask (Credentials.RoleArn), which must be named: a role
    chosen at run time would need sts:AssumeRole on every role."""
    if "Credentials" not in state:
        return None
    where = f"Definition.{path}.Credentials"
    credentials = state["Credentials"]
    fix = "Name the role's ARN in Credentials.RoleArn."
    if not isinstance(credentials, dict):
        raise PropertyError(where, MISSING, "must be a map with RoleArn", fix)
    if "RoleArn.$" in credentials:
        raise PropertyError(f"{where}.RoleArn.$", MISSING, "chooses the role to assume at run time", fix)
    role = credentials.get("RoleArn")
    if isinstance(role, str) and jsonata and _JSONATA.match(role):
        raise PropertyError(f"{where}.RoleArn", role, "chooses the role to assume at run time", fix)
    if not isinstance(role, str) or not ROLE.match(role):
        raise PropertyError(
            f"{where}.RoleArn", role if role is not None else MISSING, "is not an IAM role ARN", fix
        )
    return role


def _role_overrides(
    path: str, payload_key: str, payload: dict[str, Any], jsonata: bool
) -> tuple[tuple[str, str], ...]:
    """The literal role overrides of a RunTask state. A role chosen at run time (`Overrides.$`,
    `TaskRoleArn.$`, a JSONata expression) could be any role the state machine may pass, the
    execution role of another task included: it is refused."""
    where = f"Definition.{path}.{payload_key}.Overrides"
    fix = "Remove it: a task runs with the roles of its own revision (override containers in ContainerOverrides)."
    if "Overrides.$" in payload or (jsonata and isinstance(payload.get("Overrides"), str)):
        raise PropertyError(
            where, MISSING, "is chosen at run time and could swap in another task's role", fix
        )
    overrides = payload.get("Overrides")
    if not isinstance(overrides, dict):
        return ()
    found = []
    for key in ROLE_OVERRIDES:
        if f"{key}.$" in overrides:
            raise PropertyError(f"{where}.{key}.$", MISSING, "chooses a role at run time", fix)
        value = overrides.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or (jsonata and _JSONATA.match(value)):
            raise PropertyError(f"{where}.{key}", value, "chooses a role at run time", fix)
        found.append((key, value))
    return tuple(found)


def _static(payload: dict[str, Any], key: str, jsonata: bool, default: str | None = None) -> str | None:
    """The literal value of `key`, or None when it is computed at run time (`key.$` or `{% %}`)."""
    if f"{key}.$" in payload:
        return None
    value = payload.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or (jsonata and _JSONATA.match(value)):
        return None
    return value


def _container_names(payload: dict[str, Any], jsonata: bool) -> tuple[tuple[int, str], ...]:
    overrides = payload.get("Overrides")
    if not isinstance(overrides, dict) or not isinstance(overrides.get("ContainerOverrides"), list):
        return ()
    names = []
    for index, override in enumerate(overrides["ContainerOverrides"]):
        if isinstance(override, dict):
            name = _static(override, "Name", jsonata)
            if name:
                names.append((index, name))
    return tuple(names)


def has_distributed_map(document: dict[str, Any]) -> bool:
    for _path, _name, state, _jsonata in states(document):
        processor = state.get("ItemProcessor")
        if state.get("Type") == "Map" and isinstance(processor, dict):
            config = processor.get("ProcessorConfig")
            if isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED":
                return True
    return False


def waits(resource: Any) -> bool:
    """True for an integration that waits (.sync, .waitForTaskToken): not allowed in EXPRESS."""
    return isinstance(resource, str) and bool(_WAITING.search(resource))


def pin(document: dict[str, Any], pinned: dict[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    """A copy of the document whose ECS task states name `pinned[path] = (task definition, cluster ARN)`,
    with RunTask's parameter types restored from the ECS service model."""
    result = copy.deepcopy(document)
    for path, _name, state, jsonata in states(result):
        if path not in pinned:
            continue
        task_definition, cluster_arn = pinned[path]
        payload = state["Arguments" if jsonata else "Parameters"]
        if task_definition is not None:
            payload["TaskDefinition"] = task_definition
        if cluster_arn is not None:
            payload["Cluster"] = cluster_arn
        state["Arguments" if jsonata else "Parameters"] = coerce_run_task(payload)
    return result


def validate(document: dict[str, Any]) -> None:
    """Amazon States Language rules (as strict as Step Functions, no stricter: `lint`), checked
    before anything is created."""
    from .lint import problems

    found = problems(json.loads(json.dumps(document)))
    if found:
        first = found[0].replace("State Machine.", "")
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PropertyError(
            "Definition", MISSING, f"is not valid ASL: {first}{more}", "Fix the state machine definition."
        )
