"""The state machines the provider makes, through Step Functions: read, own, write, tag, delete.

A state machine is this resource's when it carries the ownership tags of the requesting stack and
logical id; nothing without them is ever changed or deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base.arn import state_machine_name
from ..base.aws import MISSING_CODES, AwsError, call_allowing_missing, tag_list
from ..base.errors import PropertyError, ProviderError

if TYPE_CHECKING:
    from ..base.aws import Aws
    from ..planning.plan import Documents
    from ..schema.request import Request


class StateMachines:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.tags_seen: dict[str, dict[str, str]] = {}  # the tags each ownership read found

    def describe(self, arn: str) -> dict[str, Any] | None:
        try:
            return dict(
                self.aws.call(
                    "stepfunctions",
                    "describe_state_machine",
                    "reading the state machine",
                    stateMachineArn=arn,
                )
            )
        except AwsError as err:
            if err.code == "StateMachineDoesNotExist":
                return None
            raise

    def owned(self, arn: str, req: Request) -> bool | None:
        """Whether `arn` is this resource's (its ownership tags), in one read; None if it does not
        exist (Step Functions answers ResourceNotFound for the tags of a missing state machine)."""
        try:
            listed = self.aws.call(
                "stepfunctions", "list_tags_for_resource", "reading the state machine's tags", resourceArn=arn
            )
        except AwsError as err:
            if err.code in MISSING_CODES:
                return None
            raise
        tags = {t["key"]: t["value"] for t in listed.get("tags", [])}
        self.tags_seen[arn] = tags
        return req.owns(tags)

    def existing(self, arn: str, req: Request) -> dict[str, Any] | None:
        """The state machine `arn` as described, once it is known to be this resource's and not being
        deleted; None if there is none."""
        existing = self.describe(arn)
        if existing is None:
            return None
        name = state_machine_name(arn)
        if not self.owned(arn, req):
            raise PropertyError(
                "StateMachineName",
                name,
                "is already used by another state machine in this account and region",
                "Choose another name, or omit StateMachineName to get a unique one.",
            )
        if existing.get("status") == "DELETING":
            raise ProviderError(
                f"State machine {name} is still being deleted. Wait a minute and deploy again, or rename it."
            )
        return existing

    def create(
        self,
        arn: str,
        docs: Documents,
        role_arn: str,
        kind: str,
        tags: dict[str, str],
        publish: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Create the state machine (publishing its first version with `publish`: publish and
        versionDescription); None if a state machine of that name exists already."""
        name = state_machine_name(arn)
        try:
            return self.aws.call(  # type: ignore[no-any-return]
                "stepfunctions",
                "create_state_machine",
                f"creating state machine {name}",
                propagation=True,
                name=name,
                definition=docs.definition,
                roleArn=role_arn,
                type=kind,
                loggingConfiguration=docs.logging,
                tracingConfiguration=docs.tracing,
                **({"encryptionConfiguration": docs.encryption} if docs.encryption else {}),
                tags=tag_list(tags),
                **(publish or {}),
            )
        except AwsError as err:
            if err.code in ("StateMachineAlreadyExists", "StateMachineDeleting"):
                return None
            raise

    def update(
        self, arn: str, docs: Documents, role_arn: str | None, publish: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write the definition and configuration (and the role, unless None: the follower moves a
        state machine to another revision and never hands it a role); with `publish`, publish a
        version of the result. The answer carries stateMachineVersionArn and revisionId."""
        return self.aws.call(  # type: ignore[no-any-return]
            "stepfunctions",
            "update_state_machine",
            f"updating state machine {state_machine_name(arn)}",
            propagation=True,
            stateMachineArn=arn,
            definition=docs.definition,
            **({"roleArn": role_arn} if role_arn else {}),
            loggingConfiguration=docs.logging,
            tracingConfiguration=docs.tracing,
            **({"encryptionConfiguration": docs.encryption} if docs.encryption else {}),
            **(publish or {}),
        )

    def tag(self, arn: str, desired: dict[str, str], stale: list[str]) -> None:
        """Bring the tags to `desired`, removing `stale` keys (those an earlier request asked for)."""
        if stale:
            self.aws.call(
                "stepfunctions",
                "untag_resource",
                "untagging the state machine",
                resourceArn=arn,
                tagKeys=stale,
            )
        self.aws.call(
            "stepfunctions",
            "tag_resource",
            "tagging the state machine",
            resourceArn=arn,
            tags=tag_list(desired),
        )

    def delete(self, arn: str) -> None:
        """Idempotent: a state machine already being deleted (or gone) needs no special case."""
        call_allowing_missing(
            self.aws, "stepfunctions", "delete_state_machine", f"deleting {arn}", stateMachineArn=arn
        )
