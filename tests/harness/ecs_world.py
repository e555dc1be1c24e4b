"""The "existing" workload a Custom::EcsStateMachine points at, and what the provider leaves behind.

``build_world`` registers, in moto, what a team already has before adding the custom resource to a
stack: task and execution roles, a VPC (DNS hostnames on, which moto needs for awsvpc tasks) with two
subnets and a security group, the cluster ``hogefuga-cluster``, and the task family ``hogefuga`` with
two revisions of two containers (``hoge`` and ``fuga``; moto needs ``memory`` or
``memoryReservation`` on every container to run a task).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.aws_fixtures import ECS_TASKS_TRUST as _ECS_TASKS_TRUST
from tests.harness.cloudformation import load_event, substitute
from tests.harness.moto_server import MotoServer

PROVIDER_ROLE_PATH = "/ecs-state-machine/"
OWNER_TAG_STACK = "ecs-state-machine:stack-id"
OWNER_TAG_LOGICAL = "ecs-state-machine:logical-id"
FAMILY = "hogefuga"
CLUSTER = "hogefuga-cluster"
CONTAINERS = ("hoge", "fuga")


@dataclass
class World:
    moto: MotoServer
    cluster_arn: str
    vpc_id: str
    subnet_ids: list[str]
    security_group_ids: list[str]
    task_role_arn: str
    execution_role_arn: str
    revision_arns: list[str] = field(default_factory=list)

    cluster_name: str = CLUSTER
    family: str = FAMILY

    def register_revision(self, image_tag: str | None = None) -> str:
        """Register the next revision of the family (same containers, another image tag)."""
        tag = image_tag or f"v{len(self.revision_arns) + 1}"
        response = self.moto.client("ecs").register_task_definition(
            family=self.family,
            taskRoleArn=self.task_role_arn,
            executionRoleArn=self.execution_role_arn,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            containerDefinitions=[
                {
                    "name": "hoge",
                    "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/hoge:{tag}",
                    "essential": True,
                    "memory": 512,
                    "command": ["python", "-m", "hoge"],
                    "environment": [{"name": "STAGE", "value": "prod"}],
                },
                {
                    "name": "fuga",
                    "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/fuga:{tag}",
                    "essential": False,
                    "memoryReservation": 128,
                },
            ],
        )
        arn = response["taskDefinition"]["taskDefinitionArn"]
        self.revision_arns.append(arn)
        return arn

    def register_other_family(self, family: str, container: str, image_tag: str) -> str:
        """Register the next revision of another awsvpc/FARGATE ``family`` with one ``container``
        (same roles as ``hogefuga``); its ARN. Not recorded in ``revision_arns``."""
        response = self.moto.client("ecs").register_task_definition(
            family=family,
            taskRoleArn=self.task_role_arn,
            executionRoleArn=self.execution_role_arn,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": container,
                    "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{family}:{image_tag}",
                    "essential": True,
                    "memory": 512,
                    "command": ["python", "-m", family],
                }
            ],
        )
        return response["taskDefinition"]["taskDefinitionArn"]

    @property
    def latest_revision_arn(self) -> str:
        return self.revision_arns[-1]

    def replacements(self) -> dict[str, str]:
        """The example ids in ``events/*.json`` -> this world's real ids."""
        example = load_event("create")["ResourceProperties"]
        mapping = dict(zip(example["Subnets"], self.subnet_ids, strict=True))
        mapping.update(zip(example["SecurityGroups"], self.security_group_ids, strict=True))
        return mapping

    def properties(self, **overrides: Any) -> dict:
        """``events/create.json``'s ResourceProperties made valid here, without ServiceToken.

        ``overrides`` set or, with ``None``, remove properties.
        """
        properties = substitute(load_event("create")["ResourceProperties"], self.replacements())
        properties.pop("ServiceToken", None)
        for key, value in overrides.items():
            if value is None:
                properties.pop(key, None)
            else:
                properties[key] = value
        return properties


def build_world(moto: MotoServer) -> World:
    iam, ec2, ecs = moto.client("iam"), moto.client("ec2"), moto.client("ecs")
    task_role = iam.create_role(RoleName="hogefuga-task", AssumeRolePolicyDocument=_ECS_TASKS_TRUST)["Role"][
        "Arn"
    ]
    execution_role = iam.create_role(
        RoleName="hogefuga-execution", AssumeRolePolicyDocument=_ECS_TASKS_TRUST
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="hogefuga-execution",
        PolicyName="pull-and-log",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "ecr:GetAuthorizationToken",
                            "ecr:BatchGetImage",
                            "ecr:GetDownloadUrlForLayer",
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for index, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    security_group_id = ec2.create_security_group(
        GroupName="hogefuga-tasks", Description="hogefuga batch tasks", VpcId=vpc_id
    )["GroupId"]
    cluster_arn = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
    world = World(
        moto=moto,
        cluster_arn=cluster_arn,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        security_group_ids=[security_group_id],
        task_role_arn=task_role,
        execution_role_arn=execution_role,
    )
    world.register_revision("v1")
    world.register_revision("v2")
    return world


def provider_leftovers(moto: MotoServer) -> dict[str, list[str]]:
    """What the provider made and left: roles under its IAM path or carrying its ownership tag, and
    every state machine (the world itself has none)."""
    iam, sfn = moto.client("iam"), moto.client("stepfunctions")
    roles = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {tag["Key"] for tag in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
            if role["Path"].startswith(PROVIDER_ROLE_PATH) or OWNER_TAG_STACK in tags:
                roles.append(role["Arn"])
    state_machines = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
    ]
    return {"roles": roles, "state_machines": state_machines}
