"""The follower: keeps each state machine deployed with FollowRevisions on the newest ACTIVE revision
of its families, its role exact, between deploys.

It learns of new and removed revisions from ECS's CloudTrail events (RegisterTaskDefinition,
DeregisterTaskDefinition, DeleteTaskDefinitions, as EventBridge delivers them) and from a scheduled
sweep that heals what an event missed. An event only says which families to look at: the follower
always plans from the properties the resource was last deployed with and the revisions ECS has
*now*, with the provider's own plan, so duplicate and out-of-order events converge, a revision that
would not deploy is refused with the Reason a deploy gives, and a later CloudFormation Update renders
exactly what the follower wrote.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..applying.deploy import Deployment
from ..applying.roles import Roles
from ..applying.state_machines import StateMachines
from ..base.errors import ProviderError
from ..base.log import child_logger
from ..planning.plan import make_plan
from ..schema.properties import parse
from ..schema.request import Request
from ..schema.values import NAME
from . import follow_store
from .follow_store import FOLLOWER, Busy, FollowStore, Spec

if TYPE_CHECKING:
    from ..base.arn import Place
    from ..base.aws import Aws
    from ..base.settings import Settings

logger = child_logger()

ECS_CALLS = ("RegisterTaskDefinition", "DeregisterTaskDefinition", "DeleteTaskDefinitions")
OUTCOMES = ("moved", "unchanged", "failed", "deferred", "gone", "later")
WORKERS = 8  # state machines reconciled at once
TIME_FOR_ONE = 20.0  # seconds a reconcile may need; with less left, it waits for the next sweep


def _family(text: Any) -> str | None:
    """The family of `family`, `family:revision` or a task definition ARN."""
    if not isinstance(text, str):
        return None
    name = text.rsplit("/", 1)[-1].split(":", 1)[0] if text.startswith("arn:") else text.split(":", 1)[0]
    return name if NAME.match(name) else None


def families_in(event: Any, place: Place) -> tuple[str, ...] | None:
    """The families an ECS CloudTrail event names; None if the event is not one (another source,
    account or region, or not a task definition call)."""
    if not isinstance(event, dict) or event.get("source") != "aws.ecs":
        return None
    detail = event.get("detail")
    if event.get("detail-type") != "AWS API Call via CloudTrail" or not isinstance(detail, dict):
        return None
    if detail.get("eventSource") != "ecs.amazonaws.com" or detail.get("eventName") not in ECS_CALLS:
        return None
    if event.get("account") != place.account or event.get("region") != place.region:
        return None
    if detail.get("errorCode"):
        return ()  # the call failed: no revision changed
    given = detail.get("requestParameters")
    parameters: dict[str, Any] = given if isinstance(given, dict) else {}
    named: list[Any] = {
        "RegisterTaskDefinition": [parameters.get("family")],
        "DeregisterTaskDefinition": [parameters.get("taskDefinition")],
        "DeleteTaskDefinitions": list(parameters.get("taskDefinitions") or []),
    }[detail["eventName"]]
    return tuple(dict.fromkeys(f for f in map(_family, named) if f))


def is_sweep(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
    )


class Follower:
    def __init__(
        self,
        aws: Aws,
        place: Place,
        settings: Settings,
        store: FollowStore,
        *,
        count: Callable[[str, int], None] = lambda _name, _value: None,
        request_id: str = "",
    ) -> None:
        self.aws, self.place, self.settings, self.store = aws, place, settings, store
        self.roles = Roles(aws, settings.role_path)
        self.machines = StateMachines(aws)
        self.count = count
        self.request_id = request_id or uuid.uuid4().hex

    def handle(self, event: Any) -> dict[str, Any]:
        """An EventBridge event: a sweep, or an ECS task definition call. A state machine a deploy
        holds is 'deferred', not an error: the deploy resolves the newest ACTIVE revisions itself,
        and the next sweep moves what it did not."""
        if is_sweep(event):
            return self._sweep()
        families = families_in(event, self.place)
        if families is None:
            logger.info("event ignored: not an ECS task definition call of this account and region")
            self.count("IgnoredEvents", 1)
            return {"ignored": True}
        self.count("FollowEvents", 1)
        arns = list(dict.fromkeys(arn for family in families for arn in self.store.followers(family)))
        outcomes = self._reconcile_all(arns)
        return {"families": list(families), **outcomes}

    def _sweep(self) -> dict[str, Any]:
        """Every following state machine, a page of ARNs at a time, starting where the last sweep
        that ran out of time stopped; those the time left cannot cover are 'later', and the next
        sweep starts with them."""
        self.count("Sweeps", 1)
        start = self._cursor()
        outcomes: Counter[str] = Counter({name: 0 for name in OUTCOMES})
        resume, last = None, start
        for page in self.store.machine_pages(start):
            results = self._results(page, sweep=True)
            outcomes.update(results)
            if "later" in results:
                first = results.index("later")
                resume = page[first - 1] if first else last
                logger.info("sweep out of time: the next one goes on from here", extra={"after": resume})
                break
            last = page[-1]
        self._counted(outcomes)
        if resume != start:
            try:
                self.store.set_cursor(resume)
            except ProviderError:
                logger.warning("the sweep's cursor was not saved: the next sweep starts where this one did")
        return {"sweep": True, **outcomes}

    def _cursor(self) -> str | None:
        try:
            return self.store.cursor()
        except ProviderError:
            logger.warning("the sweep's cursor could not be read: starting at the first state machine")
            return None

    def _reconcile_all(self, arns: list[str]) -> dict[str, int]:
        outcomes: Counter[str] = Counter({name: 0 for name in OUTCOMES})
        outcomes.update(self._results(arns))
        self._counted(outcomes)
        return dict(outcomes)

    def _results(self, arns: list[str], *, sweep: bool = False) -> list[str]:
        """Reconcile each of `arns`, several at once (a sweep's page may hold a hundred); those the
        time left cannot cover are 'later'."""

        def one(arn: str) -> str:
            if self.aws.deadline.left() < TIME_FOR_ONE:
                return "later"
            return self.reconcile(arn, sweep=sweep)

        if len(arns) > 1:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(arns)), thread_name_prefix="follow") as pool:
                return list(pool.map(one, arns))
        return [one(arn) for arn in arns]

    def _counted(self, outcomes: Counter[str]) -> None:
        self.count("Follows", outcomes["moved"])
        self.count("FollowFailures", outcomes["failed"])
        self.count("FollowsDeferred", outcomes["deferred"])

    def reconcile(self, arn: str, *, sweep: bool = False) -> str:
        """Bring `arn` to the newest ACTIVE revisions of its families: 'moved', 'unchanged',
        'failed' (left working on one revision, the Reason logged), 'deferred' (a deploy holds it)
        or 'gone'. A sweep also forgets the record of a state machine that no longer exists."""
        lease = Lease(self.store, arn, f"{FOLLOWER}{self.request_id}:{uuid.uuid4().hex[:8]}")
        try:
            spec = lease.take()
            if spec is None:
                return "gone"
            if sweep and self.machines.describe(arn) is None:
                lease.release()
                return self._gone(arn) or "failed"
            return self._move(spec, lease)
        except Busy:
            logger.info(
                "deferred: a deploy (or another follow) holds the state machine; the newest revisions come with it or the next sweep",
                extra={"state_machine": arn},
            )
            return "deferred"
        except ProviderError as err:
            lease.release()
            logger.warning(
                "not followed: the state machine was left as it was",
                extra={"state_machine": arn, "reason": err.reason, "error_category": err.category},
            )
            return self._gone(arn) or "failed"
        except Exception:
            lease.release()
            logger.exception("not followed: unexpected error", extra={"state_machine": arn})
            return "failed"

    def _gone(self, arn: str) -> str | None:
        """'gone' if the state machine no longer exists (its record is then forgotten: a Delete that
        could not forget it left it behind); None otherwise, or when that cannot be said."""
        try:
            if self.machines.describe(arn) is not None:
                return None
            self.store.forget(arn)
        except ProviderError:
            return None
        logger.info("forgotten: the state machine no longer exists", extra={"state_machine": arn})
        return "gone"

    def _move(self, spec: Spec, lease: Lease) -> str:
        props = parse(spec.properties)
        plan = make_plan(props, self.place, self.aws, self.settings)
        if plan.revisions == spec.revisions:
            lease.release()
            return "unchanged"
        request = Request(
            "Update",
            spec.stack_id,
            lease.owner,
            spec.logical_id,
            physical_id=spec.arn,
            properties=spec.properties,
            old_properties=spec.properties,
        )
        deployment = Deployment(
            self.roles,
            self.machines,
            self.settings,
            request,
            props,
            plan,
            report_id=lambda _id: None,
            timed_out=lambda: False,
        )
        deployment.follow(spec.arn, spec.policy, fence=lease.fence)
        self.store.moved(spec, plan.revisions, plan.policy_for(spec.arn), lease.owner)
        for old, new in _changes(spec.revisions, plan.revisions):
            logger.info(
                "followed",
                extra={
                    "state_machine": spec.arn,
                    "family": _family(new or old),
                    "old_revision": old,
                    "new_revision": new,
                },
            )
        return "moved"


class Lease:
    """The follower's lease of one state machine: short, renewed while it works. `fence` is called
    before each write step: it lets the step start only with STEP_SECONDS of lease left (renewing
    it first if needed), and raises Busy once a deploy has claimed or taken the lease, so a
    follower that lost its lease never writes again."""

    def __init__(self, store: FollowStore, arn: str, owner: str, clock: Callable[[], float] = time.monotonic):
        self.store, self.arn, self.owner, self.clock = store, arn, owner, clock
        self.until = 0.0  # by `clock`: counted from before the request that took or renewed it
        self.held = False

    def take(self) -> Spec | None:
        started = self.clock()
        spec = self.store.acquire(self.arn, self.owner)
        self.held = True
        if spec is None:
            self.release()
        self.until = started + follow_store.FOLLOWER_LEASE_SECONDS
        return spec

    def fence(self) -> None:
        if self.until - self.clock() >= follow_store.STEP_SECONDS:
            return
        started = self.clock()
        try:
            self.store.renew(self.arn, self.owner)
        except Busy:
            self.held = False
            raise
        self.until = started + follow_store.FOLLOWER_LEASE_SECONDS

    def release(self) -> None:
        if self.held:
            self.held = False
            self.store.release(self.arn, self.owner)


def _changes(before: tuple[str, ...], after: tuple[str, ...]) -> list[tuple[str | None, str | None]]:
    """(old, new) revision ARN per family that changed."""
    old = {_family(arn): arn for arn in before}
    new = {_family(arn): arn for arn in after}
    return [(old.get(f), new.get(f)) for f in dict.fromkeys([*old, *new]) if old.get(f) != new.get(f)]
