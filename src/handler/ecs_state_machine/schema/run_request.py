"""What one RunTask asks for, as far as a template says: in TaskDefinition mode from the
properties, in a Definition from each ECS task state's Parameters (or Arguments). Each value is
literal, absent, or read at run time (a `.$` path, JSONata): the preflight checks only the literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .asl_types import JSONATA

if TYPE_CHECKING:
    from .model import SingleTask


class _Runtime:
    def __repr__(self) -> str:
        return "<run time>"


RUNTIME: Any = _Runtime()  # a value the state reads from its input when it runs
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")

# Each checked RunTask value: its property in TaskDefinition mode, and its key under a state's
# Parameters (or Arguments) in Definition mode.
_NAMES = {
    "task_definition": ("TaskDefinition", "TaskDefinition"),
    "launch_type": ("LaunchType", "LaunchType"),
    "strategy": ("CapacityProviderStrategy", "CapacityProviderStrategy"),
    "platform_version": ("PlatformVersion", "PlatformVersion"),
    "network": ("Subnets", "NetworkConfiguration"),
    "subnets": ("Subnets", "NetworkConfiguration.AwsvpcConfiguration.Subnets"),
    "security_groups": ("SecurityGroups", "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups"),
    "assign_public_ip": ("AssignPublicIp", "NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp"),
    "cpu": ("Cpu", "Overrides.Cpu"),
    "memory": ("Memory", "Overrides.Memory"),
    "execute_command": ("EnableExecuteCommand", "EnableExecuteCommand"),
}


@dataclass(frozen=True)
class RunRequest:
    """What one RunTask asks for, as far as the template says: each value literal, None when not
    given, RUNTIME when read at run time."""

    prefix: str | None = None  # Definition.<state path>.Parameters; None: TaskDefinition mode
    launch_type: Any = None
    strategy: Any = None  # the capacity providers' names, in order
    platform_version: Any = None
    subnets: Any = None
    security_groups: Any = None
    assign_public_ip: Any = None  # ENABLED or DISABLED
    cpu: Any = None
    memory: Any = None
    execute_command: Any = None

    def literal(self, key: str) -> tuple[str, ...]:
        value = getattr(self, key)
        return value if isinstance(value, tuple) else ()

    def where(self, key: str, suffix: str = "") -> str:
        single, run_task = _NAMES[key]
        return (single if self.prefix is None else f"{self.prefix}.{run_task}") + suffix

    def shown(self, key: str) -> Any:
        value = getattr(self, key)
        if key == "assign_public_ip" and self.prefix is None:
            return value == "ENABLED"  # TaskDefinition mode's AssignPublicIp is a boolean
        return list(value) if isinstance(value, tuple) else value


def from_single_task(props: SingleTask) -> RunRequest:
    strategy = props.capacity_provider_strategy
    return RunRequest(
        launch_type=None if strategy is not None else props.launch_type,
        strategy=tuple(item.capacity_provider for item in strategy) if strategy else None,
        platform_version=props.platform_version,
        subnets=props.subnets or None,
        security_groups=props.security_groups or None,
        assign_public_ip="ENABLED" if props.assign_public_ip else None,
        cpu=props.cpu,
        memory=props.memory,
        execute_command=props.enable_execute_command or None,
    )


def from_payload(payload: dict[str, Any], jsonata: bool, prefix: str) -> RunRequest:
    """A Definition's RunTask state: its Parameters (or Arguments)."""

    def get(container: Any, key: str) -> Any:
        if container is RUNTIME:
            return RUNTIME
        if not isinstance(container, dict) or f"{key}.$" in container:
            return RUNTIME if isinstance(container, dict) else None
        value = container.get(key)
        if isinstance(value, str) and jsonata and JSONATA.match(value):
            return RUNTIME
        return value

    def strings(value: Any) -> Any:
        if value is None or value is RUNTIME:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return RUNTIME
        if jsonata and any(JSONATA.match(v) for v in value):
            return RUNTIME
        return tuple(value)

    def scalar(value: Any) -> Any:
        if value is None or value is RUNTIME:
            return value
        return str(value).lower() if isinstance(value, bool) else str(value)

    network = get(get(payload, "NetworkConfiguration"), "AwsvpcConfiguration")
    overrides = get(payload, "Overrides")
    strategy = get(payload, "CapacityProviderStrategy")
    if isinstance(strategy, list):
        strategy = strings([get(item, "CapacityProvider") for item in strategy])
    elif strategy is not None:
        strategy = RUNTIME
    return RunRequest(
        prefix=prefix,
        launch_type=get(payload, "LaunchType"),
        strategy=strategy,
        platform_version=get(payload, "PlatformVersion"),
        subnets=strings(get(network, "Subnets")),
        security_groups=strings(get(network, "SecurityGroups")),
        assign_public_ip=get(network, "AssignPublicIp"),
        cpu=scalar(get(overrides, "Cpu")),
        memory=scalar(get(overrides, "Memory")),
        execute_command=scalar(get(payload, "EnableExecuteCommand")) == "true" or None,
    )
