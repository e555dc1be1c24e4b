"""Versions and aliases of a state machine (PublishVersion, AliasName, VersionsToKeep).

A version is published with every Create and every Update that writes the definition or role
(CreateStateMachine/UpdateStateMachine with `publish`), and the alias is moved to it. What Step
Functions allows and this module relies on:

- an alias may point to any version of its state machine, so a rollback that writes back what an
  earlier version holds moves the alias to that version instead of publishing a duplicate; the
  state machine's tag `ecs-state-machine:versions` remembers which content each recent version holds
  (`N:hash`, newest first). The tag is only a hint (anyone allowed to tag the state machine can
  rewrite it): the version it names is described first, and reused only if its own definition and
  role are the ones to publish; otherwise a new version is published;
- a version an alias points to cannot be deleted, so pruning (VersionsToKeep) skips it;
- DeleteStateMachine deletes every version and alias of the state machine, so a Delete, and the
  removal of a replaced state machine, need nothing more.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..base.arn import state_machine_name
from ..base.aws import AwsError, call_allowing_missing
from ..base.log import child_logger
from ..schema.values import OWNERSHIP_TAG_PREFIX

if TYPE_CHECKING:
    from ..base.aws import Aws
    from ..planning.plan import Documents

logger = child_logger()

VERSIONS_TAG = f"{OWNERSHIP_TAG_PREFIX}versions"
REMEMBERED = 16  # versions whose content the tag remembers (a tag value holds 256 characters)


def content_hash(docs: Documents, role_arn: str) -> str:
    """What a version holds: definition, role, logging, tracing and encryption."""
    content = [docs.definition, role_arn, docs.logging, docs.tracing, docs.encryption]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:10]


def remembered(tags: dict[str, str]) -> list[tuple[int, str]]:
    """(version number, content hash) newest first, from the state machine's tag."""
    found = []
    for entry in (tags.get(VERSIONS_TAG) or "").split(","):
        number, _, digest = entry.partition(":")
        if number.isdigit() and digest:
            found.append((int(number), digest))
    return found


def remember(previous: list[tuple[int, str]], number: int, digest: str) -> str:
    entries = [(number, digest), *[(n, d) for n, d in previous if n != number]][:REMEMBERED]
    return ",".join(f"{n}:{d}" for n, d in entries)


class Versions:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def alias(self, arn: str, name: str, version_arn: str, *, exists: bool) -> str:
        """Point alias `name` at `version_arn` (created if it does not exist yet)."""
        alias_arn = f"{arn}:{name}"
        routing = [{"stateMachineVersionArn": version_arn, "weight": 100}]
        if exists and self._move(alias_arn, name, routing):
            return alias_arn
        try:
            created = self.aws.call(
                "stepfunctions",
                "create_state_machine_alias",
                f"creating alias {name}",
                name=name,
                routingConfiguration=routing,
                description=f"Moved by Custom::EcsStateMachine to each version it publishes of {state_machine_name(arn)}",
            )
            return str(created["stateMachineAliasArn"])
        except AwsError as err:
            # It exists already (an earlier try of this request made it): move it instead.
            if err.code not in ("ConflictException", "ValidationException") or not self._move(
                alias_arn, name, routing
            ):
                raise
        return alias_arn

    def _move(self, alias_arn: str, name: str, routing: list[dict[str, Any]]) -> bool:
        """Point an existing alias at the routing; False if there is no such alias."""
        try:
            self.aws.call(
                "stepfunctions",
                "update_state_machine_alias",
                f"moving alias {name}",
                stateMachineAliasArn=alias_arn,
                routingConfiguration=routing,
            )
        except AwsError as err:
            if err.code != "ResourceNotFound":
                raise
            return False
        return True

    def holds(self, version_arn: str, definition: str, role_arn: str) -> bool:
        """Whether the version `version_arn` exists with exactly this definition and role."""
        try:
            described = self.aws.call(
                "stepfunctions",
                "describe_state_machine",
                "reading the state machine version",
                stateMachineArn=version_arn,
            )
        except AwsError as err:
            if err.code not in ("StateMachineDoesNotExist", "ResourceNotFound", "ValidationException"):
                raise
            return False
        try:
            same = json.loads(described.get("definition") or "null") == json.loads(definition)
        except ValueError:
            return False
        return bool(same and described.get("roleArn") == role_arn)

    def drop_alias(self, arn: str, name: str) -> None:
        call_allowing_missing(
            self.aws,
            "stepfunctions",
            "delete_state_machine_alias",
            f"deleting alias {name}",
            stateMachineAliasArn=f"{arn}:{name}",
        )

    def prune(self, arn: str, keep: int, protected: set[str]) -> None:
        """Delete the versions older than the newest `keep`, except those in `protected` (an alias
        points to them)."""
        versions: list[str] = []
        kwargs: dict[str, Any] = {"stateMachineArn": arn}
        while True:
            page = self.aws.call("stepfunctions", "list_state_machine_versions", "listing versions", **kwargs)
            versions += [str(v["stateMachineVersionArn"]) for v in page.get("stateMachineVersions", [])]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        newest_first = sorted(versions, key=lambda v: int(v.rsplit(":", 1)[1]), reverse=True)
        for version in newest_first[keep:]:
            if version in protected:
                continue
            try:
                call_allowing_missing(
                    self.aws,
                    "stepfunctions",
                    "delete_state_machine_version",
                    f"deleting version {version.rsplit(':', 1)[1]}",
                    stateMachineVersionArn=version,
                )
            except AwsError as err:
                if err.code != "ConflictException":  # an alias of someone else's points to it
                    raise
                logger.info("version kept: an alias points to it", extra={"version": version})


