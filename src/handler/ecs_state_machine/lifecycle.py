"""Create, update and delete the state machine and its role, exactly as CloudFormation drives them:
the orchestration only. The plan says what to write; `roles` and `state_machines` write it.

Every step is idempotent (Lambda may deliver the same request twice), everything made is tagged
with the stack and logical id that own it, nothing without those tags is ever changed or deleted,
and a failed request removes what it made before it reports FAILED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arn import state_machine_name
from .aws import AwsError
from .errors import PropertyError, ProviderError
from .log import child_logger
from .names import default_state_machine_name, role_name_for
from .plan import make_plan
from .properties import Previous, parse
from .request import Request
from .roles import Roles, Wanted
from .state_machines import StateMachines

if TYPE_CHECKING:
    from .arn import Place
    from .aws import Aws
    from .plan import Documents, Plan
    from .properties import Properties
    from .settings import Settings

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

    def role(self, name: str) -> None:
        self.made.append(("role", name))

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
                    self.roles.delete(ident)
                logger.info("removed after failure", extra={"kind": kind, "id": ident})
            except Exception:
                logger.exception("could not remove after failure", extra={"kind": kind, "id": ident})


class Lifecycle:
    def __init__(
        self,
        aws: Aws,
        place: Place,
        settings: Settings,
        *,
        report_id: Callable[[str], None] = lambda _id: None,
        timed_out: Callable[[], bool] = lambda: False,
    ) -> None:
        self.aws = aws
        self.place = place
        self.settings = settings
        self.roles = Roles(aws, settings.role_path)
        self.machines = StateMachines(aws)
        self.report_id = report_id
        self.timed_out = timed_out

    def is_state_machine_arn(self, arn: str) -> bool:
        return self.place.state_machine_name(arn) is not None

    # ------------------------------------------------------------------ requests
    def create(self, req: Request) -> Outcome:
        props = parse(req.properties)
        name = props.state_machine_name or default_state_machine_name(
            req.stack_id, req.logical_id, req.request_id
        )
        plan = make_plan(props, self.place, self.aws, self.settings)
        return self._deploy(req, props, plan, self.place.state_machine_arn(name), report=True)

    def update(self, req: Request) -> Outcome:
        props = parse(req.properties)
        current = req.physical_id
        owned = self.machines.owned(current, req) if self.is_state_machine_arn(current) else None
        if owned is False:
            raise ProviderError(
                f"PhysicalResourceId {current} is a state machine this resource does not own "
                "(ownership tags differ); it was left untouched. Remove the resource from the stack."
            )
        plan = make_plan(props, self.place, self.aws, self.settings)
        fresh = self.place.state_machine_arn(
            default_state_machine_name(req.stack_id, req.logical_id, req.request_id)
        )
        target = self._target(req, props, current, fresh) if owned else None
        if target is None:
            return self._recreate(req, props, plan, current, fresh)
        if target != current:
            logger.info(
                "replacing state machine",
                extra={"old_name": state_machine_name(current), "new_name": state_machine_name(target)},
            )
            return self._deploy(req, props, plan, target)
        try:
            return self._update_in_place(req, props, plan, current)
        except AwsError as err:
            # Gone after all: deleted since its tags were read.
            if err.code != "StateMachineDoesNotExist":
                raise
        return self._recreate(req, props, plan, current, fresh)

    def delete(self, req: Request) -> None:
        arn = req.physical_id
        if not self.is_state_machine_arn(arn):
            logger.info("nothing to delete: the id is not a state machine of this account and region")
            return
        owned = self.machines.owned(arn, req)
        if owned:
            self.machines.delete(arn)
        elif owned is False:
            logger.warning("state machine not deleted: it belongs to another stack or resource")
        self.roles.delete_if_owned(role_name_for(arn), req)

    def discard(self, req: Request, arn: str) -> None:
        """Remove the state machine `arn` this request made, and its role (ownership checked)."""
        self.delete(Request("Delete", req.stack_id, req.request_id, req.logical_id, physical_id=arn))

    # ------------------------------------------------------------------ steps
    def _target(self, req: Request, props: Properties, current: str, fresh: str) -> str | None:
        """Where an Update must leave the resource: `current` (in place) or a replacement's ARN;
        None if the state machine turns out to be gone."""
        previous = Previous.of(req.old_properties)
        current_name = state_machine_name(current)
        name = props.state_machine_name or (state_machine_name(fresh) if previous.named else current_name)
        if name != current_name or props.state_machine_type == previous.state_machine_type:
            return self.place.state_machine_arn(name)
        # The old properties say another type (or cannot say). Only the state machine knows which it
        # has: after a failed Update, the old properties are the ones that failed.
        existing = self.machines.describe(current)
        if existing is None:
            return None
        if props.state_machine_type == existing.get("type", "STANDARD"):
            return current
        if props.state_machine_name:
            raise PropertyError(
                "StateMachineType",
                props.state_machine_type,
                f"cannot change while StateMachineName stays {name} (the type is fixed at creation)",
                "Change StateMachineName too, or remove it, so a new state machine replaces this one.",
            )
        return fresh

    def _deploy(self, req: Request, props: Properties, plan: Plan, arn: str, report: bool = False) -> Outcome:
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
        explicit = bool(props.state_machine_name)
        docs = plan.documents(arn)
        undo = Undo(self.roles, self.machines)
        try:
            # None: no such state machine (for a generated name: none known of yet).
            existing = self.machines.existing(arn, req) if explicit else None
            if report:
                self.report_id(arn)
            self._check_time()
            role_arn, role_created = self._role(req, props, docs, arn)
            if not (role_created or props.role_arn or explicit):
                # The role was there already: an earlier try of this request made it, and perhaps
                # the state machine too.
                existing = self.machines.existing(arn, req)
            if role_created or (existing is None and not props.role_arn):
                # Also a role adopted for a state machine that does not exist: an earlier try of
                # this request made it (its CreateRole answer was lost, or the function died).
                undo.role(role_name_for(arn))
            if existing is None:
                existing = self._create_state_machine(req, props, docs, arn, role_arn, undo, role_created)
            if existing is not None:
                self.machines.update(arn, docs, role_arn)
                self.machines.tag(arn, self._tags(req, props), self._stale_tags(req, props))
            self._check_time()
            return self._outcome(arn, role_arn, plan)
        except BaseException:
            undo.run()
            raise

    def _create_state_machine(
        self,
        req: Request,
        props: Properties,
        docs: Documents,
        arn: str,
        role_arn: str,
        undo: Undo,
        role_created: bool,
    ) -> dict[str, Any] | None:
        """Create it; if it exists (an earlier try of this request made it, or, for a name the stack
        chose, someone did after it was read), the existing one to bring up to date instead."""
        if self.machines.create(arn, docs, role_arn, props.state_machine_type, self._tags(req, props)):
            undo.machine(arn)
            return None
        existing = self.machines.existing(arn, req)
        if existing is None:
            raise ProviderError(
                f"State machine {state_machine_name(arn)} is being deleted or replaced; deploy again."
            )
        if not role_created:
            # That state machine was ours already and uses this role: a failure from here on must
            # not delete the role under it.
            undo.keep_role(role_name_for(arn))
        return existing

    def _recreate(self, req: Request, props: Properties, plan: Plan, current: str, fresh: str) -> Outcome:
        """The state machine of an Update is gone (deleted out of band): make a new one and report its id."""
        logger.warning("state machine not found on update; creating a new one", extra={"arn": current})
        name = props.state_machine_name or state_machine_name(fresh)
        return self._deploy(req, props, plan, self.place.state_machine_arn(name))

    def _update_in_place(self, req: Request, props: Properties, plan: Plan, arn: str) -> Outcome:
        docs = plan.documents(arn)
        undo = Undo(self.roles, self.machines)
        try:
            self._check_time()
            role_arn, role_created = self._role(req, props, docs, arn, read_first=True)
            if role_created:
                undo.role(role_name_for(arn))
            self.machines.update(arn, docs, role_arn)
        except BaseException:
            undo.run()
            raise
        previous = Previous.of(req.old_properties)
        if previous.tags is None or self._tags(req, props) != {**previous.tags, **req.ownership}:
            self.machines.tag(arn, self._tags(req, props), self._stale_tags(req, props))
        if props.role_arn and previous.role_arn != props.role_arn:
            # Switched from a created role to the stack's own: the created one is no longer used.
            self.roles.delete_if_owned(role_name_for(arn), req)
        return self._outcome(arn, role_arn, plan)

    def _role(
        self, req: Request, props: Properties, docs: Documents, arn: str, *, read_first: bool = False
    ) -> tuple[str, bool]:
        """The role the state machine runs with, and whether this call created it."""
        if props.role_arn:
            self.roles.check_handed_over(props.role_arn, arn)
            return props.role_arn, False
        boundary = self.settings.permissions_boundary or props.role_permissions_boundary
        if not self.settings.permissions_boundary:
            logger.warning(
                "no permissions boundary is configured: the role is created without the provider's"
            )
        wanted = Wanted(
            trust=docs.trust,
            policy=docs.policy,
            boundary=boundary,
            tags=self._tags(req, props),
            stale_tags=tuple(self._stale_tags(req, props)),
            description=_role_description(arn, req),
        )
        return self.roles.ensure(role_name_for(arn), req, wanted, read_first=read_first)

    def _check_time(self) -> None:
        """Once the timeout guard has answered, make nothing more; what was made is undone."""
        if self.timed_out():
            raise ProviderError("The provider ran out of time; the timeout answer was already sent.")

    def _tags(self, req: Request, props: Properties) -> dict[str, str]:
        return {**dict(props.tags), **req.ownership}

    def _stale_tags(self, req: Request, props: Properties) -> list[str]:
        """Tag keys the old properties asked for and these do not: the ones an Update may remove."""
        previous = Previous.of(req.old_properties) if req.request_type == "Update" else Previous()
        desired = self._tags(req, props)
        return [key for key in previous.tags or {} if key not in desired]

    def _outcome(self, arn: str, role_arn: str, plan: Plan) -> Outcome:
        return Outcome(
            physical_id=arn,
            data={"Arn": arn, "Name": state_machine_name(arn), "RoleArn": role_arn, **plan.data},
        )


def _role_description(arn: str, req: Request) -> str:
    text = (
        f"Role of state machine {state_machine_name(arn)}, made by Custom::EcsStateMachine {req.logical_id}"
    )
    return "".join(ch for ch in text if 32 <= ord(ch) < 127)[:1000]
