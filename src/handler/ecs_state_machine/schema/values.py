"""This resource's own values: the typed form of each property that is more than a string, and
the converter that makes it from what CloudFormation delivers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base import arn
from ..base.errors import MISSING, PropertyError
from .converters import FALSE, TRUE, boolean, choice, fields, integer, items, number, string

OWNERSHIP_TAG_PREFIX = "ecs-state-machine:"

INTEGRATION_PATTERNS = ("RUN_JOB", "REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN")
LAUNCH_TYPES = ("FARGATE", "EC2", "EXTERNAL")
STATE_MACHINE_TYPES = ("STANDARD", "EXPRESS")
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
PROPAGATE_TAGS = ("TASK_DEFINITION", "NONE")
QUERY_LANGUAGES = ("JSONPath", "JSONata")

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_FAMILY_REVISION = re.compile(r"^([A-Za-z0-9_-]{1,255}):([1-9][0-9]{0,8})$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
PLATFORM_VERSION = re.compile(r"^(LATEST|\d{1,3}\.\d{1,3}\.\d{1,3})$")
# A Step Functions reference path: $ or $$ followed by .field, ['field'] or [index] steps.
_JSONPATH = re.compile(r"^\$\$?(?:\.[A-Za-z_][A-Za-z0-9_-]*|\['[^'\\\x00-\x1f]{1,128}'\]|\[[0-9]{1,6}\])*$")
_ERROR_NAME = re.compile(r"^[\x20-\x7e]{1,256}$")

SUBSTITUTION_LIMIT = 65_536  # characters in one DefinitionSubstitutions value


@dataclass(frozen=True)
class TaskDefinitionRef:
    """What the TaskDefinition property names: a family, optionally pinned to a revision."""

    family: str
    revision: int | None = None
    arn: str | None = None  # when given as an ARN (checked against the provider's account/region)

    @property
    def text(self) -> str:
        return self.arn or (f"{self.family}:{self.revision}" if self.revision else self.family)


@dataclass(frozen=True)
class CapacityProviderItem:
    capacity_provider: str
    weight: int | None = None
    base: int | None = None


@dataclass(frozen=True)
class LoggingConfig:
    level: str
    include_execution_data: bool
    log_group_arn: str | None

    @property
    def enabled(self) -> bool:
        return self.level != "OFF"


def task_definition_ref(prop: str, raw: Any) -> TaskDefinitionRef:
    fix = "Use a family name, family:revision, or a task definition ARN."
    text = string(prop, raw, fix=fix).strip()
    if NAME.match(text):
        return TaskDefinitionRef(family=text)
    pinned = _FAMILY_REVISION.match(text)
    if pinned:
        return TaskDefinitionRef(family=pinned.group(1), revision=int(pinned.group(2)))
    found = arn.TASK_DEFINITION.match(text)
    if found:
        revision = int(found.group(5)) if found.group(5) else None
        return TaskDefinitionRef(family=found.group(4), revision=revision, arn=text)
    raise PropertyError(prop, text, "is not a task definition family, family:revision or ARN", fix)


def cluster_ref(prop: str, raw: Any) -> str:
    fix = "Use a cluster name or an ECS cluster ARN."
    text = string(prop, raw, fix=fix).strip()
    if NAME.match(text) or arn.CLUSTER.match(text):
        return text
    raise PropertyError(prop, text, "is not a cluster name or ARN", fix)


def jsonpath(prop: str, raw: Any) -> str:
    fix = "Use a JSONPath such as $.command or $.job['args'] (no filters or wildcards)."
    text = string(prop, raw, fix=fix).strip()
    if len(text) > 256 or not _JSONPATH.match(text):
        raise PropertyError(prop, text, "is not a JSONPath reference", fix)
    return text


def capacity_provider_strategy(prop: str, raw: Any) -> tuple[CapacityProviderItem, ...]:
    """The strategy; an empty list is the cluster's default strategy."""
    if raw == []:
        return ()
    strategy = []
    for index, entry in enumerate(items(prop, raw, 1, 20)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, ("CapacityProvider", "Weight", "Base"), required=("CapacityProvider",))
        name = string(
            f"{where}.CapacityProvider",
            item["CapacityProvider"],
            NAME,
            "a capacity provider name",
        )
        weight = integer(f"{where}.Weight", item["Weight"], 0, 1000) if "Weight" in item else None
        base = integer(f"{where}.Base", item["Base"], 0, 100000) if "Base" in item else None
        strategy.append(CapacityProviderItem(name, weight, base))
    if sum(1 for item in strategy if item.base) > 1:
        raise PropertyError(
            prop, MISSING, "sets Base on more than one capacity provider", "Set Base on one only."
        )
    return tuple(strategy)


