"""The unit a role policy is built from: what one ECS task state needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskGrant:
    """What one ECS task state needs: the unit the role policy is built from."""

    pattern: str
    cluster_arn: str
    run_task_resources: tuple[str, ...]  # revision ARNs, or family:* when chosen at run time
    pass_roles: tuple[str, ...]
    propagate_tags: bool