class Publishing:
    """One write's versions and alias: what to pass to Create/UpdateStateMachine, and what to do
    once it is written. `previous_alias`: the alias the resource had (a renamed alias is replaced,
    and turning PublishVersion off removes it)."""

    def __init__(
        self,
        versions: Versions,
        publish: bool,
        description: str | None,
        alias: str | None,
        keep: int,
        previous_alias: str | None,
    ) -> None:
        self.versions = versions
        self.publish, self.description, self.alias, self.keep = publish, description, alias, keep
        self.previous_alias = previous_alias

    def args(self, reuse: int | None = None) -> dict[str, Any] | None:
        """What the write passes to publish a version (None: publish nothing)."""
        if not self.publish or reuse is not None:
            return None
        return {"publish": True, **({"versionDescription": self.description} if self.description else {})}

    def reusable(
        self, arn: str, tags: dict[str, str], digest: str, definition: str, role_arn: str
    ) -> int | None:
        """The recent version that already holds this content (a rollback), if any: the one the
        versions tag names, once its own definition and role are seen to be these."""
        if not self.publish:
            return None
        number = next((number for number, known in remembered(tags) if known == digest), None)
        if number is None or self.versions.holds(f"{arn}:{number}", definition, role_arn):
            return number
        logger.warning(
            "versions tag does not match the version it names: publishing a new version",
            extra={"state_machine": arn, "version": number},
        )
        return None

    def after(
        self,
        arn: str,
        answer: dict[str, Any],
        *,
        digest: str,
        tags: dict[str, str],
        reuse: int | None,
        fresh: bool,
    ) -> tuple[dict[str, str], str | None]:
        """Move the alias to the version just published (or reused), prune, and say what to remember:
        the attributes to return, and the new value of the versions tag (None: unchanged)."""
        if not self.publish:
            if self.previous_alias and not fresh:
                self.versions.drop_alias(arn, self.previous_alias)
            return {}, None
        version_arn = (
            f"{arn}:{reuse}" if reuse is not None else str(answer.get("stateMachineVersionArn") or "")
        )
        number = int(version_arn.rsplit(":", 1)[1])
        data = {"VersionArn": version_arn, "RevisionId": str(answer.get("revisionId") or "INITIAL")}
        if self.alias:
            exists = not fresh and self.previous_alias == self.alias
            data["AliasArn"] = self.versions.alias(arn, self.alias, version_arn, exists=exists)
        if self.previous_alias and self.previous_alias != self.alias and not fresh:
            self.versions.drop_alias(arn, self.previous_alias)
        if number > self.keep:
            self.versions.prune(arn, self.keep, {version_arn})
        return data, remember(remembered(tags), number, digest)
