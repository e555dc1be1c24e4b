"""Create, update and delete the state machine and its role, exactly as CloudFormation drives them:
the decisions only. The plan says what to write, `deploy.Deployment` writes it, and `roles` and
`state_machines` own the calls; nothing without this resource's ownership tags is ever changed or
deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..applying.deploy import Deployment, Outcome
from ..applying.roles import Roles
from ..applying.state_machines import StateMachines
from ..base.arn import state_machine_name
from ..base.aws import AwsError
from ..base.errors import ProviderError
from ..base.log import child_logger
from ..base.names import default_state_machine_name, role_name_for
from ..following.following import Following, Held
from ..planning.plan import make_plan
from ..schema import rules
from ..schema.properties import Previous, parse
from ..schema.request import Request

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..base.settings import Settings
    from ..planning.plan import Plan
    from ..schema.model import Properties

logger = child_logger()


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
        self.following = Following(aws, settings.follow_table)
        self.report_id = report_id
        self.timed_out = timed_out

    def is_state_machine_arn(self, arn: str) -> bool:
        return self.place.state_machine_name(arn) is not None

    # ------------------------------------------------------------------ requests
    def create(self, req: Request) -> Outcome:
        props = parse(req.properties)
        arn = self._named(props) or self._fresh(req)
        plan = make_plan(props, self.place, self.aws, self.settings)
        self.following.check(props, plan, req.properties, arn)
        outcome = self._deployment(req, props, plan).new(arn, report=True)
        self.following.record(req, props, plan, outcome.physical_id, Held.of(req), None)
        return outcome

    def update(self, req: Request) -> Outcome:
        props = parse(req.properties)
        current = req.physical_id
        owned = self.machines.owned(current, req) if self.is_state_machine_arn(current) else None
        if owned is False:
            raise ProviderError(
                f"PhysicalResourceId {current} is a state machine this resource does not own "
                "(ownership tags differ); it was left untouched. Remove the resource from the stack."
            )
        involved = bool(owned) and (props.follow_revisions or req.previous.follows is not False)
        with self.following.lease(req, current, involved) as held:
            plan = make_plan(props, self.place, self.aws, self.settings)
            self.following.check(props, plan, req.properties, current)
            outcome = self._update(req, props, plan, current, owned)
            try:
                self.following.record(req, props, plan, outcome.physical_id, held, current)
            except BaseException:
                if outcome.physical_id != current:
                    # The Update fails and reports `current`: nothing else would remove the replacement.
                    self._discard_quietly(req, outcome.physical_id)
                raise
        return outcome

    def _update(
        self, req: Request, props: Properties, plan: Plan, current: str, owned: bool | None
    ) -> Outcome:
        deployment = self._deployment(req, props, plan)
        fresh = self._fresh(req)
        target = self._target(req, props, current, fresh) if owned else None
        if target is None:
            return self._recreate(deployment, current, fresh)
        if target != current:
            logger.info(
                "replacing state machine",
                extra={"old_name": state_machine_name(current), "new_name": state_machine_name(target)},
            )
            return deployment.new(target)
        try:
            return deployment.in_place(current)
        except AwsError as err:
            # Gone after all: deleted since its tags were read.
            if err.code != "StateMachineDoesNotExist":
                raise
        return self._recreate(deployment, current, fresh)

    def delete(self, req: Request, *, strict: bool = True) -> None:
        """Remove the state machine, its role and its follow record. Not `strict` (removing what a
        failed request made): the state machine and role go even if the record cannot; the next
        sweep forgets a record whose state machine is gone."""
        arn = req.physical_id
        if not self.is_state_machine_arn(arn):
            logger.info("nothing to delete: the id is not a state machine of this account and region")
            return
        owned = self.machines.owned(arn, req)
        if owned:
            involved = Previous.of(req.properties).follows is not False
            try:
                # With the lease, so that no follow rewrites what is being removed.
                with self.following.lease(req, arn, involved) as held:
                    self.following.forget(arn, held)
                    self.machines.delete(arn)
            except ProviderError:
                if strict:
                    raise
                logger.warning("follow record left for the next sweep", extra={"state_machine": arn})
                self.machines.delete(arn)
        elif owned is False:
            logger.warning("state machine not deleted: it belongs to another stack or resource")
        self.roles.delete_if_owned(role_name_for(arn), req)

    def discard(self, req: Request, arn: str) -> None:
        """Remove the state machine `arn` this request made, its role (ownership checked) and its
        follow record."""
        self.delete(
            Request("Delete", req.stack_id, req.request_id, req.logical_id, physical_id=arn), strict=False
        )

    def _discard_quietly(self, req: Request, arn: str) -> None:
        """`discard`, never raising: the error that made it run matters more."""
        try:
            self.discard(req, arn)
        except Exception:
            logger.exception("could not remove after failure", extra={"state_machine": arn})

    # ------------------------------------------------------------------ steps
    def _target(self, req: Request, props: Properties, current: str, fresh: str) -> str | None:
        """Where an Update must leave the resource: `current` (in place) or a replacement's ARN;
        None if the state machine turns out to be gone."""
        previous = req.previous
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
        rules.check_type_change(props, name)
        return fresh

    def _recreate(self, deployment: Deployment, current: str, fresh: str) -> Outcome:
        """The state machine of an Update is gone (deleted out of band): make a new one and report its id."""
        logger.warning("state machine not found on update; creating a new one", extra={"arn": current})
        return deployment.new(self._named(deployment.props) or fresh)

    def _named(self, props: Properties) -> str | None:
        """The ARN of the StateMachineName the stack chose, if it chose one."""
        return self.place.state_machine_arn(props.state_machine_name) if props.state_machine_name else None

    def _fresh(self, req: Request) -> str:
        """The ARN of the name generated for this request (unique to its RequestId)."""
        return self.place.state_machine_arn(
            default_state_machine_name(req.stack_id, req.logical_id, req.request_id)
        )

    def _deployment(self, req: Request, props: Properties, plan: Plan) -> Deployment:
        return Deployment(
            self.roles,
            self.machines,
            self.settings,
            req,
            props,
            plan,
            report_id=self.report_id,
            timed_out=self.timed_out,
        )
