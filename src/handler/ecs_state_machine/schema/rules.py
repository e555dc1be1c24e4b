"""The rules that need no AWS call (a Definition's task states have theirs in `state_rules`):

- across properties (`check_combinations`), checked as soon as they are parsed;
- the administrator's (`check_properties`: Settings) and where the provider runs (Place);
- against the facts resolved from the account (containers, network mode, launch type, roles),
  checked before anything is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base.arn import Arn
from ..base.errors import MISSING, PropertyError, choices
from ..base.settings import matches

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.settings import Settings
    from .model import Properties, Workflow
    from .resolved import TaskDefinition


# --------------------------------------------------------------------------- across properties
def check_combinations(props: Properties) -> None:
    for prop, value in (
        ("VersionDescription", props.version_description),
        ("AliasName", props.alias_name),
        ("VersionsToKeep", props.versions_to_keep),
    ):
        if value is not None and not props.publish_version:
            raise PropertyError(
                prop, value, "needs PublishVersion: true", "Set PublishVersion: true, or remove it."
            )
    if props.role_arn and props.role_permissions_boundary:
        raise PropertyError(
            "RolePermissionsBoundary",
            props.role_permissions_boundary,
            "applies only to a role the provider creates, but RoleArn is set",
            "Remove one of them.",
        )


def check_workflow(props: Workflow) -> None:
    from .definition import states, waits

    check_combinations(props)
    if props.state_machine_type != "EXPRESS":
        return
    for path, _name, state, _jsonata in states(props.definition):
        if state.get("Type") == "Task" and waits(state.get("Resource")):
            raise PropertyError(
                f"Definition.{path}.Resource",
                state["Resource"],
                "waits for its task, which EXPRESS state machines cannot do",
                "Use StateMachineType STANDARD, or a request-response integration.",
            )


# --------------------------------------------------------------------------- the administrator's, and the place
def check_properties(props: Properties, place: Place, settings: Settings) -> None:
    """Every administrator rule that the properties alone can break, in the order a reader meets them."""
    if props.role_arn:
        check_role_arn(props.role_arn, place, settings)
    if getattr(props, "policy_statements", ()) and not settings.allow_policy_statements:
        raise PropertyError(
            "PolicyStatements",
            MISSING,
            "is turned off for this account (the provider stack's AllowPolicyStatements is false)",
            "Remove it, or give RoleArn with a role you manage for the other integrations.",
        )
    if props.logging and props.logging.log_group_arn:
        check_log_group(props.logging.log_group_arn, place, settings)
    if props.follow_revisions and not settings.follow_table:
        raise PropertyError(
            "FollowRevisions",
            True,
            "needs the provider stack's follower, which this provider lacks (no FOLLOW_TABLE)",
            "Update the provider stack to this version, or remove FollowRevisions.",
        )
    if settings.permissions_boundary and props.role_permissions_boundary not in (
        None,
        settings.permissions_boundary,
    ):
        raise PropertyError(
            "RolePermissionsBoundary",
            props.role_permissions_boundary,
            "differs from the boundary this provider puts on every role",
            f"Remove it, or set it to {settings.permissions_boundary}.",
        )


def check_place(prop: str, text: str | None, place: Place) -> None:
    """An ARN a state names must point into the account and region where the state machine runs."""
    if text and text.startswith("arn:") and not place.holds(Arn.parse(text)):
        raise PropertyError(
            prop,
            text,
            f"is not in this account and region ({place.account}, {place.region})",
            "Use one of this account and region, where the provider deploys.",
        )


def check_role_arn(role_arn: str, place: Place, settings: Settings) -> None:
    """A role the stack hands over: of this account, never one the provider made for some resource,
    and only one the administrator lets stacks hand over (PassableRolePattern)."""
    parsed = Arn.parse(role_arn)
    if not place.holds(parsed, regional=False) or parsed is None:
        raise PropertyError(
            "RoleArn", role_arn, f"is not in this account ({place.account})", "Use a role of this account."
        )
    resource = "/" + parsed.path_and_name  # /path/name
    if resource.startswith(settings.role_path):
        raise PropertyError(
            "RoleArn",
            role_arn,
            f"is on {settings.role_path}, where the provider keeps the roles it makes for other resources",
            "Omit RoleArn to get a role made for this state machine.",
        )
    if not settings.passable_role_pattern:
        raise PropertyError(
            "RoleArn",
            role_arn,
            "is turned off: the provider stack's PassableRolePattern parameter is empty",
            "Omit RoleArn to get a role made for you, or ask the administrator to set PassableRolePattern.",
        )
    if not matches(settings.passable_role_pattern, parsed.path_and_name):
        raise PropertyError(
            "RoleArn",
            role_arn,
            f"does not match the provider stack's PassableRolePattern ({settings.passable_role_pattern[:40]})",
            "Use a role that matches it, or omit RoleArn to get a role made for you.",
        )


def check_log_group(log_group_arn: str, place: Place, settings: Settings) -> None:
    """Step Functions delivers logs only inside its own account and region, and the administrator
    may narrow which log groups stacks write to (LogGroupPattern)."""
    parsed = Arn.parse(log_group_arn)
    prop = "Logging.LogGroupArn"
    if not place.holds(parsed) or parsed is None:
        raise PropertyError(
            prop,
            log_group_arn,
            f"is not in this account and region ({place.account}, {place.region})",
            "Use a log group of this account and region.",
        )
    name = parsed.resource.split(":")[1]
    if not matches(settings.log_group_pattern, name):
        raise PropertyError(
            prop,
            log_group_arn,
            f"is outside the provider stack's LogGroupPattern ({settings.log_group_pattern[:40]})",
            "Use a log group whose name matches it (AWS recommends /aws/vendedlogs/states/...).",
        )


def check_task_roles(td: TaskDefinition, prop: str, place: Place, settings: Settings) -> None:
    """The roles a revision brings are passed to ECS by the state machine: only roles of this account
    that the administrator allows (TaskRolePattern), so that whoever registers a revision cannot
    have an arbitrary role passed."""
    for kind, role in (("task role", td.task_role_arn), ("execution role", td.execution_role_arn)):
        if not role:
            continue
        parsed = Arn.parse(role)
        if not place.holds(parsed, regional=False) or parsed is None:
            problem = f"has a {kind} outside this account ({role[:70]})"
        elif not matches(settings.task_role_pattern, parsed.path_and_name):
            problem = (
                f"has a {kind} outside the provider stack's TaskRolePattern ({parsed.path_and_name[:50]})"
            )
        else:
            continue
        raise PropertyError(
            prop,
            td.label,
            problem,
            "Register a revision with allowed roles, or ask the administrator to widen TaskRolePattern.",
        )


def check_container(prop: str, name: str | None, td: TaskDefinition) -> None:
    if name not in td.containers:
        raise PropertyError(
            prop, name, f"is not a container of {td.label}", f"Use one of: {choices(list(td.containers))}."
        )


def check_fargate(prop: str, launch_type: str | None, td: TaskDefinition) -> None:
    if launch_type == "FARGATE" and "FARGATE" not in td.compatibilities:
        raise PropertyError(
            prop,
            "FARGATE",
            f"but {td.label} is not FARGATE-compatible (requiresCompatibilities: {','.join(td.compatibilities) or 'none'})",
            "Set LaunchType: EC2 (or a CapacityProviderStrategy), or register a FARGATE revision.",
        )


def check_type_change(props: Properties, name: str) -> None:
    """A new StateMachineType needs a new state machine (the type is fixed at creation), which a
    StateMachineName the stack keeps rules out."""
    if props.state_machine_name:
        raise PropertyError(
            "StateMachineType",
            props.state_machine_type,
            f"cannot change while StateMachineName stays {name} (the type is fixed at creation)",
            "Change StateMachineName too, or remove it, so a new state machine replaces this one.",
        )
