"""The roles the provider makes for its state machines, through IAM: create, adopt, bring up to
date, delete; and the check of a role a stack hands over.

A role is this resource's when it lives on the provider's path and carries the ownership tags of
the requesting stack and logical id; nothing else is ever changed or deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..base.arn import Arn
from ..base.aws import AwsError, call_allowing_missing, policy_document, tag_list
from ..base.errors import PropertyError, ProviderError
from ..base.log import child_logger
from ..base.names import POLICY_NAME
from ..base.settings import matches
from .managed_policies import POLICY_COUNT_TAG, ManagedPolicies, count_of

if TYPE_CHECKING:
    from ..base.aws import Aws
    from ..schema.request import Request

logger = child_logger()


@dataclass(frozen=True)
class Wanted:
    """What a created role must look like."""

    trust: str
    policy: str | None  # None: the state machine calls nothing and needs no permission
    boundary: str | None
    tags: dict[str, str]
    stale_tags: tuple[str, ...]  # keys an earlier request asked for and this one does not
    description: str
    managed: tuple[str, ...] = ()  # managed policies for what the inline policy cannot hold


class Roles:
    def __init__(self, aws: Aws, path: str) -> None:
        self.aws = aws
        self.path = path
        self.managed = ManagedPolicies(aws, path)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"])
        except AwsError as err:
            if err.code == "NoSuchEntity":
                return None
            raise

    def ensure(
        self, name: str, req: Request, wanted: Wanted, *, read_first: bool = False, may_create: bool = True
    ) -> tuple[str, bool, int | None]:
        """The role `name` as `wanted`, whether this call created it, and how many managed policies
        it has now. It is created, or, when it exists (an update, or an earlier try of this
        request), adopted and brought up to date. With `read_first` (an update in place) it is read
        rather than created first; without `may_create` a missing role is an error (the follower
        moves state machines, it does not make them)."""
        found = self.get(name) if read_first else None
        created = False
        before: int | None = 0
        if found is None and not may_create:
            raise ProviderError(f"IAM role {name} is gone; update the stack to make it again.")
        if found is None:
            found = self._create(name, wanted)
            created = found is not None
        if found is None or not created:
            found, before = self._adopt(name, req, wanted, found)
        try:
            self.write(name, wanted, created=created, before=before)
        except BaseException:
            if created:
                self.delete(name, parts=len(wanted.managed))
            raise
        return str(found["Arn"]), created, len(wanted.managed)

    def write(self, name: str, wanted: Wanted, *, created: bool, before: int | None) -> None:
        """The role's permissions as wanted: its inline policy and its managed policies. `before`:
        how many managed policies it had (None: it cannot say, so they are looked for)."""
        self._write_policy(name, wanted.policy, created)
        if wanted.managed or before != 0:
            self.managed.sync(name, wanted.managed, wanted.tags, fresh=created)
        if before is None or before > len(wanted.managed):
            self._count(name, len(wanted.managed))  # lowered once the parts are gone

    def _create(self, name: str, wanted: Wanted) -> dict[str, Any] | None:
        """Create the role; None if a role of that name exists already."""
        tags = {**wanted.tags, **({POLICY_COUNT_TAG: str(len(wanted.managed))} if wanted.managed else {})}
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": self.path,
            "AssumeRolePolicyDocument": wanted.trust,
            "Description": wanted.description,
            "Tags": tag_list(tags, "Key", "Value"),
        }
        if wanted.boundary:
            kwargs["PermissionsBoundary"] = wanted.boundary
        try:
            return dict(self.aws.call("iam", "create_role", f"creating role {name}", **kwargs)["Role"])
        except AwsError as err:
            if err.code != "EntityAlreadyExists":
                raise
        return None

    def _adopt(
        self, name: str, req: Request, wanted: Wanted, role: dict[str, Any] | None
    ) -> tuple[dict[str, Any], int | None]:
        """The role exists already: check it is ours, then write only what differs from `wanted`;
        and how many managed policies it said it may have (None: it cannot say)."""
        if role is None:
            role = dict(self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"])
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if role.get("Path") != self.path or not req.owns(tags):
            raise ProviderError(
                f"IAM role {name} exists but does not belong to this resource (path or ownership tags differ). "
                "Rename the state machine (StateMachineName) or delete that role."
            )
        if policy_document(role.get("AssumeRolePolicyDocument")) != json.loads(wanted.trust):
            self.aws.call(
                "iam",
                "update_assume_role_policy",
                f"updating the trust policy of role {name}",
                RoleName=name,
                PolicyDocument=wanted.trust,
            )
        self._bound(
            name, wanted.boundary, (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        )
        before = count_of(tags)
        self._retag(name, tags, wanted, before)
        return role, before

    def _retag(self, name: str, tags: dict[str, str], wanted: Wanted, before: int | None) -> None:
        """The role's tags as wanted; the count of managed policies raised before they are made."""
        desired = dict(wanted.tags)
        if wanted.managed and (before is None or len(wanted.managed) > before):
            desired[POLICY_COUNT_TAG] = str(len(wanted.managed))
        stale = [k for k in tags if k not in wanted.tags and k in wanted.stale_tags]
        if stale:
            self.aws.call("iam", "untag_role", f"untagging role {name}", RoleName=name, TagKeys=stale)
        if any(tags.get(k) != v for k, v in desired.items()):
            self.aws.call(
                "iam",
                "tag_role",
                f"tagging role {name}",
                RoleName=name,
                Tags=tag_list(desired, "Key", "Value"),
            )

    def _count(self, name: str, count: int) -> None:
        """Say how many managed policies the role has now (no tag: none)."""
        if count:
            tags = tag_list({POLICY_COUNT_TAG: str(count)}, "Key", "Value")
            self.aws.call("iam", "tag_role", f"tagging role {name}", RoleName=name, Tags=tags)
        else:
            self.aws.call(
                "iam", "untag_role", f"untagging role {name}", RoleName=name, TagKeys=[POLICY_COUNT_TAG]
            )

    def _bound(self, name: str, boundary: str | None, current: str | None) -> None:
        if boundary and boundary != current:
            self.aws.call(
                "iam",
                "put_role_permissions_boundary",
                f"setting the permissions boundary of role {name}",
                RoleName=name,
                PermissionsBoundary=boundary,
            )
        elif not boundary and current:
            self.aws.call(
                "iam",
                "delete_role_permissions_boundary",
                f"removing the permissions boundary of role {name}",
                RoleName=name,
            )

    def _write_policy(self, name: str, policy: str | None, created: bool) -> None:
        if policy is not None:
            self.aws.call(
                "iam",
                "put_role_policy",
                f"writing the policy of role {name}",
                RoleName=name,
                PolicyName=POLICY_NAME,
                PolicyDocument=policy,
            )
        elif not created:
            # A state machine that calls nothing (Pass, Wait, Choice only) needs no permission.
            call_allowing_missing(
                self.aws,
                "iam",
                "delete_role_policy",
                f"deleting the policy of role {name}",
                RoleName=name,
                PolicyName=POLICY_NAME,
            )

    def check_handed_over(self, role_arn: str, state_machine_arn: str) -> None:
        """A role the stack hands over must let Step Functions assume it for this state machine, or
        CreateStateMachine fails with the message IAM propagation also gives: fail at once, with
        a Reason, rather than retry as if IAM were catching up."""
        parsed = Arn.parse(role_arn)
        name = parsed.name if parsed else role_arn
        role = self.get(name)
        if role is None:
            raise PropertyError("RoleArn", role_arn, "no such role in this account", "Check the ARN.")
        if role.get("Arn") != role_arn:
            raise PropertyError(
                "RoleArn", role_arn, f"names role {name} on another path", "Use the role's exact ARN."
            )
        if not trusts_step_functions(
            policy_document(role.get("AssumeRolePolicyDocument")), state_machine_arn
        ):
            raise PropertyError(
                "RoleArn",
                role_arn,
                "does not let states.amazonaws.com assume it for this state machine",
                "Allow sts:AssumeRole to the service principal states.amazonaws.com in its trust policy.",
            )

    def delete_if_owned(self, name: str, req: Request) -> None:
        role = self.get(name)
        if role is None:
            return
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if role.get("Path") != self.path or not req.owns(tags):
            logger.warning("role not deleted: it belongs to another stack or resource", extra={"role": name})
            return
        self.delete(name, parts=count_of(tags))

    def delete(self, name: str, *, parts: int | None = None) -> None:
        """Delete the role, the one inline policy the provider writes (POLICY_NAME) and its managed
        policies (looked for unless the role said it has none: `parts` 0). Other inline policies are
        listed and removed only when IAM refuses the deletion because of them."""
        try:
            if parts != 0:
                self.managed.remove_all(name)
            self._delete_policy(name, POLICY_NAME)
            try:
                call_allowing_missing(self.aws, "iam", "delete_role", f"deleting role {name}", RoleName=name)
            except AwsError as err:
                if err.code != "DeleteConflict":
                    raise
                listed = self.aws.call(
                    "iam", "list_role_policies", f"listing policies of role {name}", RoleName=name
                )
                for policy in listed.get("PolicyNames", []):
                    self._delete_policy(name, policy)
                call_allowing_missing(self.aws, "iam", "delete_role", f"deleting role {name}", RoleName=name)
        except AwsError as err:
            if err.code != "NoSuchEntity":
                raise

    def _delete_policy(self, name: str, policy: str) -> None:
        call_allowing_missing(
            self.aws, "iam", "delete_role_policy", f"deleting role {name}", RoleName=name, PolicyName=policy
        )


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []


