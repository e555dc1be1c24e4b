"""Resolve what the properties name into facts about the account: the task definition revision
(latest ACTIVE for a family), its containers and roles, and the cluster ARN. The ECS calls live
here and nowhere else; the rules the facts must satisfy are `rules.py`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import rules
from .aws import AwsError
from .errors import MISSING, PropertyError
from .resolved import Resolved, ResolvedDefinition, TaskDefinition, TaskGrant, grant_for
from .values import TaskDefinitionRef, task_definition_ref

if TYPE_CHECKING:
    from .arn import Place
    from .aws import Aws
    from .definition import EcsTask
    from .properties import SingleTask, Workflow
    from .settings import Settings


def resolve(props: SingleTask, place: Place, aws: Aws, settings: Settings) -> Resolved:
    rules.check_place("TaskDefinition", props.task_definition.arn, place)
    rules.check_place("Cluster", props.cluster, place)
    task_definition = resolve_task_definition(props.task_definition, aws)
    rules.check_task_roles(task_definition, "TaskDefinition", place, settings)
    container = rules.container(props, task_definition)
    rules.check_network(props, task_definition)
    return Resolved(task_definition, container, resolve_cluster(props.cluster, aws))


def resolve_task_definition(ref: TaskDefinitionRef, aws: Aws, prop: str = "TaskDefinition") -> TaskDefinition:
    """The named revision, or the family's latest ACTIVE revision: what DescribeTaskDefinition
    returns for a family name."""
    described = _describe(ref, ref.arn or ref.text, aws, prop)
    if described["status"] != "ACTIVE":
        raise PropertyError(
            prop,
            ref.text,
            f"is {described['status']} (deregistered) and cannot start tasks",
            f"Name the family ({ref.family}) to use its latest ACTIVE revision, or pin an ACTIVE one.",
        )
    return _facts(described)


def _describe(ref: TaskDefinitionRef, name: str, aws: Aws, prop: str) -> dict[str, Any]:
    try:
        described = aws.call(
            "ecs", "describe_task_definition", f"describing task definition {ref.text}", taskDefinition=name
        )
        return dict(described["taskDefinition"])
    except AwsError as err:
        if err.code != "ClientException" or "Unable to describe task definition" not in err.aws_message:
            raise
    if ref.revision is None and _has_revisions(ref.family, aws):
        raise PropertyError(
            prop,
            ref.family,
            "has no ACTIVE revision (all are deregistered)",
            "Register a new revision of the family, then deploy again.",
        ) from None
    what = "revision" if ref.revision is not None else "family"
    raise PropertyError(
        prop,
        ref.text,
        f"no such task definition {what} in this account and region",
        "Check the name with: aws ecs list-task-definition-families --status ACTIVE.",
    ) from None


def _has_revisions(family: str, aws: Aws) -> bool:
    """On the error path only, for a better Reason: does the family exist, all deregistered?"""
    listed = aws.call(
        "ecs",
        "list_task_definitions",
        f"listing revisions of family {family}",
        familyPrefix=family,
        status="INACTIVE",
        maxResults=1,
    )
    return any(arn.split("/")[-1].rsplit(":", 1)[0] == family for arn in listed.get("taskDefinitionArns", []))


def _facts(described: dict[str, Any]) -> TaskDefinition:
    containers = tuple(str(c["name"]) for c in described.get("containerDefinitions", []))
    compatibilities = tuple(
        dict.fromkeys([*described.get("requiresCompatibilities", []), *described.get("compatibilities", [])])
    )
    return TaskDefinition(
        arn=described["taskDefinitionArn"],
        family=described["family"],
        revision=int(described["revision"]),
        containers=containers,
        network_mode=described.get("networkMode") or "bridge",
        compatibilities=compatibilities,
        task_role_arn=described.get("taskRoleArn") or None,
        execution_role_arn=described.get("executionRoleArn") or None,
    )


def resolve_cluster(cluster: str, aws: Aws, prop: str = "Cluster") -> str:
    described = aws.call("ecs", "describe_clusters", f"describing cluster {cluster}", clusters=[cluster])
    for found in described.get("clusters", []):
        if found.get("status") in ("ACTIVE", "PROVISIONING", "UPDATING"):
            return str(found["clusterArn"])
    raise PropertyError(
        prop,
        cluster,
        "no such ACTIVE ECS cluster in this account and region",
        "Check the name with: aws ecs list-clusters (the default is 'default').",
    )


# --------------------------------------------------------------------------- Definition mode
class _Resolver:
    """Definition mode: each family, revision and cluster is described once, however many states
    name it."""

    def __init__(self, props: Workflow, place: Place, aws: Aws, settings: Settings) -> None:
        self.props, self.place, self.aws, self.settings = props, place, aws, settings
        self.revisions: dict[str, TaskDefinition] = {}
        self.clusters: dict[str, str] = {}

    def revision(self, ref: TaskDefinitionRef, prop: str) -> TaskDefinition:
        if ref.text not in self.revisions:
            rules.check_place(prop, ref.arn, self.place)
            self.revisions[ref.text] = resolve_task_definition(ref, self.aws, prop)
            rules.check_task_roles(self.revisions[ref.text], prop, self.place, self.settings)
        return self.revisions[ref.text]

    def cluster(self, task: EcsTask) -> str:
        prop = task.where("Cluster")
        if task.cluster is None:
            raise PropertyError(
                prop,
                MISSING,
                "is chosen at run time, so RunTask cannot be limited to one cluster",
                "Name the cluster (name or ARN) in the state.",
            )
        rules.check_place(prop, task.cluster, self.place)
        if task.cluster not in self.clusters:
            self.clusters[task.cluster] = resolve_cluster(task.cluster, self.aws, prop)
        return self.clusters[task.cluster]

    def dynamic(self, task: EcsTask, cluster_arn: str) -> TaskGrant:
        """A state whose task definition is chosen at run time, among the families the stack lists."""
        if not self.props.allow_dynamic_task_definitions:
            raise PropertyError(
                task.where("TaskDefinition"),
                MISSING,
                "is chosen at run time, so it cannot be resolved or permissioned at deploy time",
                "Name a family, or list the families it may take in AllowDynamicTaskDefinitions.",
            )
        rules.check_role_overrides(task, None)
        families = tuple(
            self.revision(TaskDefinitionRef(family), f"AllowDynamicTaskDefinitions ({family})")
            for family in self.props.allow_dynamic_task_definitions
        )
        return grant_for(task.pattern, cluster_arn, families, exact=False, propagate_tags=task.propagate_tags)

    def named(self, task: EcsTask, cluster_arn: str, text: str) -> tuple[TaskDefinition, TaskGrant, bool]:
        prop = task.where("TaskDefinition")
        ref = task_definition_ref(prop, text)
        td = self.revision(ref, prop)
        rules.check_state(task, td)
        exact = self.props.pin_revision or ref.revision is not None
        return (
            td,
            grant_for(task.pattern, cluster_arn, (td,), exact=exact, propagate_tags=task.propagate_tags),
            exact,
        )


def resolve_definition(props: Workflow, place: Place, aws: Aws, settings: Settings) -> ResolvedDefinition:
    """Resolve, check and pin every ECS task state of a Definition; one TaskGrant per state."""
    from .definition import ecs_tasks, pin

    resolver = _Resolver(props, place, aws, settings)
    grants: list[TaskGrant] = []
    arns: list[str] = []
    pinned: dict[str, tuple[str | None, str | None]] = {}
    for task in ecs_tasks(props.definition):
        cluster_arn = resolver.cluster(task)
        if task.task_definition is None:
            grants.append(resolver.dynamic(task, cluster_arn))
            pinned[task.path] = (None, cluster_arn)
            continue
        td, grant, exact = resolver.named(task, cluster_arn, task.task_definition)
        grants.append(grant)
        pinned[task.path] = (td.arn if exact else td.family, cluster_arn)
        arns.append(td.arn)
    return ResolvedDefinition(pin(props.definition, pinned), tuple(grants), tuple(arns))
