"""The provider's settings as its function has them: read from the provider stack (its parameters,
outputs and FollowTable), mapped onto the environment template.yaml gives the function, and turned
into `Settings` by the provider's own `Settings.from_environment`. Where the stack cannot be read,
template.yaml's defaults, and a warning naming each setting assumed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..base.aws import AwsError
from ..base.settings import ROLE_PATH_DEFAULT, Settings

if TYPE_CHECKING:
    from .reads import Reads, Stack

# The function's environment variable, and the provider stack parameter that sets it (template.yaml).
FROM_PARAMETERS = {
    "ALLOW_POLICY_STATEMENTS": "AllowPolicyStatements",
    "PASSABLE_ROLE_PATTERN": "PassableRolePattern",
    "TASK_ROLE_PATTERN": "TaskRolePattern",
    "CREDENTIALS_ROLE_PATTERN": "CredentialsRolePattern",
    "LOG_GROUP_PATTERN": "LogGroupPattern",
}
# template.yaml's defaults (a test holds them to the template).
DEFAULTS = {
    "AllowPolicyStatements": "false",
    "PassableRolePattern": "",
    "TaskRolePattern": "*",
    "CredentialsRolePattern": "",
    "LogGroupPattern": "/aws/vendedlogs/states/*",
}
SERVICE_TOKEN_EXPORT = "ecs-state-machine-ServiceToken"


@dataclass(frozen=True)
class ProviderSettings:
    settings: Settings
    source: str  # the provider stack's name, or "template.yaml defaults"
    warnings: tuple[str, ...] = field(default_factory=tuple)


def from_stack(stack: Stack) -> Settings:
    env = {variable: stack.parameters.get(name, DEFAULTS[name]) for variable, name in FROM_PARAMETERS.items()}
    env["ROLE_PATH"] = stack.outputs.get("RolePath", ROLE_PATH_DEFAULT)
    env["PERMISSIONS_BOUNDARY"] = stack.outputs.get("PermissionsBoundaryArn") or (
        stack.parameters.get("PermissionsBoundaryArn") or stack.physical_id("StateMachineRoleBoundary") or ""
    )
    env["FOLLOW_TABLE"] = stack.physical_id("FollowTable") or ""
    return Settings.from_environment(env)


def assumed(problem: str) -> ProviderSettings:
    env = {variable: DEFAULTS[name] for variable, name in FROM_PARAMETERS.items()}
    named = ", ".join(f"{FROM_PARAMETERS[v]}={env[v] or '(empty)'}" for v in env)
    warning = (
        f"{problem}; assuming template.yaml's defaults: {named}, no FollowTable (FollowRevisions refused), "
        "and the provider's own permissions boundary (its ARN unknown). Name it with --provider-stack."
    )
    return ProviderSettings(Settings.from_environment(env), "template.yaml defaults", (warning,))


def read(reads: Reads, name: str | None, service_token: object) -> ProviderSettings:
    """The settings of the provider stack `name`, else of the stack exporting `service_token`."""
    try:
        if name is None:
            name = _exporting_stack(reads, service_token)
            if name is None:
                return assumed("no stack exports the ServiceToken of these resources")
        stack = reads.stack(name)
    except AwsError as err:
        return assumed(f"the provider stack could not be read ({err})")
    if stack is None:
        return assumed(f"provider stack {name} does not exist")
    return ProviderSettings(from_stack(stack), stack.name)


def _exporting_stack(reads: Reads, service_token: object) -> str | None:
    exports = reads.exports()
    for value, stack_id in exports.values():
        if isinstance(service_token, str) and value == service_token:
            return stack_id
    found = exports.get(SERVICE_TOKEN_EXPORT)
    return found[1] if found else None
