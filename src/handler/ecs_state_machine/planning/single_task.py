"""TaskDefinition mode's state machine, rendered from the properties and the resolved facts as
CDK's EcsRunTask renders the same configuration (key for key: Overrides with Cpu, Memory and
ContainerOverrides; each container's Name, Command, Cpu, Memory, MemoryReservation, Environment;
PlacementConstraints and PlacementStrategy with Type and Expression or Field).

Pure: nothing here calls AWS. The partition comes from the resolved ARNs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..base.arn import Arn

if TYPE_CHECKING:
    from ..schema.model import SingleTask
    from ..schema.resolved import Resolved, TaskDefinition
    from ..schema.task_options import ContainerOverride, EnvironmentVariable

TASK_STATE = "RunTask"
CAUGHT_STATE = "Caught"

_RESOURCE_SUFFIX = {"RUN_JOB": ".sync", "REQUEST_RESPONSE": "", "WAIT_FOR_TASK_TOKEN": ".waitForTaskToken"}
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']+)'\]|\[([0-9]+)\]")


def jsonata_of(path: str) -> str:
    """The JSONata expression that reads what a Step Functions reference path reads."""
    if path.startswith("$$"):
        head, rest = "$states.context", path[2:]
    else:
        head, rest = "$states.input", path[1:]
    parts = [head]
    for match in _STEP.finditer(rest):
        name, quoted, index = match.groups()
        if index is not None:
            parts.append(f"[{index}]")
        else:
            field = name if name is not None else quoted
            plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field)
            parts.append(f".{field}" if plain else f".`{field}`")
    return "".join(parts)


class _Values:
    """How a value read from the execution input is written: `key.$` in JSONPath, `{% %}` in JSONata."""

    def __init__(self, jsonata: bool) -> None:
        self.jsonata = jsonata

    def read(self, target: dict[str, Any], key: str, path: str) -> None:
        if self.jsonata:
            target[key] = "{% " + jsonata_of(path) + " %}"
        else:
            target[f"{key}.$"] = path

    def variable(self, variable: EnvironmentVariable) -> dict[str, Any]:
        rendered: dict[str, Any] = {"Name": variable.name}
        if variable.value_path is None:
            rendered["Value"] = variable.value
        else:
            self.read(rendered, "Value", variable.value_path)
        return rendered


def _container(override: ContainerOverride, values: _Values) -> dict[str, Any]:
    rendered: dict[str, Any] = {"Name": override.container_name}
    if override.command is not None:
        rendered["Command"] = list(override.command)
    elif override.command_path:
        values.read(rendered, "Command", override.command_path)
    for key, number in (
        ("Cpu", override.cpu),
        ("Memory", override.memory),
        ("MemoryReservation", override.memory_reservation),
    ):
        if number is not None:
            rendered[key] = number
    if override.environment_path:
        values.read(rendered, "Environment", override.environment_path)
    elif override.environment:
        rendered["Environment"] = [values.variable(v) for v in override.environment]
    return rendered


def overrides(props: SingleTask, resolved: Resolved) -> dict[str, Any] | None:
    """RunTask's Overrides (None: nothing is overridden, and CDK then renders none)."""
    values = _Values(props.query_language == "JSONata")
    rendered: dict[str, Any] = {}
    if props.cpu:
        rendered["Cpu"] = props.cpu
    if props.memory:
        rendered["Memory"] = props.memory
    containers = [_container(o, values) for o in props.overrides(resolved.container_name)]
    if containers:
        rendered["ContainerOverrides"] = containers
    return rendered or None