def trusts_step_functions(document: Any, state_machine_arn: str) -> bool:
    """Whether a trust policy lets states.amazonaws.com assume the role for `state_machine_arn`.
    Conditions on aws:SourceArn and aws:SourceAccount are read; any other condition is taken to hold
    (IAM has the last word: a role that still refuses is retried as propagation, within the budget)."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return any(_admits(statement, state_machine_arn) for statement in _listed(statements) or [statements])


def _admits(statement: Any, state_machine_arn: str) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    services = _listed(principal.get("Service")) if isinstance(principal, dict) else []
    assumes = any(action in ("sts:AssumeRole", "sts:*", "*") for action in _listed(statement.get("Action")))
    step_functions = any(
        s == "states.amazonaws.com" or (s.startswith("states.") and s.endswith(".amazonaws.com"))
        for s in services
    )
    return (
        assumes and step_functions and _conditions_hold(statement.get("Condition") or {}, state_machine_arn)
    )


def _conditions_hold(conditions: Any, state_machine_arn: str) -> bool:
    parsed = Arn.parse(state_machine_arn)
    context = {"aws:sourcearn": state_machine_arn, "aws:sourceaccount": parsed.account if parsed else ""}
    for operator, entries in conditions.items() if isinstance(conditions, dict) else []:
        if not operator.startswith(("StringEquals", "StringLike", "ArnEquals", "ArnLike")):
            continue
        like = operator.endswith("Like")
        for key, expected in entries.items() if isinstance(entries, dict) else []:
            actual = context.get(str(key).lower())
            if actual is not None and not any(
                matches(v, actual) if like else v == actual for v in _listed(expected)
            ):
                return False
    return True
