"""Lambda entry point of the follower (FollowRevisions): wiring only.

EventBridge invokes it with ECS's CloudTrail events for task definitions, and on a schedule for a
sweep; `Follower` does the work. Powertools Metrics (EMF, in the function's log) counts events,
sweeps, follows, failures and deferred follows (a state machine a deploy holds: no function error,
the deploy resolves the newest revisions itself and the next sweep moves what it did not).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ecs_state_machine import __version__
from ecs_state_machine.base.aws import Aws, Deadline, invoked_place
from ecs_state_machine.base.log import SERVICE
from ecs_state_machine.base.settings import Settings
from ecs_state_machine.following.follow_store import FOLLOWER_RETRY_SECONDS, FollowStore
from ecs_state_machine.following.follower import Follower

logger = Logger(service=SERVICE)
logger.append_keys(provider_version=__version__)
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EcsStateMachine", service=SERVICE
)


@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = Settings.from_environment(os.environ)
    if not settings.follow_table:
        logger.error("FOLLOW_TABLE is not set: the follower has nothing to follow")
        return {"ignored": True}
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    # Short retries: the follower's lease bounds how long a write may take (see follow_store).
    aws = Aws(Deadline(remaining), budget=FOLLOWER_RETRY_SECONDS)
    follower = Follower(
        aws,
        invoked_place(context, None, aws, sam_local=settings.sam_local),
        settings,
        FollowStore(aws, settings.follow_table),
        count=lambda name, value: metrics.add_metric(name=name, unit=MetricUnit.Count, value=value),
        request_id=str(getattr(context, "aws_request_id", "") or ""),
    )
    summary = follower.handle(event)
    logger.info("follower done", extra=summary)
    return summary
