"""The preflight: what ECS's RunTask would refuse at a task's first run, refused at deploy time
instead, from the facts planning has read anyway (the revision, the cluster, the network). Pure:
nothing here calls AWS. A value a state reads at run time (a `.$` path, JSONata) is left to run time.

- network: every subnet and security group exists here; the subnets share one VPC and the
  security groups are in it; AssignPublicIp is refused for the EC2 and EXTERNAL launch types;
  network configuration only for network mode awsvpc;
- capacity: every provider of a strategy is associated with the cluster; a strategy does not mix
  Fargate with other providers; Fargate Spot takes no ARM64 or Windows task, nor a platform version
  below 1.3.0; the launch type (or a Fargate strategy) is one the revision is compatible with;
- task size: on Fargate, the task's CPU and memory (the overrides, else the revision's) are a
  combination Fargate offers for the revision's operating system (8 and 16 vCPU from 1.4.0);
- roles: EnableExecuteCommand needs a task role on the revision.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..base.errors import MISSING, PropertyError, choices
from ..schema.run_request import FARGATE_PROVIDERS, RUNTIME, RunRequest

if TYPE_CHECKING:
    from ..schema.resolved import Cluster, Network, TaskDefinition


def check(request: RunRequest, td: TaskDefinition | None, cluster: Cluster | None, network: Network) -> None:
    """Refuse what RunTask would refuse (`td` None: chosen at run time; `cluster` None: elsewhere)."""
    check_network(request, network)
    if td is not None and request.literal("subnets") and td.network_mode != "awsvpc":
        raise PropertyError(
            request.where("network"),
            MISSING,
            f"applies only to awsvpc tasks, and {td.label} uses network mode {td.network_mode}",
            "Remove it, or register an awsvpc revision.",
        )
    if cluster is not None:
        check_capacity(request, td, cluster)
    if request.assign_public_ip == "ENABLED" and request.launch_type in ("EC2", "EXTERNAL"):
        raise PropertyError(
            request.where("assign_public_ip"),
            request.shown("assign_public_ip"),
            f"is refused for launch type {request.launch_type} (only Fargate tasks get public IPs)",
            "Disable it; reach the internet through a NAT gateway.",
        )
    if td is None:
        return
    if on_fargate(request):
        check_size(request, td)
    if request.execute_command and not td.task_role_arn:
        raise PropertyError(
            request.where("execute_command"),
            True,
            f"needs a task role, and {td.label} has none (ECS Exec speaks to SSM as the task role)",
            "Register a revision with a taskRoleArn allowing ssmmessages:*, or remove it.",
        )


def check_network(request: RunRequest, network: Network) -> None:
    subnets, groups = request.literal("subnets"), request.literal("security_groups")
    for key, ids, known, what in (
        ("subnets", subnets, network.subnets, "subnet"),
        ("security_groups", groups, network.security_groups, "security group"),
    ):
        for given in ids:
            if given not in known:
                command = "describe-subnets" if key == "subnets" else "describe-security-groups"
                raise PropertyError(
                    request.where(key),
                    given,
                    f"no such {what} in this account and region",
                    f"Check the id with: aws ec2 {command}.",
                )
    vpcs = {network.subnets[s]: s for s in subnets}
    if len(vpcs) > 1:
        raise PropertyError(
            request.where("subnets"),
            list(subnets),
            f"are in {len(vpcs)} VPCs ({choices(sorted(vpcs), 60)}), and a task's subnets share one",
            "Use subnets of one VPC.",
        )
    for group in groups:
        if vpcs and network.security_groups[group] not in vpcs:
            raise PropertyError(
                request.where("security_groups"),
                group,
                f"is in {network.security_groups[group]}, and the subnets in {next(iter(vpcs))}",
                "Use security groups of the subnets' VPC.",
            )


def on_fargate(request: RunRequest) -> bool:
    """Whether the task surely runs on Fargate (the cluster's default strategy is ECS's to know)."""
    if isinstance(request.strategy, tuple):
        return all(name in FARGATE_PROVIDERS for name in request.strategy)
    return request.strategy is None and request.launch_type == "FARGATE"


def check_capacity(request: RunRequest, td: TaskDefinition | None, cluster: Cluster) -> None:
    strategy = request.literal("strategy")
    _check_associated(request, strategy, cluster)
    fargate = [name in FARGATE_PROVIDERS for name in strategy]
    if any(fargate) and not all(fargate):
        raise PropertyError(
            request.where("strategy"),
            list(strategy),
            "mixes Fargate and Auto Scaling group providers, which ECS refuses",
            "Use Fargate providers only, or Auto Scaling group providers only.",
        )
    if td is None:
        return
    launch = "FARGATE" if strategy and all(fargate) else request.launch_type
    if launch in ("FARGATE", "EC2") and launch not in td.compatibilities:
        raise PropertyError(
            request.where("strategy" if strategy else "launch_type"),
            request.shown("strategy" if strategy else "launch_type"),
            f"but {td.label} is not {launch}-compatible "
            f"(requiresCompatibilities: {','.join(td.compatibilities) or 'none'})",
            f"Register a revision compatible with {launch}, or run it elsewhere.",
        )
    if "FARGATE_SPOT" in strategy:
        _check_spot(request, td, strategy.index("FARGATE_SPOT"))


def _check_associated(request: RunRequest, strategy: tuple[str, ...], cluster: Cluster) -> None:
    for index, name in enumerate(strategy):
        if name not in cluster.capacity_providers:
            raise PropertyError(
                request.where("strategy", f"[{index}].CapacityProvider"),
                name,
                f"is not associated with cluster {cluster.name[:40]} "
                f"({choices(list(cluster.capacity_providers), 50) or 'it has none'})",
                "Add it with put-cluster-capacity-providers, or use one it has.",
            )


def _check_spot(request: RunRequest, td: TaskDefinition, index: int) -> None:
    if td.cpu_architecture != "X86_64" or td.os_family != "LINUX":
        raise PropertyError(
            request.where("strategy", f"[{index}].CapacityProvider"),
            "FARGATE_SPOT",
            f"cannot run {td.label} ({td.os_family}/{td.cpu_architecture}): Fargate Spot runs Linux X86_64 only",
            "Use FARGATE, or a Linux X86_64 revision.",
        )
    if _version(request.platform_version) < (1, 3, 0):
        raise PropertyError(
            request.where("platform_version"),
            request.platform_version,
            "is below 1.3.0, the first Fargate Spot runs",
            "Use LATEST or 1.4.0.",
        )


def _version(value: Any) -> tuple[int, ...]:
    """A literal platform version as numbers; LATEST, absent or read at run time as the newest."""
    if isinstance(value, str) and re.fullmatch(r"\d+\.\d+\.\d+", value):
        return tuple(int(part) for part in value.split("."))
    return (99,)


# Fargate's task sizes (ECS developer guide, "Task CPU and memory"): CPU units -> memory in MiB
# (first, last, step). Windows takes 1, 2 and 4 vCPU only; 8 and 16 vCPU need platform 1.4.0.
_LINUX_SIZES = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
_WINDOWS_SIZES = {cpu: _LINUX_SIZES[cpu] for cpu in (1024, 2048, 4096)}


def fits(cpu: int, memory: int, os_family: str) -> bool:
    sizes = _LINUX_SIZES if os_family == "LINUX" else _WINDOWS_SIZES
    if cpu not in sizes:
        return False
    first, last, step = sizes[cpu]
    if cpu == 256:
        return memory in (512, 1024, 2048)
    return first <= memory <= last and (memory - first) % step == 0


def _units(value: Any, unit: str) -> int | None:
    """CPU units or MiB from a task-level value (`1024`, `1 vCPU`, `2 GB`); None: not a literal."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(rf"(\d*\.?\d+)\s*({unit})?", value.strip(), re.I)
    if match is None:
        return None
    number = float(match.group(1))
    return int(number * 1024) if match.group(2) else int(number)


