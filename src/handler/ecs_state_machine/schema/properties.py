"""Raw CloudFormation properties -> one typed, validated object: `SingleTask` (one ECS task,
described by properties) or `Workflow` (the stack's own Definition).

Every property is declared once in SCHEMA, with its converter, its mode and what it is for, and
is converted by its declared type, never by guessing ("123" may be a perfectly good name). Rules
across properties, and the administrator's, live in `rules.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import arn
from ..base.errors import MISSING, PropertyError, ProviderError, choices
from . import machine_options, rules, task_options, task_rules
from .converters import Converter, boolean, choice, integer, pattern, simple
from .model import SingleTask, Workflow
from .values import (
    INTEGRATION_PATTERNS,
    LAUNCH_TYPES,
    NAME,
    PLATFORM_VERSION,
    PROPAGATE_TAGS,
    QUERY_LANGUAGES,
    STATE_MACHINE_TYPES,
    capacity_provider_strategy,
    cluster_ref,
    definition_document,
    families,
    jsonpath,
    logging_config,
    policy_arn,
    policy_statements,
    public_ip,
    retry,
    role_arn,
    security_groups,
    subnets,
    substitutions,
    tags,
    task_definition_ref,
)

# CloudFormation reads these itself and also passes them in ResourceProperties.
CLOUDFORMATION_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})
RESOURCE_TYPE = "Custom::EcsStateMachine"


@dataclass(frozen=True)
class Spec:
    attr: str
    convert: Converter
    description: str
    mode: str = "both"  # "both", "task" (TaskDefinition mode only) or "definition"
    empty_is_a_value: bool = False  # [] means something (else an empty value is no value)


SCHEMA: dict[str, Spec] = {
    "TaskDefinition": Spec("task_definition", task_definition_ref, "family, family:revision or ARN", "task"),
    "ContainerName": Spec(
        "container_name",
        pattern(NAME, "a container name", "Use the container's name."),
        "container whose command is overridden",
        "task",
    ),
    "Cluster": Spec("cluster", cluster_ref, "cluster name or ARN", "task"),
    "LaunchType": Spec("launch_type", simple(choice, LAUNCH_TYPES), "FARGATE, EC2 or EXTERNAL", "task"),
    "CapacityProviderStrategy": Spec(
        "capacity_provider_strategy",
        capacity_provider_strategy,
        "instead of LaunchType; [] for the cluster's default",
        "task",
        empty_is_a_value=True,
    ),
    "PlacementConstraints": Spec(
        "placement_constraints", task_options.placement_constraints, "EC2 placement constraints", "task"
    ),
    "PlacementStrategy": Spec(
        "placement_strategy", task_options.placement_strategy, "EC2 placement strategies", "task"
    ),
    "PlatformVersion": Spec(
        "platform_version",
        pattern(PLATFORM_VERSION, "a platform version", "Use LATEST or a version such as 1.4.0."),
        "Fargate platform version",
        "task",
    ),
    "Subnets": Spec("subnets", subnets, "awsvpc subnets", "task"),
    "SecurityGroups": Spec("security_groups", security_groups, "awsvpc security groups", "task"),
    "AssignPublicIp": Spec("assign_public_ip", public_ip, "give the task a public IP", "task"),
    "Command": Spec("command", task_options.command, "a literal command", "task"),
    "CommandPath": Spec("command_path", jsonpath, "where the command is in the execution input", "task"),
    "Environment": Spec(
        "environment", task_options.environment, "variables, literal or from the input", "task"
    ),
    "EnvironmentPath": Spec(
        "environment_path", jsonpath, "where environment overrides are in the input", "task"
    ),
    "ContainerOverrides": Spec(
        "container_overrides",
        task_options.container_overrides,
        "overrides of several containers; [] for none",
        "task",
        empty_is_a_value=True,
    ),
    "Cpu": Spec("cpu", task_options.task_cpu, "task CPU override", "task"),
    "Memory": Spec("memory", task_options.task_memory, "task memory override", "task"),
    "IntegrationPattern": Spec(
        "integration_pattern", simple(choice, INTEGRATION_PATTERNS), "how the task is awaited", "task"
    ),
    "PinRevision": Spec("pin_revision", boolean, "run exactly the resolved revision"),
    "FollowRevisions": Spec(
        "follow_revisions", boolean, "move to new revisions between deploys, role included"
    ),
    "StateMachineName": Spec(
        "state_machine_name",
        pattern(arn.STATE_MACHINE_NAME, "a state machine name", "Use 1-80 letters, digits, - or _."),
        "name",
    ),
    "StateMachineType": Spec(
        "state_machine_type", simple(choice, STATE_MACHINE_TYPES), "STANDARD or EXPRESS"
    ),
    "TimeoutSeconds": Spec("timeout_seconds", simple(integer, 1, 99999999), "task state timeout", "task"),
    "HeartbeatSeconds": Spec(
        "heartbeat_seconds", simple(integer, 1, 99999999), "task state heartbeat", "task"
    ),
    "Retry": Spec("retry", retry, "ASL retriers on the task state", "task"),
    "Catch": Spec("catch", task_options.catch, "ASL catchers on the task state", "task"),
    "InputPath": Spec("input_path", jsonpath, "the task state's InputPath", "task"),
    "OutputPath": Spec("output_path", jsonpath, "the task state's OutputPath", "task"),
    "ResultPath": Spec("result_path", task_options.reference_path, "the task state's ResultPath", "task"),
    "ResultSelector": Spec(
        "result_selector", task_options.result_selector, "the task state's ResultSelector", "task"
    ),
    "Comment": Spec("comment", task_options.comment, "the task state's comment", "task"),
    "PropagateTags": Spec(
        "propagate_tags", simple(choice, PROPAGATE_TAGS), "copy task definition tags to the task", "task"
    ),
    "EnableExecuteCommand": Spec("enable_execute_command", boolean, "ECS Exec on the task", "task"),
    "RoleArn": Spec("role_arn", role_arn, "existing role for the state machine"),
    "RolePermissionsBoundary": Spec("role_permissions_boundary", policy_arn, "boundary for the created role"),
    "Logging": Spec("logging", logging_config, "state machine logging"),
    "TracingEnabled": Spec("tracing_enabled", boolean, "X-Ray tracing"),
    "Tags": Spec("tags", tags, "tags for the state machine and created role"),
    "EncryptionConfiguration": Spec(
        "encryption", machine_options.encryption_config, "encryption at rest, AWS-owned or your KMS key"
    ),
    "PublishVersion": Spec("publish_version", boolean, "publish a version on every change"),
    "VersionDescription": Spec(
        "version_description", machine_options.version_description, "description of published versions"
    ),
    "AliasName": Spec("alias_name", machine_options.alias_name, "an alias moved to each new version"),
    "VersionsToKeep": Spec(
        "versions_to_keep", machine_options.versions_to_keep, "older versions no alias uses are deleted"
    ),
    "QueryLanguage": Spec("query_language", simple(choice, QUERY_LANGUAGES), "JSONPath or JSONata", "task"),
    "Definition": Spec("definition", definition_document, "a whole ASL document", "definition"),
    "DefinitionSubstitutions": Spec(
        "definition_substitutions", substitutions, "${Name} values for Definition", "definition"
    ),
    "AllowDynamicTaskDefinitions": Spec(
        "allow_dynamic_task_definitions", families, "families chosen at run time", "definition"
    ),
    "PolicyStatements": Spec(
        "policy_statements", policy_statements, "extra statements for the role", "definition"
    ),
    # CloudFormation sends an Update only when a property changes: changing this one (a date, a
    # build number, the newest revision's number) re-resolves the task definitions on demand.
    "RefreshToken": Spec(
        "refresh_token",
        pattern(re.compile(r"^[\x20-\x7e]{1,256}$"), "printable text", "Use up to 256 printable characters."),
        "any value",
    ),
}

KNOWN = tuple(SCHEMA)


def parse(raw: Any) -> SingleTask | Workflow:
    """Validate and convert ResourceProperties. Raises PropertyError naming the first bad property."""
    if not isinstance(raw, Mapping):
        raise PropertyError("ResourceProperties", raw, "must be a map", "Give the resource a Properties map.")
    _check_known(raw)
    mode = _mode(raw)
    values = {spec.attr: spec.convert(name, raw[name]) for name, spec in SCHEMA.items() if present(raw, name)}
    if mode == "definition":
        from .definition import load

        values["definition"] = load(values["definition"], dict(values.get("definition_substitutions", ())))
        workflow = Workflow(**values)
        rules.check_workflow(workflow)
        return workflow
    if "capacity_provider_strategy" in values and "launch_type" not in values:
        values["launch_type"] = None
    single = SingleTask(**values)
    task_rules.check_single_task(single)
    return single


def given(raw: Mapping[str, Any], name: str) -> bool:
    """Set to something: CloudFormation users blank out optional properties with "" or []."""
    value = raw.get(name)
    return value is not None and not (isinstance(value, str | list | dict) and len(value) == 0)


def present(raw: Mapping[str, Any], name: str) -> bool:
    """Given, or an empty list where the property says that [] means something."""
    spec = SCHEMA.get(name)
    return given(raw, name) or (spec is not None and spec.empty_is_a_value and raw.get(name) == [])


def _check_known(raw: Mapping[str, Any]) -> None:
    unknown = [key for key in raw if key not in SCHEMA and key not in CLOUDFORMATION_KEYS]
    if unknown:
        key = str(unknown[0])
        hint = _closest(key)
        fix = f"Did you mean {hint}?" if hint else f"Known properties: {choices(list(KNOWN), 110)}."
        name = key if len(key) <= 40 else key[:37] + "..."
        raise PropertyError(name, MISSING, f"is not a property of {RESOURCE_TYPE}", fix)


def _mode(raw: Mapping[str, Any]) -> str:
    """Exactly one of TaskDefinition and Definition, and only the properties of that mode."""
    single, whole = given(raw, "TaskDefinition"), given(raw, "Definition")
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
    mode = "task" if single else "definition"
    for name, spec in SCHEMA.items():
        if spec.mode not in ("both", mode) and present(raw, name):
            if whole:
                raise PropertyError(
                    name,
                    MISSING,
                    "does not apply with a Definition",
                    "Set it in the task state's Parameters instead.",
                )
            raise PropertyError(
                name,
                MISSING,
                "does not apply with TaskDefinition",
                "Remove it: it applies to Definition mode.",
            )
    return mode


def _closest(name: str) -> str | None:
    import difflib  # only for a property name nobody knows

    lowered = {known.lower(): known for known in KNOWN}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


_UNKNOWN: Any = object()  # equals nothing: the old properties cannot say


@dataclass(frozen=True)
class Previous:
    """What the old properties of an Update said, converted as `parse` converts them; a value the
    old properties cannot give (they may be the ones that failed) is unknown and equals nothing."""

    named: bool = False  # an explicit StateMachineName
    follows: Any = False  # FollowRevisions
    alias: str | None = None  # AliasName, when versions were published
    encrypted: bool = False  # EncryptionConfiguration was given
    state_machine_type: Any = "STANDARD"
    role_arn: Any = None
    tags: dict[str, str] | None = field(default_factory=dict)  # None: unknown

    @classmethod
    def of(cls, old: Any) -> Previous:
        if not isinstance(old, Mapping):
            return cls(state_machine_type=_UNKNOWN, role_arn=_UNKNOWN, tags=None, follows=_UNKNOWN)
        old_tags = _old_value(old, "Tags", ())
        return cls(
            named=isinstance(old.get("StateMachineName"), str) and bool(old["StateMachineName"]),
            follows=_old_value(old, "FollowRevisions", False),
            alias=_old_alias(old),
            encrypted=given(old, "EncryptionConfiguration"),
            state_machine_type=_old_value(old, "StateMachineType", "STANDARD"),
            role_arn=_old_value(old, "RoleArn", None),
            tags=None if old_tags is _UNKNOWN else dict(old_tags),
        )


def _old_alias(old: Mapping[str, Any]) -> str | None:
    alias = _old_value(old, "AliasName", None)
    publishing = _old_value(old, "PublishVersion", False)
    return alias if isinstance(alias, str) and publishing is True else None


def _old_value(old: Mapping[str, Any], name: str, default: Any) -> Any:
    if not given(old, name):
        return default
    try:
        return SCHEMA[name].convert(name, old[name])
    except ProviderError:
        return _UNKNOWN
