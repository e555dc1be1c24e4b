"""Rules set by the provider stack's administrator (`Settings`) and by where the provider runs
(`Place`), checked against the properties and the resolved task definitions. None calls AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import MISSING, PropertyError
from .settings import matches

if TYPE_CHECKING:
    from .context import Place
    from .properties import Properties
    from .resolved import TaskDefinition
    from .settings import Settings


def check_properties(props: Properties, place: Place, settings: Settings) -> None:
    """Every administrator rule that the properties alone can break, in the order a reader meets them."""
    if props.role_arn:
        check_role_arn(props.role_arn, place, settings)
    if props.policy_statements and not settings.allow_policy_statements:
        raise PropertyError(
            "PolicyStatements",
            MISSING,
            "is turned off for this account (the provider stack's AllowPolicyStatements is false)",
            "Remove it, or give RoleArn with a role you manage for the other integrations.",
        )
    if props.logging and props.logging.log_group_arn:
        check_log_group(props.logging.log_group_arn, place, settings)
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


def check_role_arn(role_arn: str, place: Place, settings: Settings) -> None:
    """A role the stack hands over: of this account, never one the provider made for some resource,
    and only one the administrator lets stacks hand over (PassableRolePattern)."""
    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    if (partition, account) != (place.partition, place.account):
        raise PropertyError(
            "RoleArn", role_arn, f"is not in this account ({place.account})", "Use a role of this account."
        )
    resource = role_arn.split(":role", 1)[1]  # /path/name
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
    if not matches(settings.passable_role_pattern, resource.lstrip("/")):
        raise PropertyError(
            "RoleArn",
            role_arn,
            f"does not match the provider stack's PassableRolePattern ({settings.passable_role_pattern[:40]})",
            "Use a role that matches it, or omit RoleArn to get a role made for you.",
        )


def check_log_group(log_group_arn: str, place: Place, settings: Settings) -> None:
    """Step Functions delivers logs only inside its own account and region, and the administrator
    may narrow which log groups stacks write to (LogGroupPattern)."""
    parts = log_group_arn.split(":")
    prop = "Logging.LogGroupArn"
    if (parts[1], parts[3], parts[4]) != (place.partition, place.region, place.account):
        raise PropertyError(
            prop,
            log_group_arn,
            f"is not in this account and region ({place.account}, {place.region})",
            "Use a log group of this account and region.",
        )
    name = parts[6]
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
        parts = role.split(":", 5)
        resource = parts[5].split("role/", 1)[-1] if len(parts) == 6 else ""
        if len(parts) != 6 or (parts[1], parts[4]) != (place.partition, place.account):
            problem = f"has a {kind} outside this account ({role[:70]})"
        elif not matches(settings.task_role_pattern, resource):
            problem = f"has a {kind} outside the provider stack's TaskRolePattern ({resource[:50]})"
        else:
            continue
        raise PropertyError(
            prop,
            f"{td.family}:{td.revision}",
            problem,
            "Register a revision with allowed roles, or ask the administrator to widen TaskRolePattern.",
        )
