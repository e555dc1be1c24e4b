"""What follows which task definition families (FollowRevisions), in the provider stack's DynamoDB
table (FOLLOW_TABLE), written only by the provider and its follower.

- One item per following state machine (pk "machine", sk its ARN): the stack and logical id of its
  resource, the properties CloudFormation last deployed it with (the follower plans from exactly
  those, so a later Update of the resource renders exactly what the follower rendered), the
  revisions it was last made from and the role policy that was written, all compressed.
- One item per followed family and state machine (pk "family#<family>", sk the ARN): an event for a
  family costs one Query, however many state machines the account has.
- A lease on the machine item (lease_owner, lease_expires): whoever writes a state machine and its
  role (a CloudFormation request, the follower) holds it, so the definition and the policy never end
  up from two different moves. A CloudFormation request never fails for a follower's lease: it marks
  the lease claimed (claimed_until), which stops the follower from renewing it, waits for it to
  expire (at most FOLLOWER_LEASE_SECONDS) and takes it. The follower starts a write only while its
  lease has STEP_SECONDS left, renewing it first when it has less, so once its lease has expired it
  writes nothing more. A CloudFormation request takes another request's lease at once: CloudFormation
  sends the next request of a resource only after the previous one was answered.
- One cursor item (pk "cursor", sk "sweep"): where the last sweep that ran out of time stopped.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..base.arn import state_machine_name
from ..base.aws import AwsError
from ..base.errors import ProviderError

if TYPE_CHECKING:
    from ..base.aws import Aws

MACHINE = "machine"
CURSOR = ("cursor", "sweep")
SWEEP_PAGE = 100  # ARNs a sweep reads at a time
LEASE_SECONDS = 330  # a CloudFormation request's: longer than the function may run (300 s)
FOLLOWER_LEASE_SECONDS = 120  # the follower's, renewed while it works
STEP_SECONDS = 90  # lease the follower must have left to start a write step (its calls stop retrying
# after FOLLOWER_RETRY_SECONDS; botocore's own 3 attempts of 15 s at most come on top)
FOLLOWER_RETRY_SECONDS = 10.0
CLOCK_SKEW_SECONDS = 2  # between two Lambda functions' clocks
ITEM_LIMIT = 350_000  # DynamoDB takes 400 KB per item; room is kept for the lease and the keys
LEASE_FREE = "attribute_not_exists(lease_owner) OR lease_expires < :now OR lease_owner = :me"
UNCLAIMED = "(attribute_not_exists(claimed_until) OR claimed_until < :now)"
GIVE_BACK = "REMOVE lease_owner, lease_expires"  # a claim stays: it outlives a follower's lease
FOLLOWER = "follower:"


class Busy(ProviderError):
    """Someone else is moving the state machine right now."""

    category = "busy"


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, and until when (epoch seconds)."""

    owner: str
    expires: int

    @property
    def is_follower(self) -> bool:
        return self.owner.startswith(FOLLOWER)


@dataclass(frozen=True)
class Spec:
    """A following state machine, as the provider last deployed it."""

    arn: str
    stack_id: str
    logical_id: str
    properties: dict[str, Any]
    families: tuple[str, ...]
    revisions: tuple[str, ...]
    policy: dict[str, Any]


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)


def _unpack(value: Any) -> Any:
    raw = value.value if hasattr(value, "value") else value  # boto3's Binary, or bytes
    return json.loads(zlib.decompress(bytes(raw)).decode())


def packed_size(properties: dict[str, Any], policy: dict[str, Any]) -> int:
    return len(_pack(properties)) + len(_pack(policy))


