"""FollowRevisions, on CloudFormation's side: what a Create, Update or Delete of a following resource
records for the follower, and the lease that keeps a request and a follow from writing the same
state machine at once. A request never fails because of a follower: it claims the follower's lease
and takes it over once it has expired (see `follow_store`). Resources that do not follow cost no
call here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..base.errors import PropertyError
from ..base.log import child_logger
from ..schema.properties import CLOUDFORMATION_KEYS
from . import follow_store
from .follow_store import ITEM_LIMIT, Busy, FollowStore, Holder, Spec, packed_size

if TYPE_CHECKING:
    from ..base.aws import Aws
    from ..planning.plan import Plan
    from ..schema.model import Properties
    from ..schema.request import Request

logger = child_logger()

TAKEOVER_MARGIN_SECONDS = 10  # waited, at most, beyond a claimed follower's lease and the clock skew


@dataclass
class Held:
    """A request's hold on a state machine's record: who it is, and what it followed before."""

    owner: str
    families: tuple[str, ...] = ()
    leased: bool = False

    @classmethod
    def of(cls, req: Request) -> Held:
        return cls(f"cloudformation:{req.request_id}")


def kept_properties(raw: Any) -> dict[str, Any]:
    """The properties the follower plans from: what CloudFormation sent, without its own keys."""
    return {k: v for k, v in dict(raw).items() if k not in CLOUDFORMATION_KEYS}


class Following:
    def __init__(self, aws: Aws, table: str | None) -> None:
        self.aws = aws
        self.store = FollowStore(aws, table) if table else None

    def check(self, props: Properties, plan: Plan, raw: Any, arn: str) -> None:
        """Before anything is written: what the follower would keep must fit one DynamoDB item."""
        if not props.follow_revisions:
            return
        size = packed_size(kept_properties(raw), plan.policy_for(arn))
        if size > ITEM_LIMIT:
            raise PropertyError(
                "FollowRevisions",
                True,
                f"would keep {size} bytes (compressed) of properties and policy, over the {ITEM_LIMIT} one record holds",
                "Remove FollowRevisions, or shorten the Definition.",
            )

    @contextmanager
    def lease(self, req: Request, arn: str, involved: bool) -> Iterator[Held]:
        """Hold `arn`'s lease for the request's writes when the resource follows (or followed),
        taking it over from a follower (after its lease expired) or from an earlier request. With no
        record there is nothing to hold: no follower knows of the state machine yet."""
        held = Held.of(req)
        if self.store is None or not involved:
            yield held
            return
        spec = self._take(arn, held.owner)
        held.families, held.leased = (spec.families if spec else ()), True
        try:
            yield held
        except BaseException:
            self.store.release(arn, held.owner)
            raise

    def _take(self, arn: str, owner: str) -> Spec | None:
        """The lease of `arn`: free, an earlier request's (taken at once: CloudFormation sends a
        resource's next request only once the previous one was answered), or a follower's (claimed,
        so the follower stops renewing it and writes nothing more, then taken once it expires)."""
        assert self.store is not None
        taking: str | None = None
        claimed: Holder | None = None
        waited = 0.0
        most = (
            follow_store.FOLLOWER_LEASE_SECONDS
            + 2 * follow_store.CLOCK_SKEW_SECONDS
            + TAKEOVER_MARGIN_SECONDS
        )
        while True:
            try:
                return self.store.acquire(arn, owner, taking=taking)
            except Busy:
                holder = self.store.holder(arn)
                if waited > most:
                    raise
                if holder is not None and not holder.is_follower:
                    taking = holder.owner
                    waited += 1.0  # bounded, should two requests ever contend
                    continue
                if holder is not None and holder != claimed:
                    if claimed is None:
                        logger.info("waiting for the follower's lease", extra={"state_machine": arn})
                    claimed = holder if self.store.claim(arn, holder) else None
                left = (
                    (holder.expires if holder else 0)
                    + follow_store.CLOCK_SKEW_SECONDS
                    + 1
                    - self.store.clock()
                )
                pause = min(5.0, max(0.5, left))
                self.aws.pause(pause)
                waited += pause

    def record(
        self, req: Request, props: Properties, plan: Plan, arn: str, held: Held, previous_arn: str | None
    ) -> None:
        """After a successful Create or Update: what `arn` follows now (the lease given back), or,
        if it no longer follows, nothing; `previous_arn`'s record when the Update replaced it."""
        if self.store is None or not (props.follow_revisions or held.leased):
            return
        if held.leased and previous_arn and previous_arn != arn:
            self.store.release(previous_arn, held.owner)  # its own Delete forgets it
        if not props.follow_revisions:
            if previous_arn == arn:
                self.store.forget(arn)
            return
        spec = Spec(
            arn=arn,
            stack_id=req.stack_id,
            logical_id=req.logical_id,
            properties=kept_properties(req.properties),
            families=plan.families,
            revisions=plan.revisions,
            policy=plan.policy_for(arn),
        )
        self.store.save(spec, held.owner, held.families if previous_arn == arn else ())
        logger.info("following", extra={"state_machine": arn, "families": list(plan.families)})

    def forget(self, arn: str, held: Held) -> None:
        """A Delete, holding the lease: what `arn` followed goes (its lease with it)."""
        if self.store is not None and held.leased:
            self.store.forget(arn)
