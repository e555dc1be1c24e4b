"""The rules of TaskDefinition mode, none of which calls AWS: across its properties
(`check_single_task`, as soon as they are parsed), and against the revision and cluster resolved
from the account (`single_task_facts`: containers, network mode, launch type, roles)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base.errors import MISSING, PropertyError, choices
from .rules import check_combinations, check_container, check_fargate, check_place, check_task_roles
from .task_options import TASK_TOKEN_PATH

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.settings import Settings
    from .model import SingleTask
    from .resolved import TaskDefinition

# Rules across TaskDefinition mode's properties: (applies, property, value, problem, fix), in order;
# the property is a name, or a function of the properties that names the offending one.
_Prop = str | Callable[["SingleTask"], str]
_TASK_RULES: tuple[tuple[Callable[[SingleTask], bool], _Prop, Callable[[SingleTask], Any], str, str], ...] = (
    (
        lambda p: bool(p.launch_type and p.capacity_provider_strategy),
        "LaunchType",
        lambda p: p.launch_type,
        "cannot be combined with CapacityProviderStrategy",
        "Remove one of them.",
    ),
    (
        lambda p: p.launch_type is not None and p.capacity_provider_strategy == (),
        "CapacityProviderStrategy",
        lambda p: [],
        "(empty: the cluster's default strategy) cannot be combined with LaunchType",
        "Remove LaunchType to use the cluster's default, or give a strategy.",
    ),
    (
        lambda p: bool(p.placement_constraints or p.placement_strategy) and _on_fargate(p),
        lambda p: "PlacementConstraints" if p.placement_constraints else "PlacementStrategy",
        lambda p: MISSING,
        "applies only to EC2 capacity, and the task runs on Fargate",
        "Set LaunchType: EC2 (or an EC2 capacity provider), or remove it.",
    ),
    (
        lambda p: p.command is not None and p.command_path is not None,
        "Command",
        lambda p: list(p.command or ()),
        "cannot be combined with CommandPath",
        "Give Command (literal) or CommandPath (from the input), not both.",
    ),
    (
        lambda p: bool(p.environment) and p.environment_path is not None,
        "Environment",
        lambda p: MISSING,
        "cannot be combined with EnvironmentPath",
        "Give Environment (variables) or EnvironmentPath (a whole list from the input), not both.",
    ),
    (
        lambda p: p.container_overrides is not None and _top_level_override(p) is not None,
        lambda p: str(_top_level_override(p)),
        lambda p: MISSING,
        "cannot be combined with ContainerOverrides",
        "Set it in the ContainerOverrides entry of its container.",
    ),
    (
        lambda p: (
            p.waits_for_token
            and p.container_overrides is not None
            and not any(o.carries_token for o in p.container_overrides)
        ),
        "ContainerOverrides",
        lambda p: MISSING,
        "gives no container the task token, which WAIT_FOR_TASK_TOKEN needs",
        "Add {Name: TASK_TOKEN, ValuePath: $$.Task.Token} to the Environment of the container that reports back.",
    ),
    (
        lambda p: (
            p.waits_for_token
            and any(v.name == "TASK_TOKEN" and v.value_path != TASK_TOKEN_PATH for v in p.environment)
        ),
        "Environment",
        lambda p: "TASK_TOKEN",
        "names TASK_TOKEN, which WAIT_FOR_TASK_TOKEN sets to the task token",
        "Use another name.",
    ),
    (
        lambda p: p.query_language == "JSONata" and _jsonpath_only(p) is not None,
        lambda p: str(_jsonpath_only(p)),
        lambda p: MISSING,
        "is a JSONPath field, and QueryLanguage is JSONata",
        "Remove it, or use QueryLanguage JSONPath.",
    ),
    (
        lambda p: bool(p.environment_path) and p.integration_pattern == "WAIT_FOR_TASK_TOKEN",
        "EnvironmentPath",
        lambda p: p.environment_path,
        "cannot be used with IntegrationPattern WAIT_FOR_TASK_TOKEN (the token is passed as env TASK_TOKEN)",
        "Remove EnvironmentPath or use RUN_JOB.",
    ),
    (
        lambda p: p.state_machine_type == "EXPRESS" and p.integration_pattern != "REQUEST_RESPONSE",
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


def _on_fargate(props: SingleTask) -> bool:
    """Whether the task surely runs on Fargate (the cluster's default strategy is ECS's to know)."""
    if props.capacity_provider_strategy:
        return all(
            i.capacity_provider in ("FARGATE", "FARGATE_SPOT") for i in props.capacity_provider_strategy
        )
    return props.launch_type == "FARGATE"


def _top_level_override(props: SingleTask) -> str | None:
    for prop, value in (
        ("ContainerName", props.container_name),
        ("Command", props.command),
        ("CommandPath", props.command_path),
        ("Environment", props.environment or None),
        ("EnvironmentPath", props.environment_path),
    ):
        if value is not None:
            return prop
    return None


def _jsonpath_only(props: SingleTask) -> str | None:
    for prop, value in (
        ("InputPath", props.input_path),
        ("OutputPath", props.output_path),
        ("ResultPath", props.result_path),
        ("ResultSelector", props.result_selector),
        ("Catch[].ResultPath", any("ResultPath" in c for c in props.catch) or None),
    ):
        if value is not None:
            return prop
    return None


def check_single_task(props: SingleTask) -> None:
    check_combinations(props)
    for applies, prop, value, problem, fix in _TASK_RULES:
        if applies(props):
            raise PropertyError(prop if isinstance(prop, str) else prop(props), value(props), problem, fix)


def check_single_task_place(props: SingleTask, place: Place) -> None:
    """Before anything is described: ARNs the properties name must be of this account and region."""
    check_place("TaskDefinition", props.task_definition.arn, place)
    check_place("Cluster", props.cluster, place)


def single_task_facts(props: SingleTask, td: TaskDefinition, place: Place, settings: Settings) -> str:
    """TaskDefinition mode's facts against the properties and the administrator's rules; the
    container whose command is overridden."""
    check_task_roles(td, "TaskDefinition", place, settings)
    chosen = container(props, td)
    check_network(props, td)
    return chosen


def container(props: SingleTask, td: TaskDefinition) -> str:
    """The container whose command is overridden: the one named, or the only one. With
    ContainerOverrides, each must name a container of the revision (all of them, comma-separated)."""
    if props.container_overrides is not None:
        for index, override in enumerate(props.container_overrides):
            check_container(f"ContainerOverrides[{index}].ContainerName", override.container_name, td)
        return ",".join(str(o.container_name) for o in props.container_overrides)
    if props.container_name:
        check_container("ContainerName", props.container_name, td)
        return props.container_name
    if len(td.containers) == 1:
        return td.containers[0]
    raise PropertyError(
        "ContainerName",
        MISSING,
        f"is required: {td.label} has {len(td.containers)} containers",
        f"Set it to one of: {choices(list(td.containers))}.",
    )


# ECS refuses a RunTask whose overrides pass 8192 characters (its TaskOverride limit).
OVERRIDES_LIMIT = 8192


def check_overrides_size(overrides: dict[str, Any] | None) -> None:
    """What the properties put into RunTask's overrides must fit ECS's limit (values read from the
    input at run time add to it then)."""
    size = len(json.dumps(overrides, separators=(",", ":"))) if overrides else 0
    if size > OVERRIDES_LIMIT:
        raise PropertyError(
            "ContainerOverrides",
            MISSING,
            f"with Command, Environment, Cpu and Memory come to {size} characters, over ECS's {OVERRIDES_LIMIT}",
            "Shorten the command or environment, or read them from the input (CommandPath, ValuePath).",
        )


def check_network(props: SingleTask, td: TaskDefinition) -> None:
    check_fargate("LaunchType", props.launch_type, td)  # no launch type: a strategy decides
    if td.network_mode == "awsvpc" and not props.subnets:
        raise PropertyError(
            "Subnets",
            MISSING,
            f"is required: {td.label} uses network mode awsvpc",
            "Add Subnets (and SecurityGroups) for the task's network interface.",
        )
    if td.network_mode != "awsvpc" and props.subnets:
        raise PropertyError(
            "Subnets",
            list(props.subnets),
            f"apply only to awsvpc tasks, and {td.label} uses network mode {td.network_mode}",
            "Remove Subnets, SecurityGroups and AssignPublicIp.",
        )
