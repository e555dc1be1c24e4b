"""Raw CloudFormation properties -> one typed, validated `Properties` object.

CloudFormation delivers every scalar as a string ("true", "300", "1.5"), recursively inside
lists and maps. Each property is declared once below with its converter and default, and is
converted by its declared type, never by guessing ("123" may be a perfectly good name).
Rules that involve more than one property live in `_check_combinations`, beside the parser.
Rules that need the task definition (network mode, containers) live in `resolve.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MISSING, PropertyError, choices

# CloudFormation reads these itself and also passes them in ResourceProperties.
CLOUDFORMATION_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})

OWNERSHIP_TAG_PREFIX = "ecs-state-machine:"

INTEGRATION_PATTERNS = ("RUN_JOB", "REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN")
LAUNCH_TYPES = ("FARGATE", "EC2", "EXTERNAL")
STATE_MACHINE_TYPES = ("STANDARD", "EXPRESS")
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
PROPAGATE_TAGS = ("TASK_DEFINITION", "NONE")
QUERY_LANGUAGES = ("JSONPath", "JSONata")

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_FAMILY_REVISION = re.compile(r"^([A-Za-z0-9_-]{1,255}):([1-9][0-9]{0,8})$")
_TASK_DEFINITION_ARN = re.compile(
    r"^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):task-definition/([A-Za-z0-9_-]{1,255})(?::([1-9][0-9]{0,8}))?$"
)
_CLUSTER_ARN = re.compile(r"^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster/([A-Za-z0-9_-]{1,255})$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/((?:[\x21-\x7e]+/)*)?([\w+=,.@-]{1,64})$")
_POLICY_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}|aws):policy/(?:[\x21-\x7e]+/)*[\w+=,.@-]{1,128}$")
_LOG_GROUP_ARN = re.compile(
    r"^arn:(aws[a-z-]*):logs:([a-z0-9-]+):(\d{12}):log-group:([\w#/.-]{1,512})(?::\*)?$"
)
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_PLATFORM_VERSION = re.compile(r"^(LATEST|\d{1,3}\.\d{1,3}\.\d{1,3})$")
_STATE_MACHINE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_CAPACITY_PROVIDER = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# A Step Functions reference path: $ or $$ followed by .field, ['field'] or [index] steps.
_JSONPATH = re.compile(r"^\$\$?(?:\.[A-Za-z_][A-Za-z0-9_-]*|\['[^'\\\x00-\x1f]{1,128}'\]|\[[0-9]{1,6}\])*$")
_ERROR_NAME = re.compile(r"^[\x20-\x7e]{1,256}$")

SUBSTITUTION_LIMIT = 65_536  # characters in one DefinitionSubstitutions value

TRUE = ("true", "True", "TRUE", "1", "yes")
FALSE = ("false", "False", "FALSE", "0", "no")


# --------------------------------------------------------------------------- typed values
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


@dataclass(frozen=True)
class Properties:
    task_definition: TaskDefinitionRef | None = None
    container_name: str | None = None
    cluster: str = "default"
    launch_type: str | None = "FARGATE"
    capacity_provider_strategy: tuple[CapacityProviderItem, ...] = ()
    platform_version: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False
    command_path: str = "$.command"
    environment_path: str | None = None
    integration_pattern: str = "RUN_JOB"
    pin_revision: bool = True
    state_machine_name: str | None = None
    state_machine_type: str = "STANDARD"
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    retry: tuple[dict[str, Any], ...] = ()
    propagate_tags: str | None = None
    enable_execute_command: bool = False
    role_arn: str | None = None
    role_permissions_boundary: str | None = None
    logging: LoggingConfig | None = None
    tracing_enabled: bool = False
    tags: tuple[tuple[str, str], ...] = field(default=())
    query_language: str = "JSONPath"
    definition: dict[str, Any] | None = None
    definition_substitutions: tuple[tuple[str, str], ...] = ()
    allow_dynamic_task_definitions: tuple[str, ...] = ()
    policy_statements: tuple[dict[str, Any], ...] = ()
    refresh_token: str | None = None


# --------------------------------------------------------------------------- converters
Converter = Callable[[str, Any], Any]


def _string(
    prop: str, raw: Any, pattern: re.Pattern[str] | None = None, what: str = "", fix: str = ""
) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise PropertyError(prop, raw, f"must be a string{', ' + what if what else ''}", fix)
    text = str(raw)
    if pattern is not None and not pattern.fullmatch(text):
        raise PropertyError(prop, text, f"is not {what}" if what else "is not valid", fix)
    return text


def _boolean(prop: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip() in TRUE:
        return True
    if isinstance(raw, str) and raw.strip() in FALSE:
        return False
    raise PropertyError(prop, raw, "is not a boolean", "Use true or false.")


def _public_ip(prop: str, raw: Any) -> bool:
    """true/false, or ECS's own ENABLED/DISABLED."""
    if isinstance(raw, str) and raw.strip().upper() in ("ENABLED", "DISABLED"):
        return raw.strip().upper() == "ENABLED"
    return _boolean(prop, raw)


