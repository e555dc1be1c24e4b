"""Resolve what the properties name into facts about the account: the task definition revision
(latest ACTIVE for a family), its containers and roles, and the cluster ARN. The ECS calls live
here and nowhere else; whether the facts can work is `rules.py`'s to say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aws import AwsError
from .errors import PropertyError
from .resolved import StateFacts, TaskDefinition
from .values import TaskDefinitionRef, task_definition_ref

if TYPE_CHECKING:
    from .aws import Aws
    from .definition import EcsTask
    from .model import SingleTask, Workflow


def resolve(props: SingleTask, aws: Aws) -> tuple[TaskDefinition, str]:
    """TaskDefinition mode: the revision and the cluster's ARN."""
    return resolve_task_definition(props.task_definition, aws), resolve_cluster(props.cluster, aws)


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


def resolve_states(props: Workflow, tasks: list[EcsTask], aws: Aws, account: str) -> list[StateFacts]:
    """Definition mode: what each ECS task state runs, each family, revision and cluster described
    once however many states name it. The states were checked (`state_rules.check_states`) already.

    A state that runs in another account (Credentials of a role there) is not described: its task
    definition and cluster are that account's. A state with Credentials needs nothing resolved
    for its grant, so what it chooses at run time is left to it."""
    revisions: dict[str, TaskDefinition] = {}
    clusters: dict[str, str] = {}

    def revision(ref: TaskDefinitionRef, prop: str) -> TaskDefinition:
        if ref.text not in revisions:
            revisions[ref.text] = resolve_task_definition(ref, aws, prop)
        return revisions[ref.text]

    def cluster_arn(task: EcsTask) -> str | None:
        if task.cluster is None:
            return None
        if task.cluster not in clusters:
            clusters[task.cluster] = resolve_cluster(task.cluster, aws, task.where("Cluster"))
        return clusters[task.cluster]

    found = []
    for task in tasks:
        if task.credentials_account not in (None, account):
            found.append(StateFacts(task, None, ()))
            continue
        cluster = cluster_arn(task)
        if task.task_definition is None:
            families = (
                ()
                if task.credentials
                else tuple(
                    revision(TaskDefinitionRef(family), f"AllowDynamicTaskDefinitions ({family})")
                    for family in props.allow_dynamic_task_definitions
                )
            )
            found.append(StateFacts(task, cluster, families, dynamic=True))
            continue
        ref = task_definition_ref(task.where("TaskDefinition"), task.task_definition)
        named = revision(ref, task.where("TaskDefinition"))
        found.append(StateFacts(task, cluster, (named,), pinned=ref.revision is not None))
    return found
