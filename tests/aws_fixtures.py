"""An "existing" ECS estate, the way a team's account looks before it adopts the provider:
a task family registered long ago (task and execution roles, one or two containers), a cluster,
and a VPC. Shared by the integration tests (moto in process) and the end-to-end harness."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"

ECS_TASKS_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Estate:
    family: str
    cluster_arn: str
    task_role_arn: str
    execution_role_arn: str
    subnets: list[str]
    security_groups: list[str]
    revisions: list[str] = field(default_factory=list)


def container(name: str, command: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "image": "public.ecr.aws/docker/library/python:3.13-slim",
        "memory": 512,
        "essential": True,
        "command": command or ["python", "-c", "print('hello')"],
    }


def register(
    ecs: Any,
    family: str,
    *,
    containers: tuple[str, ...] = ("app",),
    network_mode: str = "awsvpc",
    compatibilities: tuple[str, ...] = ("FARGATE",),
    task_role_arn: str | None = None,
    execution_role_arn: str | None = None,
) -> str:
    kwargs: dict[str, Any] = {
        "family": family,
        "containerDefinitions": [container(name) for name in containers],
        "networkMode": network_mode,
        "requiresCompatibilities": list(compatibilities),
        "cpu": "256",
        "memory": "512",
    }
    if task_role_arn:
        kwargs["taskRoleArn"] = task_role_arn
    if execution_role_arn:
        kwargs["executionRoleArn"] = execution_role_arn
    return str(ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"])


def build_estate(
    session: Any,
    family: str = "hogefuga",
    containers: tuple[str, ...] = ("hoge", "sidecar"),
    *,
    with_vpc: bool = True,
) -> Estate:
    """The estate; `with_vpc=False` skips EC2 (the provider never reads subnets, only ECS runs them)."""
    iam = session.client("iam")
    ecs = session.client("ecs")
    ec2 = session.client("ec2") if with_vpc else None
    roles = []
    for name in (f"{family}-task", f"{family}-execution"):
        try:
            roles.append(
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=ECS_TASKS_TRUST)["Role"]["Arn"]
            )
        except iam.exceptions.EntityAlreadyExistsException:
            roles.append(iam.get_role(RoleName=name)["Role"]["Arn"])
    cluster_arn = ecs.create_cluster(clusterName=f"{family}-cluster")["cluster"]["clusterArn"]
    if with_vpc:
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24")["Subnet"]["SubnetId"] for i in range(2)
        ]
        groups = [
            ec2.create_security_group(GroupName=f"{family}-tasks", Description="batch", VpcId=vpc)["GroupId"]
        ]
    else:
        subnets, groups = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"], ["sg-0e4f5a6b7c8d90001"]
    estate = Estate(family, cluster_arn, roles[0], roles[1], subnets, groups)
    estate.revisions.append(
        register(ecs, family, containers=containers, task_role_arn=roles[0], execution_role_arn=roles[1])
    )
    return estate
