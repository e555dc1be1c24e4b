"""Facts resolved from the account at deploy time, and the grant each ECS task state needs: what
resolution produces and rendering consumes (neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .definition import EcsTask


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
    cpu: str | None = None  # task-level CPU units and memory (MiB), as registered
    memory: str | None = None
    cpu_architecture: str = "X86_64"  # runtimePlatform, ECS's defaults when it says nothing
    os_family: str = "LINUX"

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
class Cluster:
    """An ACTIVE cluster: its ARN and the capacity providers associated with it."""

    arn: str
    name: str
    capacity_providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Network:
    """The VPC of each subnet and security group the tasks name that exists in this account and
    region (one that does not is absent)."""

    subnets: dict[str, str]
    security_groups: dict[str, str]


@dataclass(frozen=True)
class TaskGrant:
    """What one ECS task state needs: the unit the role policy is built from."""

    pattern: str
    cluster_arn: str | None  # None: the state runs RunTask with another role's credentials
    run_task_resources: tuple[str, ...]  # revision ARNs, or family:* when chosen at run time
    pass_roles: tuple[str, ...]
    tags_task: bool
    assume_role: str | None = None  # Credentials.RoleArn: the state needs only sts:AssumeRole on it


def grant_for(
    pattern: str,
    cluster_arn: str,
    revisions: tuple[TaskDefinition, ...],
    *,
    exact: bool,
    tags_task: bool,
) -> TaskGrant:
    """The grant of a state that runs one of `revisions`: exactly those revisions (`exact`), or any
    revision of their families; and the roles those revisions bring."""
    return TaskGrant(
        pattern=pattern,
        cluster_arn=cluster_arn,
        run_task_resources=tuple(td.arn if exact else f"{td.family_arn_prefix}:*" for td in revisions),
        pass_roles=tuple(dict.fromkeys(role for td in revisions for role in td.roles)),
        tags_task=tags_task,
    )


@dataclass(frozen=True)
class Resolved:
    """TaskDefinition mode: the one revision, the container(s) overridden and the cluster."""

    task_definition: TaskDefinition
    container_name: str  # with ContainerOverrides: every overridden container, comma-separated
    cluster_arn: str


@dataclass(frozen=True)
class StateFacts:
    """One ECS task state of a Definition and what it runs: the revision it names (`pinned` when it
    names the revision itself), or the latest revision of each family it may choose at run time.

    A state with Credentials runs RunTask as that role. In this account its revision and cluster
    are still resolved and checked; in another (`foreign`) nothing can be described from here, so
    nothing is (`revisions` empty, `cluster_arn` None) and the state is left as written."""

    task: EcsTask
    cluster_arn: str | None
    revisions: tuple[TaskDefinition, ...]
    dynamic: bool = False
    pinned: bool = False
    cluster: Cluster | None = None  # what the preflight checks the state's capacity against

    @property
    def foreign(self) -> bool:
        return self.cluster_arn is None

    def exact(self, pin_revision: bool) -> bool:
        return not self.dynamic and (pin_revision or self.pinned)

    def grant(self, pin_revision: bool) -> TaskGrant:
        task = self.task
        if task.credentials:
            # Step Functions makes every call of the state (RunTask, and for .sync the polling)
            # with the assumed role's credentials: the state machine's role only assumes it.
            return TaskGrant(task.pattern, None, (), (), tags_task=False, assume_role=task.credentials)
        return grant_for(
            task.pattern,
            self.cluster_arn or "",
            self.revisions,
            exact=self.exact(pin_revision),
            tags_task=task.tags_task,
        )

    def parameters(self, pin_revision: bool) -> tuple[str | None, str | None]:
        """What the state's TaskDefinition and Cluster become (None: left as the state has it)."""
        if self.dynamic or self.foreign:
            return None, self.cluster_arn
        td = self.revisions[0]
        return (td.arn if self.exact(pin_revision) else td.family), self.cluster_arn
