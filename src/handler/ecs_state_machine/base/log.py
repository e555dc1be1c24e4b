"""The provider's structured log (Powertools Logger): one service name for every module."""

from __future__ import annotations

from aws_lambda_powertools import Logger

SERVICE = "ecs-state-machine"


def child_logger() -> Logger:
    return Logger(service=SERVICE, child=True)
