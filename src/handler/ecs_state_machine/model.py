"""The typed properties of a Custom::EcsStateMachine: what both modes have, and each mode's own
(`properties.parse` makes them; every other module reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import CapacityProviderItem, LoggingConfig, TaskDefinitionRef


@dataclass(frozen=True)
class Properties:
    """What both modes have: the state machine, its role, logging, tracing, tags."""

    pin_revision: bool = True
    state_machine_name: str | None = None
    state_machine_type: str = "STANDARD"
    role_arn: str | None = None
    role_permissions_boundary: str | None = None
    logging: LoggingConfig | None = None
    tracing_enabled: bool = False
    tags: tuple[tuple[str, str], ...] = ()
    refresh_token: str | None = None


@dataclass(frozen=True)
class SingleTask(Properties):
    """TaskDefinition mode: one ECS task state, rendered from these properties."""

    task_definition: TaskDefinitionRef = field(default_factory=lambda: TaskDefinitionRef(""))
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
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    retry: tuple[dict[str, Any], ...] = ()
    propagate_tags: str | None = None
    enable_execute_command: bool = False
    query_language: str = "JSONPath"


@dataclass(frozen=True)
class Workflow(Properties):
    """Definition mode: the stack's own Amazon States Language document."""

    definition: dict[str, Any] = field(default_factory=dict)
    definition_substitutions: tuple[tuple[str, str], ...] = ()
    allow_dynamic_task_definitions: tuple[str, ...] = ()
    policy_statements: tuple[dict[str, Any], ...] = ()