def subnets(prop: str, raw: Any) -> tuple[str, ...]:
    fix = "Use subnet IDs such as subnet-0a1b2c3d."
    values = [
        string(f"{prop}[{i}]", v, _SUBNET, "a subnet ID", fix) for i, v in enumerate(items(prop, raw, 1, 16))
    ]
    return tuple(dict.fromkeys(values))


def security_groups(prop: str, raw: Any) -> tuple[str, ...]:
    fix = "Use security group IDs such as sg-0a1b2c3d."
    values = [
        string(f"{prop}[{i}]", v, _SECURITY_GROUP, "a security group ID", fix)
        for i, v in enumerate(items(prop, raw, 1, 5))
    ]
    return tuple(dict.fromkeys(values))


def retry(prop: str, raw: Any) -> tuple[dict[str, Any], ...]:
    keys = (
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
    )
    retriers = []
    for index, entry in enumerate(items(prop, raw, 1, 20)):
        where = f"{prop}[{index}]"
        item = fields(where, entry, keys, required=("ErrorEquals",))
        retrier: dict[str, Any] = {"ErrorEquals": error_names(f"{where}.ErrorEquals", item["ErrorEquals"])}
        if "IntervalSeconds" in item:
            retrier["IntervalSeconds"] = integer(
                f"{where}.IntervalSeconds", item["IntervalSeconds"], 1, 99999999
            )
        if "MaxAttempts" in item:
            retrier["MaxAttempts"] = integer(f"{where}.MaxAttempts", item["MaxAttempts"], 0, 99999999)
        if "BackoffRate" in item:
            retrier["BackoffRate"] = number(f"{where}.BackoffRate", item["BackoffRate"], 1.0, 1000.0)
        if "MaxDelaySeconds" in item:
            retrier["MaxDelaySeconds"] = integer(
                f"{where}.MaxDelaySeconds", item["MaxDelaySeconds"], 1, 31622400
            )
        if "JitterStrategy" in item:
            retrier["JitterStrategy"] = choice(
                f"{where}.JitterStrategy", item["JitterStrategy"], ("FULL", "NONE")
            )
        retriers.append(retrier)
    states_all_last(prop, retriers, "retriers")
    return tuple(retriers)


def error_names(prop: str, raw: Any) -> list[str]:
    """An ErrorEquals list: error names, States.ALL alone."""
    names = [
        string(f"{prop}[{i}]", e, _ERROR_NAME, "an error name", "Use names like States.ALL.")
        for i, e in enumerate(items(prop, raw, 1, 50))
    ]
    if "States.ALL" in names and len(names) > 1:
        raise PropertyError(prop, names, "mixes States.ALL with others", "Use it alone.")
    return names


def states_all_last(prop: str, entries: list[dict[str, Any]], what: str) -> None:
    for index, entry in enumerate(entries[:-1]):
        if "States.ALL" in entry["ErrorEquals"]:
            raise PropertyError(
                f"{prop}[{index}]", MISSING, f"uses States.ALL before other {what}", "Put it last."
            )


def role_arn(prop: str, raw: Any) -> str:
    fix = "Use an IAM role ARN such as arn:aws:iam::123456789012:role/my-role."
    return string(prop, raw, arn.ROLE, "an IAM role ARN", fix).strip()


def policy_arn(prop: str, raw: Any) -> str:
    fix = "Use a managed policy ARN such as arn:aws:iam::123456789012:policy/boundary."
    return string(prop, raw, arn.POLICY, "an IAM managed policy ARN", fix).strip()


def logging_config(prop: str, raw: Any) -> LoggingConfig:
    item = fields(prop, raw, ("Level", "IncludeExecutionData", "LogGroupArn"))
    level = choice(f"{prop}.Level", item.get("Level", "ERROR"), LOG_LEVELS)
    include = boolean(f"{prop}.IncludeExecutionData", item.get("IncludeExecutionData", False))
    group = None
    if "LogGroupArn" in item:
        fix = "Use a log group ARN such as arn:aws:logs:us-east-1:123456789012:log-group:/my/group:*."
        group = string(f"{prop}.LogGroupArn", item["LogGroupArn"], arn.LOG_GROUP, "a log group ARN", fix)
        if not group.endswith(":*"):
            group += ":*"  # Step Functions needs the log group ARN with its trailing :*
    if level != "OFF" and group is None:
        raise PropertyError(
            f"{prop}.LogGroupArn", MISSING, f"is required when Level is {level}", "Add it, or set Level: OFF."
        )
    return LoggingConfig(level, include, group)


