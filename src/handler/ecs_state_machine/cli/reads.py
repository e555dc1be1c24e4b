"""Every AWS read `plan` and `drift` make beyond the provider's own planning: CloudFormation's record
of a stack (DescribeStacks, DescribeStackResources, GetTemplate, ListExports) and what exists now
for a deployed resource (DescribeStateMachine, ListTagsForResource, GetRole, GetRolePolicy,
ListAttachedRolePolicies, GetPolicy, GetPolicyVersion). Describe, Get and List only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..base.aws import AwsError, policy_document
from ..base.names import POLICY_NAME, managed_policy_path, role_name_for

if TYPE_CHECKING:
    from ..base.aws import Aws

GONE = ("DELETE_COMPLETE", "DELETE_IN_PROGRESS", "CREATE_FAILED")


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str


@dataclass
class Stack:
    name: str
    stack_id: str
    status: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    resources: dict[str, StackResource] = field(default_factory=dict)

    def physical_id(self, logical_id: str) -> str | None:
        """The resource's id, if the stack has it now (not deleted, not failed to create)."""
        found = self.resources.get(logical_id)
        return found.physical_id if found and found.status not in GONE and found.physical_id else None


@dataclass(frozen=True)
class Existing:
    """What exists now for a state machine the provider made, and its role (if it made one)."""

    arn: str
    definition: dict[str, Any]
    state_machine_type: str
    role_arn: str
    tags: dict[str, str]
    role: dict[str, Any] | None  # GetRole's Role; None: the stack's own role, or none found
    inline: dict[str, Any] | None  # the provider's inline policy
    managed: dict[str, dict[str, Any]]  # attached policies on the provider's path, by name
    logging: dict[str, Any] = field(default_factory=dict)
    tracing: dict[str, Any] = field(default_factory=dict)
    encryption: dict[str, Any] = field(default_factory=dict)

    @property
    def statements(self) -> list[Any]:
        found = list((self.inline or {}).get("Statement", []))
        for document in self.managed.values():
            found += list(document.get("Statement", []))
        return found


class Reads:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._exports: dict[str, tuple[str, str]] | None = None

    def stack(self, name: str, *, with_resources: bool = True) -> Stack | None:
        """The stack `name` (or id), None if CloudFormation has none of that name."""
        try:
            found = self.aws.call(
                "cloudformation", "describe_stacks", f"reading stack {name}", StackName=name
            )
        except AwsError as err:
            if "does not exist" in err.aws_message:
                return None
            raise
        described = found["Stacks"][0]
        stack = Stack(
            name=str(described["StackName"]),
            stack_id=str(described["StackId"]),
            status=str(described.get("StackStatus", "")),
            parameters={
                str(p["ParameterKey"]): str(p.get("ResolvedValue", p.get("ParameterValue", "")))
                for p in described.get("Parameters", [])
            },
            outputs={
                str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in described.get("Outputs", [])
            },
        )
        if with_resources:
            listed = self.aws.call(
                "cloudformation",
                "describe_stack_resources",
                f"reading the resources of stack {name}",
                StackName=stack.stack_id,
            )
            for r in listed.get("StackResources", []):
                stack.resources[str(r["LogicalResourceId"])] = StackResource(
                    str(r["LogicalResourceId"]),
                    str(r.get("ResourceType", "")),
                    r.get("PhysicalResourceId"),
                    str(r.get("ResourceStatus", "")),
                )
        return stack

    def template(self, stack: Stack) -> str:
        found = self.aws.call(
            "cloudformation",
            "get_template",
            f"reading the template of stack {stack.name}",
            StackName=stack.stack_id,
            TemplateStage="Original",
        )
        body = found.get("TemplateBody", "")
        if isinstance(body, dict):  # botocore decodes a JSON template
            return json.dumps(body)
        return str(body)

    def exports(self) -> dict[str, tuple[str, str]]:
        """Every export of the region: name -> (value, exporting stack id)."""
        if self._exports is None:
            self._exports = {}
            paging: dict[str, Any] = {}
            while True:
                page = self.aws.call(
                    "cloudformation", "list_exports", "reading the region's exports", **paging
                )
                for export in page.get("Exports", []):
                    self._exports[str(export["Name"])] = (
                        str(export["Value"]),
                        str(export["ExportingStackId"]),
                    )
                if not page.get("NextToken"):
                    break
                paging = {"NextToken": page["NextToken"]}
        return self._exports

    def existing(self, arn: str, role_path: str, own_role: bool) -> Existing | None:
        """What exists now for the state machine `arn` (None: no such state machine). With
        `own_role`, the role is the provider's (named after the ARN) and its policies are read."""
        try:
            described = self.aws.call(
                "stepfunctions", "describe_state_machine", f"reading {arn}", stateMachineArn=arn
            )
        except AwsError as err:
            if err.code == "StateMachineDoesNotExist":
                return None
            raise
        tags = self.aws.call(
            "stepfunctions", "list_tags_for_resource", f"reading the tags of {arn}", resourceArn=arn
        ).get("tags", [])
        role, inline, managed = self._role(role_name_for(arn), role_path) if own_role else (None, None, {})
        return Existing(
            arn=arn,
            definition=_json(described.get("definition", "{}")),
            state_machine_type=str(described.get("type", "STANDARD")),
            role_arn=str(described.get("roleArn", "")),
            tags={str(t["key"]): str(t["value"]) for t in tags},
            role=role,
            inline=inline,
            managed=managed,
            logging=dict(described.get("loggingConfiguration") or {}),
            tracing=dict(described.get("tracingConfiguration") or {}),
            encryption=dict(described.get("encryptionConfiguration") or {}),
        )

    def _role(
        self, name: str, role_path: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, dict[str, Any]]]:
        try:
            role = dict(self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"])
        except AwsError as err:
            if err.code == "NoSuchEntity":
                return None, None, {}
            raise
        try:
            inline = policy_document(
                self.aws.call(
                    "iam",
                    "get_role_policy",
                    f"reading the policy of role {name}",
                    RoleName=name,
                    PolicyName=POLICY_NAME,
                )["PolicyDocument"]
            )
        except AwsError as err:
            if err.code != "NoSuchEntity":
                raise
            inline = None
        return role, inline, self._managed(name, role_path)

    def _managed(self, name: str, role_path: str) -> dict[str, dict[str, Any]]:
        """The role's attached policies (the provider's own, on its path, and any other)."""
        attached = self.aws.call(
            "iam", "list_attached_role_policies", f"listing the policies of role {name}", RoleName=name
        ).get("AttachedPolicies", [])
        ours = managed_policy_path(role_path, name)
        found: dict[str, dict[str, Any]] = {}
        for entry in attached:
            arn = str(entry["PolicyArn"])
            if f":policy{ours}" not in arn:
                found[str(entry["PolicyName"])] = {"attached": arn}
                continue
            policy = self.aws.call("iam", "get_policy", f"reading policy {arn}", PolicyArn=arn)["Policy"]
            version = self.aws.call(
                "iam",
                "get_policy_version",
                f"reading policy {arn}",
                PolicyArn=arn,
                VersionId=policy["DefaultVersionId"],
            )["PolicyVersion"]
            found[str(entry["PolicyName"])] = policy_document(version["Document"])
        return found


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {"unreadable": str(text)}
    return value if isinstance(value, dict) else {"unreadable": value}
