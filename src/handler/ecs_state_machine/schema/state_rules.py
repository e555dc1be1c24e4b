"""The rules of a Definition's ECS task states, none of which calls AWS: before anything is
described (`check_states`: clusters, task definitions, Credentials, role overrides) and against
what was described (`check_state_facts`: containers, network mode, launch type, roles).

A state with Credentials runs RunTask as the role it names, which the provider stack's
administrator must allow (CredentialsRolePattern). The state machine's role then gets only
sts:AssumeRole on it. When that role is in another account, the state's task definition and
cluster live there: the provider cannot describe them, so it checks only that their ARNs point
there and leaves the state as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base.arn import Arn
from ..base.errors import MISSING, PropertyError, choices
from ..base.settings import matches
from .rules import check_container, check_fargate, check_place, check_task_roles

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.settings import Settings
    from .definition import EcsTask
    from .model import Workflow
    from .resolved import StateFacts, TaskDefinition


def elsewhere(task: EcsTask, place: Place) -> bool:
    """Whether the state runs RunTask in another account (Credentials of a role there)."""
    return task.credentials_account not in (None, place.account)


def check_states(props: Workflow, tasks: list[EcsTask], place: Place, settings: Settings) -> None:
    """Before anything is described: each ECS task state names its cluster, in this account and
    region; a task definition chosen at run time is among the listed families, with no role
    override; a named one is a family, family:revision or ARN of this account and region. A state
    with Credentials names an allowed role, and ARNs in that role's account."""
    for task in tasks:
        if task.credentials:
            check_credentials(task, place, settings)
            continue
        if task.cluster is None:
            raise PropertyError(
                task.where("Cluster"),
                MISSING,
                "is chosen at run time, so RunTask cannot be limited to one cluster",
                "Name the cluster (name or ARN) in the state.",
            )
        _check_names(task, place)
        if task.task_definition is None:
            if not props.allow_dynamic_task_definitions:
                raise PropertyError(
                    task.where("TaskDefinition"),
                    MISSING,
                    "is chosen at run time, so it cannot be resolved or permissioned at deploy time",
                    "Name a family, or list the families it may take in AllowDynamicTaskDefinitions.",
                )
            check_role_overrides(task, None)


def _check_names(task: EcsTask, place: Place) -> None:
    from .values import task_definition_ref

    check_place(task.where("Cluster"), task.cluster, place)
    if task.task_definition is not None:
        ref = task_definition_ref(task.where("TaskDefinition"), task.task_definition)
        check_place(task.where("TaskDefinition"), ref.arn, place)


def check_credentials(task: EcsTask, place: Place, settings: Settings) -> None:
    """The role a state assumes is one the administrator allows; in another account, the task
    definition and cluster the state names (when it names them by ARN) are there, in this region."""
    role = str(task.credentials)
    prop = f"Definition.{task.path}.Credentials.RoleArn"
    if not settings.credentials_role_patterns:
        raise PropertyError(
            prop,
            role,
            "is turned off: the provider stack's CredentialsRolePattern parameter is empty",
            "Remove Credentials, or ask the administrator to allow the role in CredentialsRolePattern.",
        )
    if not any(matches(pattern, role) for pattern in settings.credentials_role_patterns):
        allowed = choices(list(settings.credentials_role_patterns), 40)
        raise PropertyError(
            prop,
            role,
            f"is not allowed by CredentialsRolePattern ({allowed})",
            "Use an allowed role, or ask the provider's administrator to widen it.",
        )
    parsed = Arn.parse(role)
    assert parsed is not None  # definition._credentials took only a role ARN
    if parsed.partition != place.partition:
        raise PropertyError(
            prop, role, f"is not in this partition ({place.partition})", "Use a role of this partition."
        )
    if not elsewhere(task, place):
        _check_names(task, place)
        if task.task_definition is None:
            check_role_overrides(task, None)
        return
    there = type(place)(place.partition, place.region, parsed.account)
    for key, text in (("Cluster", task.cluster), ("TaskDefinition", task.task_definition)):
        if text and text.startswith("arn:") and not there.holds(Arn.parse(text)):
            raise PropertyError(
                task.where(key),
                text,
                f"is not in {parsed.account}/{place.region}, where Credentials.RoleArn runs it",
                "Give an ARN of that account and region, or a name.",
            )
    check_role_overrides(task, None)


def check_state_facts(facts: list[StateFacts], place: Place, settings: Settings) -> None:
    """Each state against what it runs: the revisions' roles, and for a named revision its
    containers, network mode, launch type and the state's role overrides."""
    for fact in facts:
        for td in fact.revisions:
            prop = (
                f"AllowDynamicTaskDefinitions ({td.family})"
                if fact.dynamic
                else fact.task.where("TaskDefinition")
            )
            check_task_roles(td, prop, place, settings)
        if not fact.dynamic and fact.revisions:
            check_state(fact.task, fact.revisions[0])


def check_state(task: EcsTask, td: TaskDefinition) -> None:
    """A Definition's ECS task state against the revision it runs: its container overrides, its
    network configuration, its launch type, and its role overrides."""
    for index, name in task.container_names:
        check_container(task.where("Overrides", f"ContainerOverrides[{index}]", "Name"), name, td)
    if td.network_mode == "awsvpc" and not task.network_configured:
        raise PropertyError(
            task.where("NetworkConfiguration"),
            MISSING,
            f"is required: {td.label} uses network mode awsvpc",
            "Add NetworkConfiguration.AwsvpcConfiguration with Subnets.",
        )
    check_fargate(task.where("LaunchType"), task.launch_type, td)
    check_role_overrides(task, td)


def check_role_overrides(task: EcsTask, td: TaskDefinition | None) -> None:
    """A state may name its revision's own roles in Overrides (harmless), never another role: the
    execution role of its own revision as its task role (the container would run with the
    execution role's secrets), nor any role of another task. With a task definition chosen at run
    time or in another account (`td` None) no role override can be checked, and none is allowed."""
    for key, value in task.role_overrides:
        if td is None:
            raise PropertyError(
                task.where("Overrides", key),
                value,
                "overrides a role of a task definition the provider cannot see",
                "Remove it: a task runs with the roles of its own revision.",
            )
        own = td.task_role_arn if key == "TaskRoleArn" else td.execution_role_arn
        if value != own:
            what = "task role" if key == "TaskRoleArn" else "execution role"
            raise PropertyError(
                task.where("Overrides", key),
                value,
                f"is not the {what} of {td.label} (a task may pass only its own revision's roles)",
                "Remove it, or register a revision that names that role.",
            )
