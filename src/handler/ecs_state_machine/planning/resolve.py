"""Resolve what the properties name into facts about the account: the task definition revision
(latest ACTIVE for a family), its containers, roles, size and platform, the cluster (ARN and
capacity providers), the VPC of each subnet and security group the tasks name, and the KMS key of
EncryptionConfiguration. The ECS, EC2 and KMS reads live here and nowhere else, and run at once;
whether the facts can work is the rules' (and the preflight's) to say.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from ..base.aws import AwsError
from ..base.errors import PropertyError, ProviderError
from ..schema.resolved import Cluster, Network, StateFacts, TaskDefinition
from ..schema.values import TaskDefinitionRef, task_definition_ref

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..schema.definition import EcsTask
    from ..schema.model import SingleTask, Workflow


def resolve(props: SingleTask, aws: Aws) -> tuple[TaskDefinition, Cluster, Network]:
    """TaskDefinition mode: the revision, the cluster and the network the task names, described at
    once (a failure is reported in that order)."""
    ref = props.task_definition
    wanted: dict[tuple[str, str], Callable[[], Any]] = {
        ("revision", ref.text): lambda: resolve_task_definition(ref, aws),
        ("cluster", props.cluster): lambda: describe_cluster(props.cluster, aws),
        **network_reads(props.subnets, props.security_groups, aws),
    }
    found = _all_at_once(wanted)
    for result in found.values():
        if isinstance(result, BaseException):
            raise result
    return found[("revision", ref.text)], found[("cluster", props.cluster)], _network(found)


def resolve_key(given: str, aws: Aws, place: Place) -> str:
    """The ARN of the KMS key `given` names (key id, key ARN, alias name or alias ARN): enabled,
    symmetric, for encryption, in this region."""
    prop = "EncryptionConfiguration.KmsKeyId"
    try:
        key = aws.call("kms", "describe_key", f"describing KMS key {given}", KeyId=given)["KeyMetadata"]
    except AwsError as err:
        if err.code != "NotFoundException":
            raise
        raise PropertyError(
            prop, given, "no such KMS key in this account and region", "Check the key's ARN or alias name."
        ) from None
    if key.get("KeyState") != "Enabled":
        raise PropertyError(
            prop,
            given,
            f"is {key.get('KeyState')}, and Step Functions needs an enabled key",
            "Enable it, or use another key.",
        )
    if (
        key.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT"
        or key.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
    ):
        raise PropertyError(
            prop,
            given,
            "is not a symmetric encryption key",
            "Use a SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT.",
        )
    arn = str(key["Arn"])
    if arn.split(":")[3:5] != [place.region, place.account]:
        raise PropertyError(
            prop,
            given,
            f"is not in this account and region ({place.account}, {place.region})",
            "Use a key of this account and region: the provider may use no other.",
        )
    return arn


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
    platform = described.get("runtimePlatform") or {}
    return TaskDefinition(
        arn=described["taskDefinitionArn"],
        family=described["family"],
        revision=int(described["revision"]),
        containers=containers,
        network_mode=described.get("networkMode") or "bridge",
        compatibilities=compatibilities,
        task_role_arn=described.get("taskRoleArn") or None,
        execution_role_arn=described.get("executionRoleArn") or None,
        cpu=str(described["cpu"]) if described.get("cpu") else None,
        memory=str(described["memory"]) if described.get("memory") else None,
        cpu_architecture=platform.get("cpuArchitecture") or "X86_64",
        os_family=platform.get("operatingSystemFamily") or "LINUX",
    )


def resolve_cluster(cluster: str, aws: Aws, prop: str = "Cluster") -> str:
    return describe_cluster(cluster, aws, prop).arn


def describe_cluster(cluster: str, aws: Aws, prop: str = "Cluster") -> Cluster:
    """The ACTIVE cluster `cluster` names, with its capacity providers (DescribeClusters returns
    them without an `include`)."""
    described = aws.call("ecs", "describe_clusters", f"describing cluster {cluster}", clusters=[cluster])
    for found in described.get("clusters", []):
        if found.get("status") in ("ACTIVE", "PROVISIONING", "UPDATING"):
            return Cluster(
                str(found["clusterArn"]),
                str(found.get("clusterName") or cluster),
                tuple(found.get("capacityProviders") or ()),
            )
    raise PropertyError(
        prop,
        cluster,
        "no such ACTIVE ECS cluster in this account and region",
        "Check the name with: aws ecs list-clusters (the default is 'default').",
    )


# Described at once, not one after another: a Definition may name a hundred families, and each
# DescribeTaskDefinition is a round trip. Boto3 clients are thread-safe; the ECS client is made
# before the threads start so that they share it.
WORKERS = 16


def resolve_states(
    props: Workflow, tasks: list[EcsTask], aws: Aws, account: str
) -> tuple[list[StateFacts], Network]:
    """Definition mode: what each ECS task state runs, each family, revision and cluster described
    once however many states name it, and the network every state names, all of them at once. The
    states were checked (`state_rules.check_states`) already. A failure is reported for the first
    state, in document order, that meets one, as if they had been described one after another.

    A state that runs in another account (Credentials of a role there) is not described: its task
    definition, cluster and network are that account's. A state with Credentials needs nothing
    resolved for its grant, so what it chooses at run time is left to it."""
    wanted: dict[tuple[str, str], Callable[[], Any]] = {}
    here = [task for task in tasks if task.credentials_account in (None, account)]
    for task in here:
        for key, describe in _needs(props, task, aws):
            wanted.setdefault(key, describe)
    wanted.update(
        network_reads(
            [s for task in here for s in task.request.literal("subnets")],
            [g for task in here for g in task.request.literal("security_groups")],
            aws,
        )
    )
    found = _all_at_once(wanted)

    def get(key: tuple[str, str]) -> Any:
        result = found[key]
        if isinstance(result, BaseException):
            raise result
        return result

    facts = [_state_facts(props, task, get, account) for task in tasks]
    return facts, _network(found)


def _state_facts(
    props: Workflow, task: EcsTask, get: Callable[[tuple[str, str]], Any], account: str
) -> StateFacts:
    if task.credentials_account not in (None, account):
        return StateFacts(task, None, ())
    cluster = get(("cluster", task.cluster)) if task.cluster is not None else None
    arn = cluster.arn if cluster else None
    if task.task_definition is None:
        families = (
            ()
            if task.credentials
            else tuple(get(("family", family)) for family in props.allow_dynamic_task_definitions)
        )
        return StateFacts(task, arn, families, dynamic=True, cluster=cluster)
    ref = task_definition_ref(task.where("TaskDefinition"), task.task_definition)
    revision = get(("revision", ref.text))
    return StateFacts(task, arn, (revision,), pinned=ref.revision is not None, cluster=cluster)


def _needs(props: Workflow, task: EcsTask, aws: Aws) -> list[tuple[tuple[str, str], Callable[[], Any]]]:
    """What describing `task` takes: (key, describe) for its cluster and its task definitions."""
    needs: list[tuple[tuple[str, str], Callable[[], Any]]] = []
    if task.cluster is not None:
        cluster, prop = task.cluster, task.where("Cluster")
        needs.append((("cluster", cluster), lambda: describe_cluster(cluster, aws, prop)))
    if task.task_definition is not None:
        where = task.where("TaskDefinition")
        ref = task_definition_ref(where, task.task_definition)
        needs.append((("revision", ref.text), lambda: resolve_task_definition(ref, aws, where)))
    elif not task.credentials:
        for family in props.allow_dynamic_task_definitions:
            describe = partial(
                resolve_task_definition,
                TaskDefinitionRef(family),
                aws,
                f"AllowDynamicTaskDefinitions ({family})",
            )
            needs.append((("family", family), describe))
    return needs


# EC2 takes up to 200 values in one filter; more ids (rare: a Definition of many states, each with
# its own subnets) are described in as many calls as that takes.
FILTER_VALUES = 200


def network_reads(
    subnets: list[str] | tuple[str, ...], groups: list[str] | tuple[str, ...], aws: Aws
) -> dict[tuple[str, str], Callable[[], Any]]:
    """The describes that find the VPC of each subnet and security group (none when none is named):
    one DescribeSubnets and one DescribeSecurityGroups for all of them, filtered by id so that an id
    that does not exist is simply absent from the answer instead of failing the call."""
    reads: dict[tuple[str, str], Callable[[], Any]] = {}
    if subnets:
        ids = list(dict.fromkeys(subnets))
        reads[("network", "subnets")] = lambda: _vpcs(aws, "describe_subnets", "subnet-id", ids)
    if groups:
        ids_ = list(dict.fromkeys(groups))
        reads[("network", "groups")] = lambda: _vpcs(aws, "describe_security_groups", "group-id", ids_)
    return reads


def _vpcs(aws: Aws, operation: str, key: str, ids: list[str]) -> dict[str, str]:
    listed, id_key, what = (
        ("Subnets", "SubnetId", "subnets")
        if key == "subnet-id"
        else ("SecurityGroups", "GroupId", "security groups")
    )
    found: dict[str, str] = {}
    for start in range(0, len(ids), FILTER_VALUES):
        token: dict[str, Any] = {}
        while True:
            answer = aws.call(
                "ec2",
                operation,
                f"describing {what} {','.join(ids[start : start + 3])}",
                Filters=[{"Name": key, "Values": ids[start : start + FILTER_VALUES]}],
                **token,
            )
            found.update({str(item[id_key]): str(item.get("VpcId") or "") for item in answer.get(listed, [])})
            if not answer.get("NextToken"):
                break
            token = {"NextToken": answer["NextToken"]}
    return found


def _network(found: dict[tuple[str, str], Any]) -> Network:
    subnets, groups = found.get(("network", "subnets"), {}), found.get(("network", "groups"), {})
    for result in (subnets, groups):
        if isinstance(result, BaseException):
            raise result
    return Network(subnets, groups)


def _all_at_once(wanted: dict[tuple[str, str], Callable[[], Any]]) -> dict[tuple[str, str], Any]:
    """Each describe's result, or the error it raised."""

    def attempt(describe: Callable[[], Any]) -> Any:
        try:
            return describe()
        except ProviderError as err:
            return err

    if len(wanted) <= 1:
        return {key: attempt(describe) for key, describe in wanted.items()}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(wanted)), thread_name_prefix="resolve") as pool:
        futures = {key: pool.submit(attempt, describe) for key, describe in wanted.items()}
        return {key: future.result() for key, future in futures.items()}
