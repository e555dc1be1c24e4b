"""The typed properties of a Custom::EcsStateMachine: what both modes have, and each mode's own
(`properties.parse` makes them; every other module reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .machine_options import EncryptionConfig
from .task_options import TASK_TOKEN_PATH, ContainerOverride, EnvironmentVariable, Placement
from .values import CapacityProviderItem, LoggingConfig, TaskDefinitionRef

DEFAULT_COMMAND_PATH = "$.command"


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
    follow_revisions: bool = False
    encryption: EncryptionConfig | None = None
    publish_version: bool = False
    version_description: str | None = None
    alias_name: str | None = None
    versions_to_keep: int | None = None  # 10 when publishing versions

    @property
    def keep(self) -> int:
        return self.versions_to_keep or 10


@dataclass(frozen=True)
class SingleTask(Properties):
    """TaskDefinition mode: one ECS task state, rendered from these properties."""

    task_definition: TaskDefinitionRef = field(default_factory=lambda: TaskDefinitionRef(""))
    container_name: str | None = None
    cluster: str = "default"
    launch_type: str | None = "FARGATE"
    # None: not given; (): the cluster's default strategy (neither LaunchType nor a strategy is sent)
    capacity_provider_strategy: tuple[CapacityProviderItem, ...] | None = None
    platform_version: str | None = None
    placement_constraints: tuple[Placement, ...] = ()
    placement_strategy: tuple[Placement, ...] = ()
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False
    command: tuple[str, ...] | None = None
    command_path: str | None = None  # $.command unless Command or ContainerOverrides says otherwise
    environment: tuple[EnvironmentVariable, ...] = ()
    environment_path: str | None = None
    container_overrides: tuple[ContainerOverride, ...] | None = None  # None: not given; (): none at all
    cpu: str | None = None
    memory: str | None = None
    integration_pattern: str = "RUN_JOB"
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    retry: tuple[dict[str, Any], ...] = ()
    catch: tuple[dict[str, Any], ...] = ()
    input_path: str | None = None
    output_path: str | None = None
    result_path: str | None = None
    result_selector: dict[str, Any] | None = None
    comment: str | None = None
    propagate_tags: str | None = None
    enable_execute_command: bool = False
    query_language: str = "JSONPath"

    @property
    def waits_for_token(self) -> bool:
        return self.integration_pattern == "WAIT_FOR_TASK_TOKEN"

    def overrides(self, container: str | None) -> tuple[ContainerOverride, ...]:
        """The container overrides the task runs with: ContainerOverrides as given, or else one for
        `container` from the top-level properties (the command from $.command by default, and the
        task token as TASK_TOKEN when the state waits for it)."""
        if self.container_overrides is not None:
            return self.container_overrides
        environment = self.environment
        if self.waits_for_token and not any(v.value_path == TASK_TOKEN_PATH for v in environment):
            environment = (*environment, EnvironmentVariable("TASK_TOKEN", value_path=TASK_TOKEN_PATH))
        return (
            ContainerOverride(
                container_name=container,
                command=self.command,
                command_path=None if self.command else self.command_path or DEFAULT_COMMAND_PATH,
                environment=environment,
                environment_path=self.environment_path,
            ),
        )


@dataclass(frozen=True)
class Workflow(Properties):
    """Definition mode: the stack's own Amazon States Language document."""

    definition: dict[str, Any] = field(default_factory=dict)
    definition_substitutions: tuple[tuple[str, str], ...] = ()
    allow_dynamic_task_definitions: tuple[str, ...] = ()
    policy_statements: tuple[dict[str, Any], ...] = ()
