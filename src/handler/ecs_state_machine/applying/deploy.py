"""Write what a plan says for one request: the role (created, adopted, or the stack's own, checked)
and the state machine, tagged with their owner. Every step is idempotent (Lambda may deliver the
same request twice), and a failure removes what this request made before it is reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..base.arn import state_machine_name
from ..base.errors import ProviderError
from ..base.log import child_logger
from ..base.names import role_name_for
from ..planning import policy_parts
from .roles import Roles, Wanted
from .state_machines import StateMachines
from .versions import VERSIONS_TAG, Publishing, Versions, content_hash, remember

if TYPE_CHECKING:
    from ..base.settings import Settings
    from ..planning.plan import Documents, Plan
    from ..schema.model import Properties
    from ..schema.request import Request

logger = child_logger()


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    data: dict[str, str]


@dataclass
class Undo:
    """What this request made, to remove (newest first) if it fails."""

    roles: Roles
    machines: StateMachines
    made: list[tuple[str, str]] = field(default_factory=list)
    parts: dict[str, int] = field(default_factory=dict)  # a made role's managed policies

    def role(self, name: str, parts: int) -> None:
        self.made.append(("role", name))
        self.parts[name] = parts

    def machine(self, arn: str) -> None:
        self.made.append(("state_machine", arn))

    def keep_role(self, name: str) -> None:
        """The role turned out to be in use by a state machine that was ours already."""
        if ("role", name) in self.made:
            self.made.remove(("role", name))

    def run(self) -> None:
        """Never raises: the error that made it run matters more."""
        for kind, ident in reversed(self.made):
            try:
                if kind == "state_machine":
                    self.machines.delete(ident)
                else:
                    self.roles.delete(ident, parts=self.parts.get(ident))
                logger.info("removed after failure", extra={"kind": kind, "id": ident})
            except Exception:
                logger.exception("could not remove after failure", extra={"kind": kind, "id": ident})


class Deployment:
    """One request's writes, for whichever state machine ARN the lifecycle chose."""

    def __init__(
        self,
        roles: Roles,
        machines: StateMachines,
        settings: Settings,
        req: Request,
        props: Properties,
        plan: Plan,
        *,
        report_id: Callable[[str], None],
        timed_out: Callable[[], bool],
    ) -> None:
        self.roles, self.machines, self.settings = roles, machines, settings
        self.req, self.props, self.plan = req, props, plan
        self.report_id, self.timed_out = report_id, timed_out
        self.publishing = Publishing(
            Versions(machines.aws),
            props.publish_version,
            props.version_description,
            props.alias_name,
            props.keep,
            req.previous.alias,
        )
        self.version_data: dict[str, str] = {}
        self.versions_tag: dict[str, str] = {}  # the versions tag to write, when publishing changed it

    def new(self, arn: str, *, report: bool = False) -> Outcome:
        """Make (or, on a repeated delivery, bring up to date) the state machine `arn` and its role.

        With `report` (a Create), once the name is known to be free or ours, a failure or timeout
        from then on reports `arn` as the PhysicalResourceId, so the Delete CloudFormation sends
        after a failed Create can find and remove anything left behind. Before that point a failed
        Create reports an id that is not an ARN, so its Delete touches nothing.

        A generated name hashes the RequestId, so only an earlier try of this same request can have
        used it: nothing is read before the writes, and CreateRole's EntityAlreadyExists (or, with
        RoleArn, CreateStateMachine's StateMachineAlreadyExists) is what reveals such a try; only
        then is the state machine read. A name the stack chose may belong to anyone: it is read first.
        """
        explicit = bool(self.props.state_machine_name)
        docs = self.plan.documents(arn)
        undo = Undo(self.roles, self.machines)
        try:
            # None: no such state machine (for a generated name: none known of yet).
            existing = self.machines.existing(arn, self.req) if explicit else None
            if report:
                self.report_id(arn)
            self._check_time()
            role_arn, role_created = self._role(docs, arn)
            if not (role_created or self.props.role_arn or explicit):
                # The role was there already: an earlier try of this request made it, and perhaps
                # the state machine too.
                existing = self.machines.existing(arn, self.req)
            if role_created or (existing is None and not self.props.role_arn):
                # Also a role adopted for a state machine that does not exist: an earlier try of
                # this request made it (its CreateRole answer was lost, or the function died).
                undo.role(role_name_for(arn), len(docs.managed))
            if existing is None:
                existing = self._create_state_machine(docs, arn, role_arn, undo, role_created)
            if existing is not None:
                self._update(arn, docs, role_arn, role_arn)
                self._write_tags(arn, everything=True)
            self._check_time()
            return self._outcome(arn, role_arn)
        except BaseException:
            undo.run()
            raise

    def _create_state_machine(
        self, docs: Documents, arn: str, role_arn: str, undo: Undo, role_created: bool
    ) -> dict[str, Any] | None:
        """Create it; if it exists (an earlier try of this request made it, or, for a name the stack
        chose, someone did after it was read), the existing one to bring up to date instead."""
        digest = content_hash(docs, role_arn)
        tags = {
            **self._tags(),
            **({VERSIONS_TAG: remember([], 1, digest)} if self.props.publish_version else {}),
        }
        answer = self.machines.create(
            arn, docs, role_arn, self.props.state_machine_type, tags, publish=self.publishing.args()
        )
        if answer is not None:
            undo.machine(arn)
            self.machines.tags_seen[arn] = tags
            self._published(arn, answer, digest, reuse=None, fresh=True)
            self._write_tags(arn, everything=False)
            return None
        existing = self.machines.existing(arn, self.req)
        if existing is None:
            raise ProviderError(
                f"State machine {state_machine_name(arn)} is being deleted or replaced; deploy again."
            )
        if not role_created:
            # That state machine was ours already and uses this role: a failure from here on must
            # not delete the role under it.
            undo.keep_role(role_name_for(arn))
        return existing

    def in_place(self, arn: str) -> Outcome:
        """Bring the state machine `arn` (this resource's) and its role up to date."""
        docs = self.plan.documents(arn)
        undo = Undo(self.roles, self.machines)
        try:
            self._check_time()
            role_arn, role_created = self._role(docs, arn, read_first=True)
            if role_created:
                undo.role(role_name_for(arn), len(docs.managed))
            self._update(arn, docs, role_arn, role_arn)
        except BaseException:
            undo.run()
            raise
        previous = self.req.previous
        self._write_tags(
            arn, everything=previous.tags is None or self._tags() != {**previous.tags, **self.req.ownership}
        )
        if self.props.role_arn and previous.role_arn != self.props.role_arn:
            # Switched from a created role to the stack's own: the created one is no longer used.
            self.roles.delete_if_owned(role_name_for(arn), self.req)
        return self._outcome(arn, role_arn)

    def follow(
        self, arn: str, previous_policy: dict[str, Any], *, fence: Callable[[], None] = lambda: None
    ) -> None:
        """Move the state machine `arn` (this resource's, following its families) to this plan, so
        that at every step it works: first its role grants both what it had and what it needs,
        then the definition changes, then the role grants exactly what it needs. If the definition
        cannot be written, the role is narrowed back to exactly what the state machine runs before
        the error is raised. `fence` is called before each step; it raises once the follower's
        lease is lost, and then nothing more is written."""
        docs = self.plan.documents(arn)
        if self.props.role_arn:  # the stack's own role: its permissions are the stack's to keep
            fence()
            self._update(arn, docs, None, self.props.role_arn)
            return
        both = self.plan.documents(arn, also=previous_policy)
        name = role_name_for(arn)
        fence()
        role_arn, _created, parts = self.roles.ensure(
            name, self.req, self._wanted(both, arn), read_first=True, may_create=False
        )
        try:
            fence()
            self._update(arn, docs, None, role_arn)
        except ProviderError as err:
            if err.category != "busy":
                self._narrow_back(arn, docs, previous_policy, parts, fence)
            raise
        fence()
        self.roles.write(name, self._wanted(docs, arn), created=False, before=parts)

    def _narrow_back(
        self,
        arn: str,
        docs: Documents,
        previous_policy: dict[str, Any],
        parts: int | None,
        fence: Callable[[], None],
    ) -> None:
        """After a failed UpdateStateMachine of a follow: the role grants exactly what the state
        machine runs (the old definition's policy, or the new one's if the write went through
        after all); left granting both if that cannot be read or written (it still works)."""
        try:
            running = self.machines.describe(arn)
            if running is None:
                return
            now = docs if running.get("definition") == docs.definition else _exactly(docs, previous_policy)
            fence()
            self.roles.write(role_name_for(arn), self._wanted(now, arn), created=False, before=parts)
            logger.info("role narrowed back to what the state machine runs", extra={"state_machine": arn})
        except Exception:
            logger.exception("role left granting both revisions", extra={"state_machine": arn})

    def _update(self, arn: str, docs: Documents, role_arn: str | None, runs_as: str) -> None:
        """UpdateStateMachine (handing it `role_arn`, unless None), publishing a version when the
        content is new; content an earlier version holds (a rollback) moves the alias back to it."""
        if docs.encryption is None and self.req.previous.encrypted:
            docs = replace(docs, encryption={"type": "AWS_OWNED_KEY"})  # the property went: back to AWS's key
        digest = content_hash(docs, runs_as)
        reuse = self.publishing.reusable(
            arn, self.machines.tags_seen.get(arn, {}), digest, docs.definition, runs_as
        )
        answer = self.machines.update(arn, docs, role_arn, publish=self.publishing.args(reuse))
        self._published(arn, answer, digest, reuse=reuse, fresh=False)

    def _published(
        self,
        arn: str,
        answer: dict[str, Any],
        digest: str,
        *,
        reuse: int | None,
        fresh: bool,
    ) -> None:
        tags = self.machines.tags_seen.get(arn, {})
        self.version_data, value = self.publishing.after(
            arn, answer, digest=digest, tags=tags, reuse=reuse, fresh=fresh
        )
        self.versions_tag = (
            {VERSIONS_TAG: value} if value is not None and tags.get(VERSIONS_TAG) != value else {}
        )

    def _write_tags(self, arn: str, *, everything: bool) -> None:
        """Write the versions tag publishing changed and, with `everything`, the stack's tags and the
        ownership tags too (removing stale keys), in one TagResource."""
        versions, self.versions_tag = self.versions_tag, {}
        if everything:
            self.machines.tag(arn, {**self._tags(), **versions}, self._stale_tags())
        elif versions:
            self.machines.tag(arn, {**self.req.ownership, **versions}, [])
        self.machines.tags_seen[arn] = {**self.machines.tags_seen.get(arn, {}), **versions}

    def _role(self, docs: Documents, arn: str, *, read_first: bool = False) -> tuple[str, bool]:
        """The role the state machine runs with, and whether this call created it."""
        if self.props.role_arn:
            self.roles.check_handed_over(self.props.role_arn, arn)
            return self.props.role_arn, False
        if not self.settings.permissions_boundary:
            logger.warning(
                "no permissions boundary is configured: the role is created without the provider's"
            )
        role_arn, created, _parts = self.roles.ensure(
            role_name_for(arn), self.req, self._wanted(docs, arn), read_first=read_first
        )
        return role_arn, created

    def _wanted(self, docs: Documents, arn: str) -> Wanted:
        return Wanted(
            trust=docs.trust,
            policy=docs.policy,
            boundary=self.settings.permissions_boundary or self.props.role_permissions_boundary,
            tags=self._tags(),
            stale_tags=tuple(self._stale_tags()),
            description=_role_description(arn, self.req),
            managed=docs.managed,
        )

    def _check_time(self) -> None:
        """Once the timeout guard has answered, make nothing more; what was made is undone."""
        if self.timed_out():
            raise ProviderError("The provider ran out of time; the timeout answer was already sent.")

    def _tags(self) -> dict[str, str]:
        return {**dict(self.props.tags), **self.req.ownership}

    def _stale_tags(self) -> list[str]:
        """Tag keys the old properties asked for and these do not: the ones an Update may remove."""
        desired = self._tags()
        return [key for key in self.req.previous.tags or {} if key not in desired]

    def _outcome(self, arn: str, role_arn: str) -> Outcome:
        return Outcome(
            physical_id=arn,
            data={
                "Arn": arn,
                "Name": state_machine_name(arn),
                "RoleArn": role_arn,
                "ProviderVersion": __version__,
                **self.version_data,
                **self.plan.data,
            },
        )


def _exactly(docs: Documents, policy: dict[str, Any]) -> Documents:
    """`docs` with the role's permissions exactly `policy` (split into inline and managed parts as
    a plan splits them)."""
    split = policy_parts.split(policy)
    return replace(
        docs,
        policy=_compact(split.inline) if split.inline["Statement"] else None,
        managed=tuple(_compact(m) for m in split.managed),
    )


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def _role_description(arn: str, req: Request) -> str:
    text = (
        f"Role of state machine {state_machine_name(arn)}, made by Custom::EcsStateMachine {req.logical_id}"
    )
    return "".join(ch for ch in text if 32 <= ord(ch) < 127)[:1000]