def _integer(prop: str, raw: Any, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise PropertyError(prop, raw, "is not a whole number", f"Use a number from {low} to {high}.")
    try:
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip())
    except ValueError:
        try:
            as_float = float(str(raw).strip())
        except ValueError:
            as_float = float("nan")
        if as_float.is_integer():
            value = int(as_float)
        else:
            raise PropertyError(
                prop, raw, "is not a whole number", f"Use a number from {low} to {high}."
            ) from None
    if not low <= value <= high:
        raise PropertyError(prop, raw, "is out of range", f"Use a number from {low} to {high}.")
    return value


def _number(prop: str, raw: Any, low: float, high: float) -> int | float:
    if isinstance(raw, bool):
        raise PropertyError(prop, raw, "is not a number", f"Use a number from {low} to {high}.")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PropertyError(prop, raw, "is not a number", f"Use a number from {low} to {high}.") from None
    if value != value or not low <= value <= high:  # NaN or out of range
        raise PropertyError(prop, raw, "is out of range", f"Use a number from {low} to {high}.")
    return int(value) if value.is_integer() else value


def _enum(prop: str, raw: Any, allowed: tuple[str, ...]) -> str:
    text = _string(prop, raw, fix=f"Use one of: {', '.join(allowed)}.")
    if text not in allowed:
        folded = {choice.upper(): choice for choice in allowed}
        if text.upper() in folded:  # be forgiving about case, as the AWS console is
            return folded[text.upper()]
        raise PropertyError(prop, text, "is not a valid choice", f"Use one of: {', '.join(allowed)}.")
    return text


def _list(prop: str, raw: Any, low: int, high: int) -> list[Any]:
    if isinstance(raw, str) and "," in raw and low <= len(raw.split(",")) <= high:
        # A comma-separated string (from a CommaDelimitedList parameter joined by hand).
        raw = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, str) and raw:
        raw = [raw]
    if not isinstance(raw, list):
        raise PropertyError(prop, raw, "must be a list", f"Give {low} to {high} items as a YAML/JSON list.")
    if not low <= len(raw) <= high:
        raise PropertyError(
            prop, f"{len(raw)} items", "has the wrong number of items", f"Give {low} to {high}."
        )
    return raw


