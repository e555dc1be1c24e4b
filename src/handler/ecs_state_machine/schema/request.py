"""One CloudFormation custom resource request, as the provider reads it from the event."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .properties import Previous
from .values import OWNERSHIP_TAG_PREFIX

OWNER_STACK = f"{OWNERSHIP_TAG_PREFIX}stack-id"
OWNER_LOGICAL = f"{OWNERSHIP_TAG_PREFIX}logical-id"


@dataclass(frozen=True)
class Request:
    request_type: str
    stack_id: str
    request_id: str
    logical_id: str
    physical_id: str = ""
    properties: Any = field(default_factory=dict)
    old_properties: Any = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        return cls(
            request_type=str(event.get("RequestType", "")),
            stack_id=str(event.get("StackId", "")),
            request_id=str(event.get("RequestId", "")),
            logical_id=str(event.get("LogicalResourceId", "")),
            physical_id=str(event.get("PhysicalResourceId", "") or ""),
            properties=event.get("ResourceProperties", {}),
            old_properties=event.get("OldResourceProperties", {}),
        )

    @cached_property
    def previous(self) -> Previous:
        """What an Update's old properties said (read once per request); nothing for the others."""
        return Previous.of(self.old_properties) if self.request_type == "Update" else Previous()

    @property
    def ownership(self) -> dict[str, str]:
        """The tags that mark what this resource owns (only CloudFormation-confirmed requests act)."""
        return {OWNER_STACK: self.stack_id, OWNER_LOGICAL: self.logical_id}

    def owns(self, tags: dict[str, str]) -> bool:
        return tags.get(OWNER_STACK) == self.stack_id and tags.get(OWNER_LOGICAL) == self.logical_id