def _placement(props: SingleTask) -> dict[str, Any]:
    """Where the task runs: a capacity provider strategy, a launch type, or (with an empty strategy)
    the cluster's default; EC2 placement; a platform version."""
    found: dict[str, Any] = {}
    if props.capacity_provider_strategy:
        found["CapacityProviderStrategy"] = [
            {
                "CapacityProvider": item.capacity_provider,
                **({"Weight": item.weight} if item.weight is not None else {}),
                **({"Base": item.base} if item.base is not None else {}),
            }
            for item in props.capacity_provider_strategy
        ]
    elif props.launch_type:
        found["LaunchType"] = props.launch_type
    if props.placement_constraints:
        found["PlacementConstraints"] = [
            {"Type": c.type, **({"Expression": c.detail} if c.detail else {})}
            for c in props.placement_constraints
        ]
    if props.placement_strategy:
        found["PlacementStrategy"] = [
            {"Type": s.type, **({"Field": s.detail} if s.detail else {})} for s in props.placement_strategy
        ]
    if props.platform_version:
        found["PlatformVersion"] = props.platform_version
    return found


def _network(props: SingleTask, td: TaskDefinition) -> dict[str, Any]:
    if td.network_mode != "awsvpc":
        return {}
    vpc: dict[str, Any] = {"Subnets": list(props.subnets)}
    if props.security_groups:
        vpc["SecurityGroups"] = list(props.security_groups)
    vpc["AssignPublicIp"] = "ENABLED" if props.assign_public_ip else "DISABLED"
    return {"NetworkConfiguration": {"AwsvpcConfiguration": vpc}}


def task_definition_parameter(props: SingleTask, resolved: Resolved) -> str:
    td = resolved.task_definition
    return td.arn if props.pin_revision else td.family


def run_task_parameters(props: SingleTask, resolved: Resolved) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "Cluster": resolved.cluster_arn,
        "TaskDefinition": task_definition_parameter(props, resolved),
        **_placement(props),
        **_network(props, resolved.task_definition),
    }
    rendered = overrides(props, resolved)
    if rendered:
        parameters["Overrides"] = rendered
    if props.propagate_tags == "TASK_DEFINITION":
        parameters["PropagateTags"] = "TASK_DEFINITION"
    if props.enable_execute_command:
        parameters["EnableExecuteCommand"] = True
    return parameters


def _task_state(props: SingleTask, resolved: Resolved) -> dict[str, Any]:
    jsonata = props.query_language == "JSONata"
    partition = Arn.parse(resolved.task_definition.arn).partition  # type: ignore[union-attr]
    state: dict[str, Any] = {"Type": "Task"}
    if props.comment:
        state["Comment"] = props.comment
    state["Resource"] = f"arn:{partition}:states:::ecs:runTask{_RESOURCE_SUFFIX[props.integration_pattern]}"
    if props.input_path:
        state["InputPath"] = props.input_path
    state["Arguments" if jsonata else "Parameters"] = run_task_parameters(props, resolved)
    for key, value in (
        ("ResultSelector", props.result_selector),
        ("ResultPath", props.result_path),
        ("OutputPath", props.output_path),
        ("TimeoutSeconds", props.timeout_seconds),
        ("HeartbeatSeconds", props.heartbeat_seconds),
    ):
        if value:
            state[key] = value
    if props.retry:
        state["Retry"] = [dict(retrier) for retrier in props.retry]
    if props.catch:
        state["Catch"] = [{**catcher, "Next": CAUGHT_STATE} for catcher in props.catch]
    state["End"] = True
    return state


def render_definition(props: SingleTask, resolved: Resolved) -> dict[str, Any]:
    td = resolved.task_definition
    label = td.label if props.pin_revision else f"the latest ACTIVE revision of {td.family}"
    if props.container_overrides is None:
        summary = f"Runs a command in container {resolved.container_name} of {label}"
    else:
        summary = f"Runs {label}"
    document: dict[str, Any] = {"Comment": summary}
    if props.query_language == "JSONata":
        document["QueryLanguage"] = "JSONata"
    states: dict[str, Any] = {TASK_STATE: _task_state(props, resolved)}
    if props.catch:
        states[CAUGHT_STATE] = {"Type": "Succeed", "Comment": "A caught error of the task ends here"}
    document.update({"StartAt": TASK_STATE, "States": states})
    return document
