"""TaskDefinition mode's RunTask options beyond the task definition and the network, each the
typed form of a property and the converter that makes it from what CloudFormation delivers:
container overrides (command, environment, CPU and memory, for one container or several), task
CPU and memory, EC2 placement, and the task state's own fields (paths, ResultSelector, Catch,
Comment). They take the shapes CDK's EcsRunTask renders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base.errors import MISSING, PropertyError
from .converters import choice, fields, integer, items, string
from .values import NAME, error_names, jsonpath, states_all_last

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$")
_TASK_CPU = re.compile(r"^(\d{1,6}|\d{1,3}(\.\d{1,2})? ?vCPU)$")
_TASK_MEMORY = re.compile(r"^(\d{1,7}|\d{1,4}(\.\d{1,2})? ?GB)$")
_PLACEMENT_FIELD = re.compile(r"^(instanceId|host|attribute:[\w.:-]{1,128})$")
_COMMENT = re.compile(r"^[^\x00-\x08\x0b-\x1f]{1,1024}$", re.S)
TASK_TOKEN_PATH = "$$.Task.Token"


@dataclass(frozen=True)
class EnvironmentVariable:
    """One variable: a literal Value, or a ValuePath read from the execution input at run time."""

    name: str
    value: str | None = None
    value_path: str | None = None


@dataclass(frozen=True)
class ContainerOverride:
    """What one container runs with: command (literal or from the input), environment (variables,
    or a whole list from the input), CPU units and memory (MiB)."""

    container_name: str | None  # None: the only container of the revision (TaskDefinition mode's default)
    command: tuple[str, ...] | None = None
    command_path: str | None = None
    environment: tuple[EnvironmentVariable, ...] = ()
    environment_path: str | None = None
    cpu: int | None = None
    memory: int | None = None
    memory_reservation: int | None = None

    @property
    def carries_token(self) -> bool:
        return any(v.value_path == TASK_TOKEN_PATH for v in self.environment)


@dataclass(frozen=True)
class Placement:
    """A placement constraint (type, expression) or strategy (type, field)."""

    type: str
    detail: str | None = None


def command(prop: str, raw: Any) -> tuple[str, ...]:
    """A literal command: the list of arguments, as in a container definition."""
    values = items(prop, raw, 1, 256) if isinstance(raw, list) else None
    if values is None:
        raise PropertyError(
            prop, raw, "must be a list of strings", 'Give the arguments as a list, e.g. ["python", "job.py"].'
        )
    return tuple(string(f"{prop}[{i}]", v) for i, v in enumerate(values))


def environment(prop: str, raw: Any) -> tuple[EnvironmentVariable, ...]:
    """Variables one by one: {Name, Value} (literal) or {Name, ValuePath} (from the input)."""
    found: dict[str, EnvironmentVariable] = {}
    for index, entry in enumerate(items(prop, raw, 1, 100)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, ("Name", "Value", "ValuePath"), required=("Name",))
        name = string(
            f"{where}.Name",
            item["Name"],
            _ENV_NAME,
            "an environment variable name",
            "Use letters, digits, _ . -.",
        )
        if ("Value" in item) == ("ValuePath" in item):
            raise PropertyError(
                where,
                MISSING,
                "needs exactly one of Value and ValuePath",
                "Give a literal Value, or the ValuePath to read it from.",
            )
        if name in found:
            raise PropertyError(f"{where}.Name", name, "is given twice", "Give each variable once.")
        if "Value" in item:
            found[name] = EnvironmentVariable(name, value=string(f"{where}.Value", item["Value"]))
        else:
            found[name] = EnvironmentVariable(
                name, value_path=jsonpath(f"{where}.ValuePath", item["ValuePath"])
            )
    return tuple(found.values())


_OVERRIDE_KEYS = (
    "ContainerName",
    "Command",
    "CommandPath",
    "Environment",
    "EnvironmentPath",
    "Cpu",
    "Memory",
    "MemoryReservation",
)


def container_overrides(prop: str, raw: Any) -> tuple[ContainerOverride, ...]:
    """Every container override of the task, as CDK's containerOverrides: each names its container
    and overrides only what it says. An empty list: no container is overridden."""
    if raw == []:
        return ()
    overrides: dict[str, ContainerOverride] = {}
    for index, entry in enumerate(items(prop, raw, 1, 10)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, _OVERRIDE_KEYS, required=("ContainerName",))
        name = string(
            f"{where}.ContainerName",
            item["ContainerName"],
            NAME,
            "a container name",
            "Use the container's name.",
        )
        if name in overrides:
            raise PropertyError(
                f"{where}.ContainerName", name, "is given twice", "Give one override per container."
            )
        overrides[name] = override(where, item, name)
    return tuple(overrides.values())


# Each key of a container override: (field of ContainerOverride, converter).
_OVERRIDE_FIELDS: dict[str, tuple[str, Any]] = {
    "Command": ("command", lambda p, v: command(p, v)),
    "CommandPath": ("command_path", jsonpath),
    "Environment": ("environment", lambda p, v: environment(p, v)),
    "EnvironmentPath": ("environment_path", jsonpath),
    "Cpu": ("cpu", lambda p, v: integer(p, v, 0, 196608)),
    "Memory": ("memory", lambda p, v: integer(p, v, 6, 1048576)),
    "MemoryReservation": ("memory_reservation", lambda p, v: integer(p, v, 6, 1048576)),
}


def override(where: str, item: Mapping[str, Any], name: str) -> ContainerOverride:
    """One entry of ContainerOverrides."""
    for literal, path in (("Command", "CommandPath"), ("Environment", "EnvironmentPath")):
        if literal in item and path in item:
            raise PropertyError(
                f"{where}.{literal}",
                MISSING,
                f"cannot be combined with {path}",
                f"Give {literal} (literal) or {path} (from the input), not both.",
            )
    values = {
        attr: convert(f"{where}.{key}", item[key])
        for key, (attr, convert) in _OVERRIDE_FIELDS.items()
        if key in item
    }
    built = ContainerOverride(container_name=name, **values)
    if built.memory and built.memory_reservation and built.memory_reservation > built.memory:
        raise PropertyError(
            f"{where}.MemoryReservation",
            built.memory_reservation,
            f"is more than Memory ({built.memory})",
            "Reserve at most the container's hard limit.",
        )
    return built


def task_cpu(prop: str, raw: Any) -> str:
    return string(
        prop, raw, _TASK_CPU, "task CPU", "Use CPU units such as 1024, or a vCPU count such as 1 vCPU."
    )


def task_memory(prop: str, raw: Any) -> str:
    return string(prop, raw, _TASK_MEMORY, "task memory", "Use MiB such as 2048, or GB such as 2 GB.")


def placement_constraints(prop: str, raw: Any) -> tuple[Placement, ...]:
    found = []
    for index, entry in enumerate(items(prop, raw, 1, 10)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, ("Type", "Expression"), required=("Type",))
        kind = choice(f"{where}.Type", item["Type"], ("distinctInstance", "memberOf"))
        if kind == "memberOf" and "Expression" not in item:
            raise PropertyError(
                f"{where}.Expression",
                MISSING,
                "is required for memberOf",
                "Give a cluster query expression, e.g. attribute:ecs.instance-type =~ t3.*.",
            )
        if kind == "distinctInstance" and "Expression" in item:
            raise PropertyError(
                f"{where}.Expression", MISSING, "does not apply to distinctInstance", "Remove it."
            )
        expression = string(f"{where}.Expression", item["Expression"]) if "Expression" in item else None
        if expression is not None and not 1 <= len(expression) <= 2000:
            raise PropertyError(f"{where}.Expression", MISSING, "must be 1 to 2000 characters", "Shorten it.")
        found.append(Placement(kind, expression))
    return tuple(found)


def placement_strategy(prop: str, raw: Any) -> tuple[Placement, ...]:
    found = []
    for index, entry in enumerate(items(prop, raw, 1, 5)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, ("Type", "Field"), required=("Type",))
        kind = choice(f"{where}.Type", item["Type"], ("random", "spread", "binpack"))
        field = item.get("Field")
        if kind == "random":
            if field is not None:
                raise PropertyError(f"{where}.Field", field, "does not apply to random", "Remove it.")
        elif kind == "binpack":
            field = choice(f"{where}.Field", field if field is not None else "", ("cpu", "memory"))
        else:
            field = string(
                f"{where}.Field",
                field if field is not None else "",
                _PLACEMENT_FIELD,
                "a spread field",
                "Use instanceId, host or attribute:ecs.availability-zone.",
            )
        found.append(Placement(kind, field))
    return tuple(found)


def catch(prop: str, raw: Any) -> tuple[dict[str, Any], ...]:
    """Catchers of the task state. Each ends the execution successfully in the generated state
    Caught (the single task has nothing else to go to), keeping the error at ResultPath."""
    catchers = []
    for index, entry in enumerate(items(prop, raw, 1, 20)):
        where = f"{prop}[{index}]"
        if isinstance(entry, Mapping) and "Next" in entry:
            raise PropertyError(
                f"{where}.Next",
                MISSING,
                "is generated: every catcher goes to the state Caught, which succeeds",
                "Remove it; for other targets, write a Definition.",
            )
        item = fields(where, entry, ("ErrorEquals", "ResultPath"), required=("ErrorEquals",))
        catcher: dict[str, Any] = {"ErrorEquals": error_names(f"{where}.ErrorEquals", item["ErrorEquals"])}
        if "ResultPath" in item:
            catcher["ResultPath"] = reference_path(f"{where}.ResultPath", item["ResultPath"])
        catchers.append(catcher)
    states_all_last(prop, catchers, "catchers")
    return tuple(catchers)


def reference_path(prop: str, raw: Any) -> str:
    """A path into the state's data ($, $.field, ...), not the context object."""
    path = jsonpath(prop, raw)
    if path.startswith("$$"):
        raise PropertyError(
            prop, path, "reads the context object", "Use a path into the state's data, such as $.result."
        )
    return path


def result_selector(prop: str, raw: Any) -> dict[str, Any]:
    """A payload template (`key.$` reads the task's result); checked with the whole document."""
    if not isinstance(raw, Mapping) or not raw:
        raise PropertyError(
            prop, raw, "must be a map", 'Give a payload template, e.g. {"TaskArn.$": "$.Tasks[0].TaskArn"}.'
        )
    return dict(raw)


def comment(prop: str, raw: Any) -> str:
    return string(prop, raw, _COMMENT, "a comment", "Use up to 1024 characters of text.")
