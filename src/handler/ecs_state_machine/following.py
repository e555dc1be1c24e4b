"""FollowRevisions, on CloudFormation's side: what a Create, Update or Delete of a following resource
records for the follower, and the lease that keeps an Update and a follow from writing the same
state machine at once. Resources that do not follow cost no call here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import PropertyError
from .follow_store import ITEM_LIMIT, Busy, FollowStore, Spec, packed_size
from .log import child_logger
from .properties import CLOUDFORMATION_KEYS

if TYPE_CHECKING:
    from .aws import Aws
    from .model import Properties
    from .plan import Plan
    from .request import Request

logger = child_logger()

WAIT_SECONDS = 30  # how long an Update waits for a follow of the same state machine to finish


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
        """Hold `arn`'s lease for the request's writes when the resource follows (or followed).
        Waits for a follow in progress to finish, then fails with a Reason."""
        held = Held.of(req)
        if self.store is None or not involved:
            yield held
            return
        waited = 0.0
        while True:
            try:
                spec = self.store.acquire(arn, held.owner, create=True)
                break
            except Busy:
                if waited >= WAIT_SECONDS:
                    raise
                self.aws.pause(1.0)
                waited += 1.0
        held.families, held.leased = (spec.families if spec else ()), True
        try:
            yield held
        except BaseException:
            self.store.release(arn, held.owner)
            raise

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

    def forget(self, arn: str, involved: bool) -> None:
        if self.store is not None and involved:
            self.store.forget(arn)
