"""The customer-managed policies that carry what a role's inline policy cannot hold (IAM's size
limits, `policy_parts`): created, brought up to date, attached, detached and deleted with their
role, and nothing else.

They live on their own path under the provider's (`/ecs-state-machine/policies/<role>/`), apart
from the permissions boundary, and are named after their role (`<role>-2`, `<role>-3`, ...; the
inline policy is part 1). The provider may attach only policies of that path, only to its own
roles, which carry the boundary: the boundary still caps every statement. A policy on that path
named after a role is that role's, and the role's ownership was checked before any of its
policies is touched. The role's tag POLICY_COUNT_TAG says how many there may be, so a role that
has none costs no call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..base.aws import AwsError, call_allowing_missing, policy_document, tag_list
from ..base.names import managed_policy_path
from ..schema.values import OWNERSHIP_TAG_PREFIX

if TYPE_CHECKING:
    from ..base.aws import Aws

POLICY_COUNT_TAG = f"{OWNERSHIP_TAG_PREFIX}managed-policies"


def count_of(tags: dict[str, str]) -> int | None:
    """How many managed policies a role's tags say it may have (None: a role that cannot say)."""
    value = tags.get(POLICY_COUNT_TAG, "0")
    return int(value) if value.isdigit() else None


class ManagedPolicies:
    def __init__(self, aws: Aws, role_path: str) -> None:
        self.aws = aws
        self.role_path = role_path
        self.base = managed_policy_path(role_path, "")

    def path(self, role: str) -> str:
        return managed_policy_path(self.role_path, role)

    @staticmethod
    def name(role: str, index: int) -> str:
        return f"{role}-{index + 2}"

    def sync(self, role: str, documents: tuple[str, ...], tags: dict[str, str], *, fresh: bool) -> None:
        """The role's managed policies become `documents`, attached, and no others. A `fresh` role
        (created by this call) has none yet: nothing is read."""
        listed = {} if fresh else self._listed(role)
        attached = set() if fresh or not listed else self._attached(role)
        for index, document in enumerate(documents):
            name = self.name(role, index)
            found = listed.pop(name, None)
            if found is None:
                arn = self._create(role, name, document, tags)
            else:
                arn = str(found["Arn"])
                self._update(found, document)
            if arn not in attached:
                self.aws.call(
                    "iam", "attach_role_policy", f"attaching policy {name}", RoleName=role, PolicyArn=arn
                )
        for name, found in listed.items():  # parts the role no longer needs
            self._remove(role, name, str(found["Arn"]))

    def remove_all(self, role: str) -> None:
        for name, found in self._listed(role).items():
            self._remove(role, name, str(found["Arn"]))

    def _listed(self, role: str) -> dict[str, dict[str, Any]]:
        """This role's policies (by name), attached or not (a try that died between creating and
        attaching leaves one unattached)."""
        found: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"Scope": "Local", "PathPrefix": self.path(role)}
        while True:
            page = self.aws.call(
                "iam", "list_policies", f"listing the managed policies of role {role}", **kwargs
            )
            for policy in page.get("Policies", []):
                if policy.get("Path") == self.path(role):
                    found[str(policy["PolicyName"])] = dict(policy)
            if not page.get("IsTruncated"):
                return found
            kwargs["Marker"] = page["Marker"]

    def _attached(self, role: str) -> set[str]:
        listed = self.aws.call(
            "iam",
            "list_attached_role_policies",
            f"listing the policies attached to role {role}",
            RoleName=role,
        )
        return {str(p["PolicyArn"]) for p in listed.get("AttachedPolicies", [])}

    def _create(self, role: str, name: str, document: str, tags: dict[str, str]) -> str:
        created = self.aws.call(
            "iam",
            "create_policy",
            f"creating policy {name}",
            PolicyName=name,
            Path=self.path(role),
            PolicyDocument=document,
            Description=f"Part of the permissions of role {role} (more than its inline policy holds)",
            Tags=tag_list(tags, "Key", "Value"),
        )
        return str(created["Policy"]["Arn"])

    def _update(self, found: dict[str, Any], document: str) -> None:
        arn, version = str(found["Arn"]), str(found.get("DefaultVersionId") or "v1")
        current = self.aws.call(
            "iam",
            "get_policy_version",
            f"reading policy {found['PolicyName']}",
            PolicyArn=arn,
            VersionId=version,
        )["PolicyVersion"]["Document"]
        if policy_document(current) == json.loads(document):
            return
        try:
            self._new_version(arn, document)
        except AwsError as err:
            if err.code != "LimitExceeded":
                raise
            self._drop_old_versions(arn)
            self._new_version(arn, document)

    def _new_version(self, arn: str, document: str) -> None:
        self.aws.call(
            "iam",
            "create_policy_version",
            f"updating policy {arn.rsplit('/', 1)[-1]}",
            PolicyArn=arn,
            PolicyDocument=document,
            SetAsDefault=True,
        )

    def _drop_old_versions(self, arn: str) -> None:
        listed = self.aws.call("iam", "list_policy_versions", "listing policy versions", PolicyArn=arn)
        for version in listed.get("Versions", []):
            if not version.get("IsDefaultVersion"):
                call_allowing_missing(
                    self.aws,
                    "iam",
                    "delete_policy_version",
                    "deleting an old policy version",
                    PolicyArn=arn,
                    VersionId=version["VersionId"],
                )

    def _remove(self, role: str, name: str, arn: str) -> None:
        call_allowing_missing(
            self.aws, "iam", "detach_role_policy", f"detaching policy {name}", RoleName=role, PolicyArn=arn
        )
        try:
            self._drop_old_versions(arn)
        except AwsError as err:
            if err.code != "NoSuchEntity":
                raise
        call_allowing_missing(self.aws, "iam", "delete_policy", f"deleting policy {name}", PolicyArn=arn)