def _size_problem(cpu: int, memory: int, os_family: str) -> str:
    sizes = _LINUX_SIZES if os_family == "LINUX" else _WINDOWS_SIZES
    if cpu not in sizes:
        return f"{cpu} CPU is no Fargate size for {os_family} (takes {', '.join(map(str, sizes))})"
    first, last, step = sizes[cpu]
    offered = "512, 1024 or 2048" if cpu == 256 else f"{first} to {last} in steps of {step}"
    return f"{cpu} CPU and {memory} MiB is no Fargate size: {cpu} CPU takes {offered} MiB"


def check_size(request: RunRequest, td: TaskDefinition) -> None:
    if request.cpu is RUNTIME or request.memory is RUNTIME:
        return
    cpu, memory = _units(request.cpu or td.cpu, "vCPU"), _units(request.memory or td.memory, "GB")
    if cpu is None or memory is None:
        return
    key = "memory" if request.memory else "cpu" if request.cpu else "task_definition"
    value = getattr(request, key) if key != "task_definition" else td.label
    if not fits(cpu, memory, td.os_family):
        raise PropertyError(
            request.where(key),
            value,
            _size_problem(cpu, memory, td.os_family),
            "Use a task size Fargate offers.",
        )
    if cpu >= 8192 and _version(request.platform_version) < (1, 4, 0):
        raise PropertyError(
            request.where("platform_version"),
            request.platform_version,
            f"is below 1.4.0, which {cpu // 1024} vCPU tasks need on Fargate",
            "Use LATEST or 1.4.0.",
        )
