"""Resolve what the properties name into facts about the account: the task definition revision
(latest ACTIVE for a family), its containers and roles, and the cluster ARN.

The ECS calls live here and nowhere else. Rules that need those facts (which container, awsvpc
needs Subnets, FARGATE needs a FARGATE-compatible revision) are checked here too, so that an
invalid combination fails before anything is created.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .aws import AwsError
from .errors import MISSING, PropertyError, choices
from .properties import Properties, TaskDefinitionRef
from .resolved import Resolved, ResolvedDefinition, TaskDefinition, TaskGrant, grant_for
from .rules import check_task_roles

if TYPE_CHECKING:
    from .aws import Aws
    from .context import Place
    from .definition import EcsTask
    from .settings import Settings

_REVISION_ARN = re.compile(r"^arn:([^:]+):ecs:([^:]+):(\d{12}):task-definition/([A-Za-z0-9_-]+):(\d+)$")


def resolve(props: Properties, place: Place, aws: Aws, settings: Settings) -> Resolved:
    assert props.task_definition is not None
    _check_place(props, place)
    task_definition = resolve_task_definition(props.task_definition, aws)
    check_task_roles(task_definition, "TaskDefinition", place, settings)
    container = _container(props, task_definition)
    _check_network(props, task_definition)
    cluster_arn = resolve_cluster(props.cluster, aws)
    return Resolved(task_definition, container, cluster_arn)


def check_arn_place(prop: str, arn: str | None, place: Place) -> None:
    """ARNs must point into the account and region where the provider creates the state machine."""
    if arn and arn.startswith("arn:"):
        partition, region, account = arn.split(":")[1], arn.split(":")[3], arn.split(":")[4]
        if (partition, region, account) != (place.partition, place.region, place.account):
            raise PropertyError(
                prop,
                arn,
                f"is not in this account and region ({place.account}, {place.region})",
                "ECS cannot run it from here: deploy the provider and stack where the task definition is.",
            )


def _check_place(props: Properties, place: Place) -> None:
    assert props.task_definition is not None
    check_arn_place("TaskDefinition", props.task_definition.arn, place)
    check_arn_place("Cluster", props.cluster, place)


def resolve_task_definition(ref: TaskDefinitionRef, aws: Aws, prop: str = "TaskDefinition") -> TaskDefinition:
    """The named revision, or the family's latest ACTIVE revision.

    DescribeTaskDefinition(family) returns the latest ACTIVE revision on AWS, so one call is
    enough there. If it ever returns an INACTIVE revision (some emulators return the highest
    revision whatever its status), the ACTIVE revisions are listed and the highest one is taken.
    """
    if ref.revision is not None:
        described = _describe(ref, ref.arn or f"{ref.family}:{ref.revision}", aws, prop)
        if described["status"] != "ACTIVE":
            raise PropertyError(
                prop,
                ref.text,
                f"is {described['status']} (deregistered) and cannot start tasks",
                f"Name the family ({ref.family}) to use its latest ACTIVE revision, or pin an ACTIVE one.",
            )
        return _facts(described)

    described = _describe(ref, ref.family, aws, prop)
    if described["status"] == "ACTIVE":
        return _facts(described)
    latest = _latest_active_arn(ref, aws, prop)
    return _facts(_describe(ref, latest, aws, prop))


def _describe(ref: TaskDefinitionRef, name: str, aws: Aws, prop: str) -> dict[str, Any]:
    try:
        described = aws.call(
            "ecs", "describe_task_definition", f"describing task definition {ref.text}", taskDefinition=name
        )
        return dict(described["taskDefinition"])
    except AwsError as err:
        if err.code == "ClientException" and "Unable to describe task definition" in err.aws_message:
            what = "revision" if ref.revision is not None else "family (or it has no ACTIVE revision)"
            raise PropertyError(
                prop,
                ref.text,
                f"no such task definition {what} in this account and region",
                "Check the name with: aws ecs list-task-definition-families --status ACTIVE.",
            ) from None
        raise


def _latest_active_arn(ref: TaskDefinitionRef, aws: Aws, prop: str) -> str:
    best: tuple[int, str] | None = None
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"familyPrefix": ref.family, "status": "ACTIVE", "sort": "DESC"}
        if token:
            kwargs["nextToken"] = token
        page = aws.call("ecs", "list_task_definitions", f"listing revisions of family {ref.family}", **kwargs)
        for arn in page.get("taskDefinitionArns", []):
            match = _REVISION_ARN.match(arn)
            # familyPrefix is a prefix: keep only this exact family.
            if match and match.group(4) == ref.family:
                revision = int(match.group(5))
                if best is None or revision > best[0]:
                    best = (revision, arn)
        token = page.get("nextToken")
        if not token:
            break
    if best is None:
        raise PropertyError(
            prop,
            ref.family,
            "has no ACTIVE revision (all are deregistered)",
            "Register a new revision of the family, then deploy again.",
        )
    return best[1]


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


def _container(props: Properties, td: TaskDefinition) -> str:
    label = f"{td.family}:{td.revision}"
    if props.container_name:
        if props.container_name not in td.containers:
            raise PropertyError(
                "ContainerName",
                props.container_name,
                f"is not a container of {label}",
                f"Use one of: {choices(list(td.containers))}.",
            )
        return props.container_name
    if len(td.containers) == 1:
        return td.containers[0]
    raise PropertyError(
        "ContainerName",
        MISSING,
        f"is required: {label} has {len(td.containers)} containers",
        f"Set it to one of: {choices(list(td.containers))}.",
    )


def check_fargate(prop: str, launch_type: str | None, td: TaskDefinition) -> None:
    label = f"{td.family}:{td.revision}"
    if launch_type == "FARGATE" and "FARGATE" not in td.compatibilities:
        raise PropertyError(
            prop,
            "FARGATE",
            f"but {label} is not FARGATE-compatible (requiresCompatibilities: {','.join(td.compatibilities) or 'none'})",
            "Set LaunchType: EC2 (or a CapacityProviderStrategy), or register a FARGATE revision.",
        )


def _check_network(props: Properties, td: TaskDefinition) -> None:
    label = f"{td.family}:{td.revision}"
    check_fargate("LaunchType", props.launch_type, td)
    if td.network_mode == "awsvpc" and not props.subnets:
        raise PropertyError(
            "Subnets",
            MISSING,
            f"is required: {label} uses network mode awsvpc",
            "Add Subnets (and SecurityGroups) for the task's network interface.",
        )
    if td.network_mode != "awsvpc" and props.subnets:
        raise PropertyError(
            "Subnets",
            list(props.subnets),
            f"apply only to awsvpc tasks, and {label} uses network mode {td.network_mode}",
            "Remove Subnets, SecurityGroups and AssignPublicIp.",
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
def resolve_definition(props: Properties, place: Place, aws: Aws, settings: Settings) -> ResolvedDefinition:
    """Resolve, check and pin every ECS task state of a Definition; one TaskGrant per state."""
    from .definition import ecs_tasks, pin
    from .properties import task_definition_ref

    assert props.definition is not None
    revisions: dict[str, TaskDefinition] = {}
    clusters: dict[str, str] = {}
    grants: list[TaskGrant] = []
    arns: list[str] = []
    pinned: dict[str, tuple[str | None, str | None]] = {}

    def revision(ref: TaskDefinitionRef, prop: str) -> TaskDefinition:
        if ref.text not in revisions:
            revisions[ref.text] = resolve_task_definition(ref, aws, prop)
            check_task_roles(revisions[ref.text], prop, place, settings)
        return revisions[ref.text]

    for task in ecs_tasks(props.definition):
        if task.cluster is None:
            raise PropertyError(
                task.where("Cluster"),
                MISSING,
                "is chosen at run time, so RunTask cannot be limited to one cluster",
                "Name the cluster (name or ARN) in the state.",
            )
        check_arn_place(task.where("Cluster"), task.cluster, place)
        if task.cluster not in clusters:
            clusters[task.cluster] = resolve_cluster(task.cluster, aws, task.where("Cluster"))
        cluster_arn = clusters[task.cluster]

        if task.task_definition is None:
            if not props.allow_dynamic_task_definitions:
                raise PropertyError(
                    task.where("TaskDefinition"),
                    MISSING,
                    "is chosen at run time, so it cannot be resolved or permissioned at deploy time",
                    "Name a family, or list the families it may take in AllowDynamicTaskDefinitions.",
                )
            if task.role_overrides:
                key = task.role_overrides[0][0]
                raise PropertyError(
                    task.where("Overrides", key),
                    task.role_overrides[0][1],
                    "overrides a role of a task definition chosen at run time",
                    "Remove it: a task runs with the roles of its own revision.",
                )
            families = tuple(
                revision(TaskDefinitionRef(family), f"AllowDynamicTaskDefinitions ({family})")
                for family in props.allow_dynamic_task_definitions
            )
            grants.append(
                grant_for(
                    task.pattern, cluster_arn, families, exact=False, propagate_tags=task.propagate_tags
                )
            )
            pinned[task.path] = (None, cluster_arn)
            continue

        prop = task.where("TaskDefinition")
        ref = task_definition_ref(prop, task.task_definition)
        check_arn_place(prop, ref.arn, place)
        td = revision(ref, prop)
        label = f"{td.family}:{td.revision}"
        for index, name in task.container_names:
            if name not in td.containers:
                raise PropertyError(
                    task.where("Overrides", f"ContainerOverrides[{index}]", "Name"),
                    name,
                    f"is not a container of {label}",
                    f"Use one of: {choices(list(td.containers))}.",
                )
        if td.network_mode == "awsvpc" and not task.network_configured:
            raise PropertyError(
                task.where("NetworkConfiguration"),
                MISSING,
                f"is required: {label} uses network mode awsvpc",
                "Add NetworkConfiguration.AwsvpcConfiguration with Subnets.",
            )
        check_fargate(task.where("LaunchType"), task.launch_type, td)
        _check_role_overrides(task, td)
        exact = props.pin_revision or ref.revision is not None
        pinned[task.path] = (td.arn if exact else td.family, cluster_arn)
        grants.append(
            grant_for(task.pattern, cluster_arn, (td,), exact=exact, propagate_tags=task.propagate_tags)
        )
        arns.append(td.arn)
    return ResolvedDefinition(pin(props.definition, pinned), tuple(grants), tuple(arns))


def _check_role_overrides(task: EcsTask, td: TaskDefinition) -> None:
    """A state may name its revision's own roles in Overrides (harmless), never another role: the
    execution role of its own revision as its task role (the container would run with the
    execution role's secrets), nor any role of another task."""
    own = {"TaskRoleArn": td.task_role_arn, "ExecutionRoleArn": td.execution_role_arn}
    for key, value in task.role_overrides:
        if value != own[key]:
            what = "task role" if key == "TaskRoleArn" else "execution role"
            raise PropertyError(
                task.where("Overrides", key),
                value,
                f"is not the {what} of {td.label} (a task may pass only its own revision's roles)",
                "Remove it, or register a revision that names that role.",
            )