class FollowStore:
    def __init__(self, aws: Aws, table: str, clock: Any = time.time) -> None:
        self.aws = aws
        self.table = table
        self.clock = clock

    def _item(self, operation: str, action: str, key: tuple[str, str], **kwargs: Any) -> Any:
        """One call on the item `key` (partition, sort) of the table."""
        return self.aws.call("dynamodb", operation, action, TableName=self.table, Key=_key(*key), **kwargs)

    def _machine(self, operation: str, action: str, arn: str, **kwargs: Any) -> Any:
        """One call on `arn`'s machine item."""
        return self._item(operation, action, (MACHINE, arn), **kwargs)

    # ------------------------------------------------------------------ finding followers
    def followers(self, family: str) -> list[str]:
        """The state machines that follow `family` (one Query)."""
        return [arn for page in self._pages(f"family#{family}") for arn in page]

    def machine_pages(self, after: str | None) -> Iterator[list[str]]:
        """Every following state machine (the sweep), SWEEP_PAGE ARNs at a time, in ARN order from
        the one after `after` round to `after` itself: only keys are read, never properties."""
        filters: dict[str, Any] = {"FilterExpression": "attribute_exists(properties)", "Limit": SWEEP_PAGE}
        yield from self._pages(MACHINE, after=after, **filters)
        if after is not None:
            yield from self._pages(MACHINE, upto=after, **filters)

    def _pages(
        self, pk: str, *, after: str | None = None, upto: str | None = None, **filters: Any
    ) -> Iterator[list[str]]:
        """The sort keys (state machine ARNs) under `pk` (after `after`, up to `upto`), a page at a time."""
        condition = "pk = :pk AND sk <= :upto" if upto else "pk = :pk"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":upto": {"S": upto}} if upto else {})},
            "ProjectionExpression": "sk",
            **({"ExclusiveStartKey": _key(pk, after)} if after else {}),
            **filters,
        }
        while True:
            page = self.aws.call("dynamodb", "query", f"finding what follows {pk}", **kwargs)
            found = [item["sk"]["S"] for item in page.get("Items", [])]
            if found:
                yield found
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def cursor(self) -> str | None:
        """The last state machine a sweep that ran out of time reached (None: start at the first)."""
        item = self._item("get_item", "reading the sweep's cursor", CURSOR).get("Item")
        return str(item["resume_after"]["S"]) if item and "resume_after" in item else None

    def set_cursor(self, after: str | None) -> None:
        """Where the next sweep starts: after `after` (None: at the first state machine)."""
        if after is None:
            self._item("delete_item", "clearing the sweep's cursor", CURSOR)
            return
        self._item(
            "update_item",
            "moving the sweep's cursor",
            CURSOR,
            UpdateExpression="SET resume_after = :after",
            ExpressionAttributeValues={":after": {"S": after}},
        )

    # ------------------------------------------------------------------ the lease
    def acquire(self, arn: str, owner: str, *, taking: str | None = None) -> Spec | None:
        """Hold the lease of `arn`'s item; its spec (None: no item). A follower's lease is short and
        yields to a claim; `taking`: the holder whose lease this request takes over. Raises Busy if
        another holder's lease has not expired."""
        follower = owner.startswith(FOLLOWER)
        # A request counts a lease as expired only once it is, whatever the two clocks' skew.
        now = int(self.clock()) - (0 if follower else CLOCK_SKEW_SECONDS)
        free = f"({LEASE_FREE}{' OR lease_owner = :taken' if taking else ''})"
        condition = f"attribute_exists(sk) AND {free}{f' AND {UNCLAIMED}' if follower else ''}"
        values = {
            ":me": {"S": owner},
            ":now": {"N": str(now)},
            ":until": {
                "N": str(now + (FOLLOWER_LEASE_SECONDS if follower else CLOCK_SKEW_SECONDS + LEASE_SECONDS))
            },
            **({":taken": {"S": taking}} if taking else {}),
        }
        try:
            answer = self._machine(
                "update_item",
                f"taking the lease of {arn}",
                arn,
                UpdateExpression="SET lease_owner = :me, lease_expires = :until REMOVE claimed_until",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except AwsError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            if self._get(arn, "sk") is None:
                return None
            raise Busy(
                f"State machine {state_machine_name(arn)} is being moved by another request; try again."
            ) from None
        return _spec(arn, _plain(answer.get("Attributes", {})))

    def holder(self, arn: str) -> Holder | None:
        """Who holds `arn`'s lease now (None: nobody, or no item)."""
        item = self._get(arn, "lease_owner, lease_expires")
        if not item or "lease_owner" not in item:
            return None
        return Holder(str(item["lease_owner"]), int(item.get("lease_expires", 0)))

    def claim(self, arn: str, holder: Holder) -> bool:
        """Stop the follower `holder` from renewing its lease (so that it expires, and this request
        can take it); False if it no longer holds it."""
        try:
            self._machine(
                "update_item",
                f"claiming the lease of {arn}",
                arn,
                UpdateExpression="SET claimed_until = :until",
                ConditionExpression="lease_owner = :holder",
                ExpressionAttributeValues={
                    ":holder": {"S": holder.owner},
                    ":until": {"N": str(int(self.clock()) + FOLLOWER_LEASE_SECONDS + 60)},
                },
            )
        except AwsError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def renew(self, arn: str, owner: str) -> None:
        """Extend the follower `owner`'s lease; Busy if it lost it or a CloudFormation request claimed it."""
        now = int(self.clock())
        try:
            self._machine(
                "update_item",
                f"renewing the lease of {arn}",
                arn,
                UpdateExpression="SET lease_expires = :until",
                ConditionExpression=f"lease_owner = :me AND {UNCLAIMED}",
                ExpressionAttributeValues={
                    ":me": {"S": owner},
                    ":now": {"N": str(now)},
                    ":until": {"N": str(now + FOLLOWER_LEASE_SECONDS)},
                },
            )
        except AwsError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            raise Busy(f"A deploy took over state machine {state_machine_name(arn)}.") from None

    def release(self, arn: str, owner: str) -> None:
        """Give the lease back (if still held); never raises: it expires anyway."""
        with contextlib.suppress(AwsError):
            self._machine(
                "update_item",
                f"releasing the lease of {arn}",
                arn,
                UpdateExpression=GIVE_BACK,
                ConditionExpression="lease_owner = :me",
                ExpressionAttributeValues={":me": {"S": owner}},
            )

    def _get(self, arn: str, projection: str) -> dict[str, Any] | None:
        """The attributes `projection` names of `arn`'s item; None if it has none."""
        item = self._machine("get_item", f"reading {arn}", arn, ProjectionExpression=projection).get("Item")
        return _plain(item) if item else None

    # ------------------------------------------------------------------ writing
    def save(self, spec: Spec, owner: str, previous: tuple[str, ...] = ()) -> None:
        """Record `spec` (the lease given back in the same write), and index its families; `previous`:
        the families it followed before, whose index items it no longer needs are removed."""
        self._machine(
            "update_item",
            f"recording what {spec.arn} follows",
            spec.arn,
            UpdateExpression=(
                "SET stack_id = :stack, logical_id = :logical, properties = :properties, families = :families, "
                f"revisions = :revisions, policy = :policy {GIVE_BACK}"
            ),
            ConditionExpression=LEASE_FREE,
            ExpressionAttributeValues={
                ":stack": {"S": spec.stack_id},
                ":logical": {"S": spec.logical_id},
                ":properties": {"B": _pack(spec.properties)},
                ":families": {"S": json.dumps(list(spec.families))},
                ":revisions": {"S": json.dumps(list(spec.revisions))},
                ":policy": {"B": _pack(spec.policy)},
                ":me": {"S": owner},
                ":now": {"N": str(int(self.clock()))},
            },
        )
        added = [f for f in spec.families if f not in previous]
        removed = [f for f in previous if f not in spec.families]
        self._index(spec.arn, added, removed)

    def moved(self, spec: Spec, revisions: tuple[str, ...], policy: dict[str, Any], owner: str) -> None:
        """The follower moved `spec`'s state machine: record what it was made from, lease given back."""
        self._machine(
            "update_item",
            f"recording the move of {spec.arn}",
            spec.arn,
            UpdateExpression=f"SET revisions = :revisions, policy = :policy {GIVE_BACK}",
            ConditionExpression="lease_owner = :me",
            ExpressionAttributeValues={
                ":revisions": {"S": json.dumps(list(revisions))},
                ":policy": {"B": _pack(policy)},
                ":me": {"S": owner},
            },
        )

    def forget(self, arn: str) -> None:
        """`arn` follows nothing any more: its item and its index items go."""
        item = self._get(arn, "sk, families")
        if item is None:
            return
        families = json.loads(item.get("families") or "[]")
        self._index(arn, [], families)
        self._machine("delete_item", f"forgetting what {arn} follows", arn)

    def _index(self, arn: str, added: list[str], removed: list[str]) -> None:
        requests = [{"PutRequest": {"Item": _key(f"family#{f}", arn)}} for f in added] + [
            {"DeleteRequest": {"Key": _key(f"family#{f}", arn)}} for f in removed
        ]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table: requests[start : start + 25]}
            for _attempt in range(5):
                answer = self.aws.call(
                    "dynamodb",
                    "batch_write_item",
                    f"indexing the families {arn} follows",
                    RequestItems=pending,
                )
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                self.aws.pause(0.2)
            if pending:
                raise ProviderError("DynamoDB kept refusing the follower's index writes; deploy again.")


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attributes as plain values (S, N, B only: all this table holds)."""
    plain: dict[str, Any] = {}
    for name, typed in item.items():
        ((kind, value),) = typed.items()
        plain[name] = int(value) if kind == "N" else value
    return plain


def _spec(arn: str, item: dict[str, Any]) -> Spec | None:
    if "properties" not in item:
        return None
    return Spec(
        arn=arn,
        stack_id=str(item["stack_id"]),
        logical_id=str(item["logical_id"]),
        properties=_unpack(item["properties"]),
        families=tuple(json.loads(item["families"])),
        revisions=tuple(json.loads(item["revisions"])),
        policy=_unpack(item["policy"]),
    )