def _map(prop: str, raw: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise PropertyError(prop, raw, "must be a map", f"Give a map with keys: {', '.join(allowed)}.")
    for key in raw:
        if key not in allowed:
            raise PropertyError(
                f"{prop}.{key}" if isinstance(key, str) else prop,
                MISSING,
                "is not a known key",
                f"Use only: {', '.join(allowed)}.",
            )
    for key in required:
        if key not in raw:
            raise PropertyError(f"{prop}.{key}", MISSING, "is required", f"Add {key} to {prop}.")
    return dict(raw)


def task_definition_ref(prop: str, raw: Any) -> TaskDefinitionRef:
    fix = "Use a family name, family:revision, or a task definition ARN."
    text = _string(prop, raw, fix=fix).strip()
    if _NAME.match(text):
        return TaskDefinitionRef(family=text)
    pinned = _FAMILY_REVISION.match(text)
    if pinned:
        return TaskDefinitionRef(family=pinned.group(1), revision=int(pinned.group(2)))
    arn = _TASK_DEFINITION_ARN.match(text)
    if arn:
        revision = int(arn.group(5)) if arn.group(5) else None
        return TaskDefinitionRef(family=arn.group(4), revision=revision, arn=text)
    raise PropertyError(prop, text, "is not a task definition family, family:revision or ARN", fix)


def cluster_ref(prop: str, raw: Any) -> str:
    fix = "Use a cluster name or an ECS cluster ARN."
    text = _string(prop, raw, fix=fix).strip()
    if _NAME.match(text) or _CLUSTER_ARN.match(text):
        return text
    raise PropertyError(prop, text, "is not a cluster name or ARN", fix)


def jsonpath(prop: str, raw: Any) -> str:
    fix = "Use a JSONPath such as $.command or $.job['args'] (no filters or wildcards)."
    text = _string(prop, raw, fix=fix).strip()
    if len(text) > 256 or not _JSONPATH.match(text):
        raise PropertyError(prop, text, "is not a JSONPath reference", fix)
    return text


def capacity_provider_strategy(prop: str, raw: Any) -> tuple[CapacityProviderItem, ...]:
    items = []
    for index, entry in enumerate(_list(prop, raw, 1, 20)):
        where = f"{prop}[{index}]"
        item = _map(where, entry, ("CapacityProvider", "Weight", "Base"), required=("CapacityProvider",))
        name = _string(
            f"{where}.CapacityProvider",
            item["CapacityProvider"],
            _CAPACITY_PROVIDER,
            "a capacity provider name",
        )
        weight = _integer(f"{where}.Weight", item["Weight"], 0, 1000) if "Weight" in item else None
        base = _integer(f"{where}.Base", item["Base"], 0, 100000) if "Base" in item else None
        items.append(CapacityProviderItem(name, weight, base))
    if sum(1 for item in items if item.base) > 1:
        raise PropertyError(
            prop, MISSING, "sets Base on more than one capacity provider", "Set Base on one only."
        )
    return tuple(items)


def subnets(prop: str, raw: Any) -> tuple[str, ...]:
    fix = "Use subnet IDs such as subnet-0a1b2c3d."
    values = [
        _string(f"{prop}[{i}]", v, _SUBNET, "a subnet ID", fix) for i, v in enumerate(_list(prop, raw, 1, 16))
    ]
    return tuple(dict.fromkeys(values))


def security_groups(prop: str, raw: Any) -> tuple[str, ...]:
    fix = "Use security group IDs such as sg-0a1b2c3d."
    values = [
        _string(f"{prop}[{i}]", v, _SECURITY_GROUP, "a security group ID", fix)
        for i, v in enumerate(_list(prop, raw, 1, 5))
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
    for index, entry in enumerate(_list(prop, raw, 1, 20)):
        where = f"{prop}[{index}]"
        item = _map(where, entry, keys, required=("ErrorEquals",))
        errors = _list(f"{where}.ErrorEquals", item["ErrorEquals"], 1, 50)
        names = [
            _string(
                f"{where}.ErrorEquals[{i}]", e, _ERROR_NAME, "an error name", "Use names like States.ALL."
            )
            for i, e in enumerate(errors)
        ]
        if "States.ALL" in names and len(names) > 1:
            raise PropertyError(
                f"{where}.ErrorEquals", names, "mixes States.ALL with others", "Use it alone."
            )
        retrier: dict[str, Any] = {"ErrorEquals": names}
        if "IntervalSeconds" in item:
            retrier["IntervalSeconds"] = _integer(
                f"{where}.IntervalSeconds", item["IntervalSeconds"], 1, 99999999
            )
        if "MaxAttempts" in item:
            retrier["MaxAttempts"] = _integer(f"{where}.MaxAttempts", item["MaxAttempts"], 0, 99999999)
        if "BackoffRate" in item:
            retrier["BackoffRate"] = _number(f"{where}.BackoffRate", item["BackoffRate"], 1.0, 1000.0)
        if "MaxDelaySeconds" in item:
            retrier["MaxDelaySeconds"] = _integer(
                f"{where}.MaxDelaySeconds", item["MaxDelaySeconds"], 1, 31622400
            )
        if "JitterStrategy" in item:
            retrier["JitterStrategy"] = _enum(
                f"{where}.JitterStrategy", item["JitterStrategy"], ("FULL", "NONE")
            )
        retriers.append(retrier)
    for index, retrier in enumerate(retriers[:-1]):
        if "States.ALL" in retrier["ErrorEquals"]:
            raise PropertyError(
                f"{prop}[{index}]", MISSING, "uses States.ALL before other retriers", "Put it last."
            )
    return tuple(retriers)


def role_arn(prop: str, raw: Any) -> str:
    fix = "Use an IAM role ARN such as arn:aws:iam::123456789012:role/my-role."
    return _string(prop, raw, _ROLE_ARN, "an IAM role ARN", fix).strip()


def policy_arn(prop: str, raw: Any) -> str:
    fix = "Use a managed policy ARN such as arn:aws:iam::123456789012:policy/boundary."
    return _string(prop, raw, _POLICY_ARN, "an IAM managed policy ARN", fix).strip()


def logging_config(prop: str, raw: Any) -> LoggingConfig:
    item = _map(prop, raw, ("Level", "IncludeExecutionData", "LogGroupArn"))
    level = _enum(f"{prop}.Level", item.get("Level", "ERROR"), LOG_LEVELS)
    include = _boolean(f"{prop}.IncludeExecutionData", item.get("IncludeExecutionData", False))
    group = None
    if "LogGroupArn" in item:
        fix = "Use a log group ARN such as arn:aws:logs:us-east-1:123456789012:log-group:/my/group:*."
        group = _string(f"{prop}.LogGroupArn", item["LogGroupArn"], _LOG_GROUP_ARN, "a log group ARN", fix)
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
    for index, entry in enumerate(_list(prop, raw, 0, 45) if raw != [] else []):
        where = f"{prop}[{index}]"
        item = _map(where, entry, ("Key", "Value"), required=("Key", "Value"))
        key = _string(f"{where}.Key", item["Key"])
        value = _string(f"{where}.Value", item["Value"])
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
        _string(f"{prop}[{i}]", v, _NAME, "a family name", fix) for i, v in enumerate(_list(prop, raw, 1, 50))
    ]
    return tuple(dict.fromkeys(values))


_STATEMENT_KEYS = ("Sid", "Effect", "Action", "Resource", "Condition")
_SERVICE_WILDCARD = re.compile(r"^[a-z0-9-]+:\*$")


def policy_statements(prop: str, raw: Any) -> tuple[dict[str, Any], ...]:
    """The stack's own statements for other integrations (SNS, Lambda, ...). A statement that names
    what it grants is reviewable; `NotAction`, `NotResource` and `*` actions grant what nobody
    listed, and are refused."""
    statements = []
    for index, entry in enumerate(_list(prop, raw, 1, 50)):
        where = f"{prop}[{index}]"
        for negated in ("NotAction", "NotResource"):
            if isinstance(entry, Mapping) and negated in entry:
                base = negated[3:]
                raise PropertyError(
                    f"{where}.{negated}",
                    MISSING,
                    "grants everything it does not list",
                    f"List what it grants in {base}.",
                )
        item = _map(where, entry, _STATEMENT_KEYS, required=("Effect", "Action", "Resource"))
        _enum(f"{where}.Effect", item["Effect"], ("Allow", "Deny"))
        for key in ("Action", "Resource"):
            values = item[key] if isinstance(item[key], list) else [item[key]]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise PropertyError(f"{where}.{key}", item[key], "must be a string or a list of strings", "")
        for action in item["Action"] if isinstance(item["Action"], list) else [item["Action"]]:
            if action.strip() == "*" or _SERVICE_WILDCARD.match(action.strip().lower()):
                raise PropertyError(
                    f"{where}.Action",
                    action,
                    "grants every action of a service",
                    "List the actions the integration needs.",
                )
        if "Condition" in item and not isinstance(item["Condition"], Mapping):
            raise PropertyError(f"{where}.Condition", item["Condition"], "must be a map", "")
        statements.append(dict(item))
    return tuple(statements)


def definition_document(prop: str, raw: Any) -> Any:
    """Kept raw here: it is loaded (substituted, types restored) once substitutions are known."""
    if not isinstance(raw, str | Mapping):
        raise PropertyError(prop, raw, "must be a map or a JSON string", "Give the state machine's ASL.")
    return raw


def _simple(converter: Callable[..., Any], *args: Any) -> Converter:
    return lambda prop, raw: converter(prop, raw, *args)


def _pattern(pattern: re.Pattern[str], what: str, fix: str) -> Converter:
    return lambda prop, raw: _string(prop, raw, pattern, what, fix).strip()


# --------------------------------------------------------------------------- the schema
@dataclass(frozen=True)
class Spec:
    attr: str
    convert: Converter
    description: str
    required: bool = False


SCHEMA: dict[str, Spec] = {
    "TaskDefinition": Spec("task_definition", task_definition_ref, "family, family:revision or ARN"),
    "ContainerName": Spec(
        "container_name",
        _pattern(_NAME, "a container name", "Use the container's name."),
        "container whose command is overridden",
    ),
    "Cluster": Spec("cluster", cluster_ref, "cluster name or ARN"),
    "LaunchType": Spec("launch_type", _simple(_enum, LAUNCH_TYPES), "FARGATE, EC2 or EXTERNAL"),
    "CapacityProviderStrategy": Spec(
        "capacity_provider_strategy", capacity_provider_strategy, "instead of LaunchType"
    ),
    "PlatformVersion": Spec(
        "platform_version",
        _pattern(_PLATFORM_VERSION, "a platform version", "Use LATEST or a version such as 1.4.0."),
        "Fargate platform version",
    ),
    "Subnets": Spec("subnets", subnets, "awsvpc subnets"),
    "SecurityGroups": Spec("security_groups", security_groups, "awsvpc security groups"),
    "AssignPublicIp": Spec("assign_public_ip", _public_ip, "give the task a public IP"),
    "CommandPath": Spec("command_path", jsonpath, "where the command is in the execution input"),
    "EnvironmentPath": Spec("environment_path", jsonpath, "where environment overrides are in the input"),
    "IntegrationPattern": Spec(
        "integration_pattern", _simple(_enum, INTEGRATION_PATTERNS), "how the task is awaited"
    ),
    "PinRevision": Spec("pin_revision", _boolean, "run exactly the resolved revision"),
    "StateMachineName": Spec(
        "state_machine_name",
        _pattern(_STATE_MACHINE_NAME, "a state machine name", "Use 1-80 letters, digits, - or _."),
        "name",
    ),
    "StateMachineType": Spec(
        "state_machine_type", _simple(_enum, STATE_MACHINE_TYPES), "STANDARD or EXPRESS"
    ),
    "TimeoutSeconds": Spec("timeout_seconds", _simple(_integer, 1, 99999999), "task state timeout"),
    "HeartbeatSeconds": Spec("heartbeat_seconds", _simple(_integer, 1, 99999999), "task state heartbeat"),
    "Retry": Spec("retry", retry, "ASL retriers on the task state"),
    "PropagateTags": Spec(
        "propagate_tags", _simple(_enum, PROPAGATE_TAGS), "copy task definition tags to the task"
    ),
    "EnableExecuteCommand": Spec("enable_execute_command", _boolean, "ECS Exec on the task"),
    "RoleArn": Spec("role_arn", role_arn, "existing role for the state machine"),
    "RolePermissionsBoundary": Spec("role_permissions_boundary", policy_arn, "boundary for the created role"),
    "Logging": Spec("logging", logging_config, "state machine logging"),
    "TracingEnabled": Spec("tracing_enabled", _boolean, "X-Ray tracing"),
    "Tags": Spec("tags", tags, "tags for the state machine and created role"),
    "QueryLanguage": Spec("query_language", _simple(_enum, QUERY_LANGUAGES), "JSONPath or JSONata"),
    "Definition": Spec("definition", definition_document, "a whole ASL document (Definition mode)"),
    "DefinitionSubstitutions": Spec(
        "definition_substitutions", substitutions, "${Name} values for Definition"
    ),
    "AllowDynamicTaskDefinitions": Spec(
        "allow_dynamic_task_definitions", families, "families chosen at run time"
    ),
    "PolicyStatements": Spec("policy_statements", policy_statements, "extra statements for the role"),
    # CloudFormation sends an Update only when a property changes: changing this one (a date, a
    # build number, the newest revision's number) re-resolves the task definitions on demand.
    "RefreshToken": Spec(
        "refresh_token",
        _pattern(
            re.compile(r"^[\x20-\x7e]{1,256}$"), "printable text", "Use up to 256 printable characters."
        ),
        "any value",
    ),
}

# Properties that shape the one task state of TaskDefinition mode; a Definition says these itself.
SINGLE_TASK_ONLY = (
    "ContainerName",
    "Cluster",
    "LaunchType",
    "CapacityProviderStrategy",
    "PlatformVersion",
    "Subnets",
    "SecurityGroups",
    "AssignPublicIp",
    "CommandPath",
    "EnvironmentPath",
    "IntegrationPattern",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Retry",
    "PropagateTags",
    "EnableExecuteCommand",
    "QueryLanguage",
)
DEFINITION_ONLY = ("DefinitionSubstitutions", "AllowDynamicTaskDefinitions", "PolicyStatements")

KNOWN = tuple(SCHEMA)


def parse(raw: Any) -> Properties:
    """Validate and convert ResourceProperties. Raises PropertyError naming the first bad property."""
    if not isinstance(raw, Mapping):
        raise PropertyError("ResourceProperties", raw, "must be a map", "Give the resource a Properties map.")
    unknown = [key for key in raw if key not in SCHEMA and key not in CLOUDFORMATION_KEYS]
    if unknown:
        key = unknown[0]
        hint = _closest(str(key))
        fix = f"Did you mean {hint}?" if hint else f"Known properties: {choices(list(KNOWN), 110)}."
        name = str(key) if len(str(key)) <= 40 else str(key)[:37] + "..."
        raise PropertyError(name, MISSING, "is not a property of Custom::EcsStateMachine", fix)
    _check_mode(raw)
    values: dict[str, Any] = {}
    for name, spec in SCHEMA.items():
        if not _given(raw, name):
            if spec.required:
                raise PropertyError(name, MISSING, "is required", f"Set it to the {spec.description}.")
            continue
        values[spec.attr] = spec.convert(name, raw[name])
    if ("capacity_provider_strategy" in values or "definition" in values) and "launch_type" not in values:
        values["launch_type"] = None
    if "definition" in values:
        from .definition import load

        values["definition"] = load(values["definition"], dict(values.get("definition_substitutions", ())))
    props = Properties(**values)
    _check_combinations(props, raw)
    return props


def _given(raw: Mapping[str, Any], name: str) -> bool:
    """Set to something: CloudFormation users blank out optional properties with "" or []."""
    value = raw.get(name)
    return value is not None and not (isinstance(value, str | list | dict) and len(value) == 0)


def _check_mode(raw: Mapping[str, Any]) -> None:
    """Exactly one of TaskDefinition and Definition, and only the properties of that mode."""
    single, whole = _given(raw, "TaskDefinition"), _given(raw, "Definition")
    if single and whole:
        raise PropertyError(
            "Definition",
            MISSING,
            "cannot be combined with TaskDefinition",
            "Use TaskDefinition for one task, or a Definition.",
        )
    if not single and not whole:
        raise PropertyError(
            "TaskDefinition",
            MISSING,
            "is required (or give a whole Definition)",
            "Set it to a task definition family.",
        )
    others = DEFINITION_ONLY if single else SINGLE_TASK_ONLY
    for name in others:
        if _given(raw, name):
            fix = (
                "Set it in the task state's Parameters instead."
                if whole
                else "Remove it: it applies to Definition mode."
            )
            mode = "a Definition" if whole else "TaskDefinition"
            raise PropertyError(name, MISSING, f"does not apply with {mode}", fix)


# Rules across properties: (applies, property, value, problem, fix), checked in this order.
_RULES: tuple[tuple[Callable[[Properties], bool], str, Callable[[Properties], Any], str, str], ...] = (
    (
        lambda p: bool(p.role_arn and p.role_permissions_boundary),
        "RolePermissionsBoundary",
        lambda p: p.role_permissions_boundary,
        "applies only to a role the provider creates, but RoleArn is set",
        "Remove one of them.",
    ),
    (
        lambda p: p.definition is None and bool(p.launch_type and p.capacity_provider_strategy),
        "LaunchType",
        lambda p: p.launch_type,
        "cannot be combined with CapacityProviderStrategy",
        "Remove one of them.",
    ),
    (
        lambda p: bool(p.environment_path) and p.integration_pattern == "WAIT_FOR_TASK_TOKEN",
        "EnvironmentPath",
        lambda p: p.environment_path,
        "cannot be used with IntegrationPattern WAIT_FOR_TASK_TOKEN (the token is passed as env TASK_TOKEN)",
        "Remove EnvironmentPath or use RUN_JOB.",
    ),
    (
        lambda p: (
            p.definition is None
            and p.state_machine_type == "EXPRESS"
            and p.integration_pattern != "REQUEST_RESPONSE"
        ),
        "StateMachineType",
        lambda p: "EXPRESS",
        "cannot wait for a task (IntegrationPattern RUN_JOB or WAIT_FOR_TASK_TOKEN)",
        "Use STANDARD, or IntegrationPattern REQUEST_RESPONSE.",
    ),
    (
        lambda p: bool(
            p.heartbeat_seconds and p.timeout_seconds and p.heartbeat_seconds >= p.timeout_seconds
        ),
        "HeartbeatSeconds",
        lambda p: p.heartbeat_seconds,
        "must be less than TimeoutSeconds",
        "Lower it or raise TimeoutSeconds.",
    ),
    (
        lambda p: bool(p.platform_version) and p.launch_type == "EC2",
        "PlatformVersion",
        lambda p: p.platform_version,
        "applies only to Fargate",
        "Remove it for EC2.",
    ),
    (
        lambda p: bool(p.security_groups) and not p.subnets,
        "Subnets",
        lambda p: MISSING,
        "is required when SecurityGroups is set",
        "Add the task's subnets.",
    ),
    (
        lambda p: p.assign_public_ip and not p.subnets,
        "Subnets",
        lambda p: MISSING,
        "is required when AssignPublicIp is true",
        "Add the task's subnets.",
    ),
)


def _check_combinations(props: Properties, raw: Mapping[str, Any]) -> None:
    for applies, prop, value, problem, fix in _RULES:
        if applies(props):
            raise PropertyError(prop, value(props), problem, fix)
    if props.definition is not None:
        _check_definition(props)


def _check_definition(props: Properties) -> None:
    from .definition import states, waits

    assert props.definition is not None
    if props.state_machine_type == "EXPRESS":
        for path, _name, state, _jsonata in states(props.definition):
            if state.get("Type") == "Task" and waits(state.get("Resource")):
                raise PropertyError(
                    f"Definition.{path}.Resource",
                    state["Resource"],
                    "waits for its task, which EXPRESS state machines cannot do",
                    "Use StateMachineType STANDARD, or a request-response integration.",
                )


def _closest(name: str) -> str | None:
    import difflib

    lowered = {known.lower(): known for known in KNOWN}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None
