"""Amazon Resource Names: parsed in one place, built in one place, in whichever partition the
provider runs (aws, aws-cn, aws-us-gov, ...), never a hard-coded "aws"."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|aws|):"
    r"(?P<resource>.+)$"
)

# The forms a property may take, checked before anything is resolved.
TASK_DEFINITION = re.compile(
    r"^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):task-definition/([A-Za-z0-9_-]{1,255})(?::([1-9][0-9]{0,8}))?$"
)
CLUSTER = re.compile(r"^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster/([A-Za-z0-9_-]{1,255})$")
ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/((?:[\x21-\x7e]+/)*)?([\w+=,.@-]{1,64})$")
POLICY = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}|aws):policy/(?:[\x21-\x7e]+/)*[\w+=,.@-]{1,128}$")
LOG_GROUP = re.compile(r"^arn:(aws[a-z-]*):logs:([a-z0-9-]+):(\d{12}):log-group:([\w#/.-]{1,512})(?::\*)?$")
STACK = re.compile(
    r"^arn:(aws[a-z-]*):cloudformation:([a-z0-9-]+):(\d{12}):stack/([A-Za-z][A-Za-z0-9-]{0,127})/[\w-]{1,100}$"
)
STATE_MACHINE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str  # what follows the account: "role/path/name", "stateMachine:name", ...

    @classmethod
    def parse(cls, text: Any) -> Arn | None:
        match = _ARN.match(text) if isinstance(text, str) else None
        return cls(**match.groupdict()) if match else None

    @property
    def name(self) -> str:
        """The last part of the resource: a role's, cluster's or state machine's name."""
        return re.split(r"[:/]", self.resource)[-1]

    @property
    def path_and_name(self) -> str:
        """What follows the resource type: "path/name" of a role, "family:3" of a revision."""
        return re.split(r"[:/]", self.resource, maxsplit=1)[-1]

    @property
    def place(self) -> Place:
        return Place(self.partition, self.region, self.account)

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@dataclass(frozen=True)
class Place:
    """Where the provider acts: its partition, region and account."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if regional else ''}:{self.account}:{resource}"

    def state_machine_arn(self, name: str) -> str:
        return self.arn("states", f"stateMachine:{name}")

    def holds(self, arn: Arn | None, *, regional: bool = True) -> bool:
        """Whether `arn` is in this partition and account (and region, unless IAM's)."""
        return (
            arn is not None
            and (arn.partition, arn.account) == (self.partition, self.account)
            and (not regional or arn.region == self.region)
        )

    def state_machine_name(self, arn: str) -> str | None:
        """The name of `arn` if it is a state machine of this place (not a version or alias)."""
        parsed = Arn.parse(arn)
        if not self.holds(parsed) or parsed is None or parsed.service != "states":
            return None
        kind, _, name = parsed.resource.partition(":")
        return name if kind == "stateMachine" and STATE_MACHINE_NAME.match(name) else None


def state_machine_name(arn: str) -> str:
    """The name in a state machine ARN the provider made."""
    return arn.rsplit(":", 1)[-1]


def place_of(function_arn: Any, stack_id: Any) -> Place:
    """The account the function runs in (its own ARN), else the stack's; the region Lambda gives."""
    for text, service in ((function_arn, "lambda"), (stack_id, "cloudformation")):
        arn = Arn.parse(text)
        if arn is not None and arn.service == service and arn.account.isdigit():
            return Place(arn.partition, os.environ.get("AWS_REGION") or arn.region, arn.account)
    raise ValueError("cannot tell the account: neither the function ARN nor the StackId is an ARN")