def tags(prop: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, Mapping):  # {Key: Value} map, as SAM writes tags
        raw = [{"Key": k, "Value": v} for k, v in raw.items()]
    pairs: dict[str, str] = {}
    for index, entry in enumerate(items(prop, raw, 0, 45) if raw != [] else []):
        where = f"{prop}[{index}]"
        item = fields(where, entry, ("Key", "Value"), required=("Key", "Value"))
        key = string(f"{where}.Key", item["Key"])
        value = string(f"{where}.Value", item["Value"])
        if not 1 <= len(key) <= 128 or not re.fullmatch(r"[\w.:/=+@\- ]+", key):
            raise PropertyError(
                f"{where}.Key", key, "is not a valid tag key", "Use 1-128 letters, digits, spaces, _.:/=+-@."
            )
        if len(value) > 256 or not re.fullmatch(r"[\w.:/=+@\- ]*", value):
            raise PropertyError(
                f"{where}.Value",
                value,
                "is not a valid tag value",
                "Use 0-256 letters, digits, spaces, _.:/=+-@.",
            )
        if key.lower().startswith("aws:") or key.startswith(OWNERSHIP_TAG_PREFIX):
            raise PropertyError(
                f"{where}.Key",
                key,
                "is reserved",
                "Choose a key without the aws: or ecs-state-machine: prefix.",
            )
        if key in pairs:
            raise PropertyError(f"{where}.Key", key, "is given twice", "Give each tag key once.")
        pairs[key] = value
    return tuple(pairs.items())


def substitutions(prop: str, raw: Any) -> tuple[tuple[str, str], ...]:
    item = raw if isinstance(raw, Mapping) else None
    if item is None:
        raise PropertyError(prop, raw, "must be a map", "Map each ${Name} placeholder to its value.")
    pairs = []
    for key, value in item.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,128}", key):
            raise PropertyError(f"{prop} key", key, "is not a placeholder name", "Use letters, digits and _.")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise PropertyError(f"{prop}.{key}", value, "must be a string, number or boolean", "")
        if len(str(value)) > SUBSTITUTION_LIMIT:
            raise PropertyError(
                f"{prop}.{key}", MISSING, f"is longer than {SUBSTITUTION_LIMIT} characters", "Shorten it."
            )
        pairs.append((key, str(value)))
    return tuple(pairs)


def families(prop: str, raw: Any) -> tuple[str, ...]:
    fix = "List the task definition families a state may choose at run time."
    if isinstance(raw, bool) or (isinstance(raw, str) and raw.strip().lower() in TRUE + FALSE):
        raise PropertyError(prop, raw, "must list families, not true/false (the policy needs them)", fix)
    values = [
        string(f"{prop}[{i}]", v, NAME, "a family name", fix) for i, v in enumerate(items(prop, raw, 1, 50))
    ]
    return tuple(dict.fromkeys(values))


_STATEMENT_KEYS = ("Sid", "Effect", "Action", "Resource", "Condition")
_SERVICE_WILDCARD = re.compile(r"^[a-z0-9-]+:\*$")


def policy_statements(prop: str, raw: Any) -> tuple[dict[str, Any], ...]:
    """The stack's own statements for other integrations (SNS, Lambda, ...). A statement that names
    what it grants is reviewable; `NotAction`, `NotResource` and `*` actions grant what nobody
    listed, and are refused."""
    return tuple(_statement(f"{prop}[{index}]", entry) for index, entry in enumerate(items(prop, raw, 1, 50)))


def _strings(prop: str, raw: Any) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise PropertyError(prop, raw, "must be a string or a list of strings", "")
    return values


def _statement(where: str, entry: Any) -> dict[str, Any]:
    for negated in ("NotAction", "NotResource"):
        if isinstance(entry, Mapping) and negated in entry:
            raise PropertyError(
                f"{where}.{negated}",
                MISSING,
                "grants everything it does not list",
                f"List what it grants in {negated[3:]}.",
            )
    item = fields(where, entry, _STATEMENT_KEYS, required=("Effect", "Action", "Resource"))
    choice(f"{where}.Effect", item["Effect"], ("Allow", "Deny"))
    actions = _strings(f"{where}.Action", item["Action"])
    _strings(f"{where}.Resource", item["Resource"])
    for action in actions:
        if action.strip() == "*" or _SERVICE_WILDCARD.match(action.strip().lower()):
            raise PropertyError(
                f"{where}.Action",
                action,
                "grants every action of a service",
                "List the actions the integration needs.",
            )
    if "Condition" in item and not isinstance(item["Condition"], Mapping):
        raise PropertyError(f"{where}.Condition", item["Condition"], "must be a map", "")
    return dict(item)


def definition_document(prop: str, raw: Any) -> Any:
    """Kept raw here: it is loaded (substituted, types restored) once substitutions are known."""
    if not isinstance(raw, str | Mapping):
        raise PropertyError(prop, raw, "must be a map or a JSON string", "Give the state machine's ASL.")
    return raw


def public_ip(prop: str, raw: Any) -> bool:
    """true/false, or ECS's own ENABLED/DISABLED."""
    if isinstance(raw, str) and raw.strip().upper() in ("ENABLED", "DISABLED"):
        return raw.strip().upper() == "ENABLED"
    return boolean(prop, raw)
