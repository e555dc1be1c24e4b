"""Facts resolved from the account at deploy time, and the grant each ECS task state needs: what
resolution produces and rendering consumes (neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskDefinition:
    """The facts about one task definition revision that rendering needs."""

    arn: str
    family: str
    revision: int
    containers: tuple[str, ...]
    network_mode: str
    compatibilities: tuple[str, ...]
    task_role_arn: str | None
    execution_role_arn: str | None

    @property
    def family_arn_prefix(self) -> str:
        return self.arn.rsplit(":", 1)[0]

    @property
    def label(self) -> str:
        return f"{self.family}:{self.revision}"

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for r in (self.task_role_arn, self.execution_role_arn) if r))


@dataclass(frozen=True)
class TaskGrant:
    """What one ECS task state needs: the unit the role policy is built from."""

    pattern: str
    cluster_arn: str
    run_task_resources: tuple[str, ...]  # revision ARNs, or family:* when chosen at run time
    pass_roles: tuple[str, ...]
    propagate_tags: bool


def grant_for(
    pattern: str,
    cluster_arn: str,
    revisions: tuple[TaskDefinition, ...],
    *,
    exact: bool,
    propagate_tags: bool,
) -> TaskGrant:
    """The grant of a state that runs one of `revisions`: exactly those revisions (`exact`), or any
    revision of their families; and the roles those revisions bring."""
    return TaskGrant(
        pattern=pattern,
        cluster_arn=cluster_arn,
        run_task_resources=tuple(td.arn if exact else f"{td.family_arn_prefix}:*" for td in revisions),
        pass_roles=tuple(dict.fromkeys(role for td in revisions for role in td.roles)),
        propagate_tags=propagate_tags,
    )


@dataclass(frozen=True)
class Resolved:
    """TaskDefinition mode: the one revision, its container and the cluster."""

    task_definition: TaskDefinition
    container_name: str
    cluster_arn: str


@dataclass(frozen=True)
class ResolvedDefinition:
    """Definition mode: the document with every ECS task state pinned, and one grant per state."""

    document: dict[str, Any]
    grants: tuple[TaskGrant, ...]
    task_definition_arns: tuple[str, ...]  # in state order; states that choose at run time are skipped
