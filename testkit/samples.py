"""Documents the tests share: a Definition with ECS task states at every depth."""

from __future__ import annotations

from typing import Any

NETWORK = {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0e4f5a6b"]}}


def run_task(family: str, container: str, *, suffix: str = ".sync", cluster: str = "batch") -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::ecs:runTask{suffix}",
        "Parameters": {
            "Cluster": cluster,
            "TaskDefinition": family,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": NETWORK,
            "Overrides": {"ContainerOverrides": [{"Name": container, "Command.$": "$.command"}]},
        },
        "TimeoutSeconds": 3600,
        "Retry": [
            {
                "ErrorEquals": ["States.TaskFailed"],
                "MaxAttempts": 2,
                "BackoffRate": 1.5,
                "IntervalSeconds": 10,
            }
        ],
    }


def three_task_workflow() -> dict[str, Any]:
    """migrate, then backfill beside a notification (Parallel), then a report per shard (Map)."""
    return {
        "Comment": "Nightly data pipeline",
        "StartAt": "Migrate",
        "States": {
            "Migrate": {**run_task("migrate", "app"), "Next": "Fanout"},
            "Fanout": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Backfill",
                        "States": {"Backfill": {**run_task("backfill", "worker"), "End": True}},
                    },
                    {"StartAt": "Notify", "States": {"Notify": {"Type": "Pass", "End": True}}},
                ],
                "Next": "PerShard",
            },
            "PerShard": {
                "Type": "Map",
                "ItemsPath": "$.shards",
                "MaxConcurrency": 4,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Report",
                    "States": {"Report": {**run_task("report", "app", suffix=""), "End": True}},
                },
                "End": True,
            },
        },
    }
