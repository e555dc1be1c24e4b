"""The "existing" ECS estate a Custom::EcsStateMachine points at, the way a team's account looks
before it adopts the provider, and what the provider leaves behind.

`build_estate(aws)` registers, in moto (in process or a moto server: anything with `.client(name)`,
a boto3 Session or a `MotoServer`), task and execution roles, optionally a VPC (DNS hostnames on,
which moto needs for awsvpc tasks) with two subnets and a security group, the cluster
``hogefuga-cluster`` (with the FARGATE and FARGATE_SPOT capacity providers), and revisions of the task family ``hogefuga`` with the containers ``hoge`` and
``fuga`` (moto needs ``memory`` or ``memoryReservation`` on every container to run a task).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit.moto_server import ACCOUNT_ID, REGION

ACCOUNT = ACCOUNT_ID
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
PROVIDER_ROLE_PATH = "/ecs-state-machine/"
OWNER_TAG_STACK = "ecs-state-machine:stack-id"
OWNER_TAG_LOGICAL = "ecs-state-machine:logical-id"
FAMILY = "hogefuga"
FOLLOW_TABLE = "ecs-state-machine-follow"  # the provider stack's FollowTable (FOLLOW_TABLE)
CLUSTER = "hogefuga-cluster"
CONTAINERS = ("hoge", "fuga")
# Associated with the cluster, as CDK's enableFargateCapacityProviders does.
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

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
PULL_AND_LOG = json.dumps(
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
)


def load_event(name: str) -> dict[str, Any]:
    """``events/<name>.json`` (``create``, ``update`` or ``delete``): real CloudFormation requests."""
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return loaded


def substitute(value: Any, replacements: dict[str, str]) -> Any:
    """``value`` with every string equal to a key of ``replacements`` replaced, recursively."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, list):
        return [substitute(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, replacements) for key, item in value.items()}
    return value


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
    size: tuple[str, str] = ("256", "512"),
    runtime_platform: dict[str, str] | None = None,
) -> str:
    """Register a revision of any family (task `size`: CPU units and MiB); its ARN."""
    kwargs: dict[str, Any] = {
        "family": family,
        "containerDefinitions": [container(name) for name in containers],
        "networkMode": network_mode,
        "requiresCompatibilities": list(compatibilities),
        "cpu": size[0],
        "memory": size[1],
    }
    if runtime_platform:
        kwargs["runtimePlatform"] = runtime_platform
    if task_role_arn:
        kwargs["taskRoleArn"] = task_role_arn
    if execution_role_arn:
        kwargs["executionRoleArn"] = execution_role_arn
    return str(ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"])


@dataclass
class Estate:
    aws: Any  # anything with .client(service)
    cluster_arn: str
    task_role_arn: str
    execution_role_arn: str
    subnets: list[str]
    security_groups: list[str]
    vpc_id: str | None = None
    revisions: list[str] = field(default_factory=list)
    family: str = FAMILY
    cluster_name: str = CLUSTER

    def register_revision(self, image_tag: str | None = None) -> str:
        """Register the next revision of the family (same containers, another image tag)."""
        tag = image_tag or f"v{len(self.revisions) + 1}"
        response = self.aws.client("ecs").register_task_definition(
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
                    "image": f"{IMAGE}/hoge:{tag}",
                    "essential": True,
                    "memory": 512,
                    "command": ["python", "-m", "hoge"],
                    "environment": [{"name": "STAGE", "value": "prod"}],
                },
                {
                    "name": "fuga",
                    "image": f"{IMAGE}/fuga:{tag}",
                    "essential": False,
                    "memoryReservation": 128,
                },
            ],
        )
        arn = str(response["taskDefinition"]["taskDefinitionArn"])
        self.revisions.append(arn)
        return arn

    def register_other_family(self, family: str, container_name: str, image_tag: str) -> str:
        """The next revision of another awsvpc/FARGATE ``family`` with one container (same roles as
        ``hogefuga``); its ARN. Not recorded in ``revisions``."""
        response = self.aws.client("ecs").register_task_definition(
            family=family,
            taskRoleArn=self.task_role_arn,
            executionRoleArn=self.execution_role_arn,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": container_name,
                    "image": f"{IMAGE}/{family}:{image_tag}",
                    "essential": True,
                    "memory": 512,
                    "command": ["python", "-m", family],
                }
            ],
        )
        return str(response["taskDefinition"]["taskDefinitionArn"])

    @property
    def latest_revision_arn(self) -> str:
        return self.revisions[-1]

    def replacements(self) -> dict[str, str]:
        """The example ids in ``events/*.json`` -> this estate's real ids."""
        example = load_event("create")["ResourceProperties"]
        mapping = dict(zip(example["Subnets"], self.subnets, strict=True))
        mapping.update(zip(example["SecurityGroups"], self.security_groups, strict=True))
        return mapping

    def properties(self, **overrides: Any) -> dict[str, Any]:
        """``events/create.json``'s ResourceProperties made valid here, without ServiceToken.
        ``overrides`` set or, with ``None``, remove properties."""
        properties: dict[str, Any] = substitute(
            load_event("create")["ResourceProperties"], self.replacements()
        )
        properties.pop("ServiceToken", None)
        for key, value in overrides.items():
            if value is None:
                properties.pop(key, None)
            else:
                properties[key] = value
        return properties


# The ids events/*.json name, and short ones tests write by hand (a third subnet and a second
# security group of the same VPC).
EXAMPLE_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
EXAMPLE_SECURITY_GROUPS = ["sg-0e4f5a6b7c8d90001"]
HAND_WRITTEN = ("subnet-0a1b2c3d", "sg-0e4f5a6b")


def _network(aws: Any, example_ids: bool = False) -> tuple[str, list[str], list[str]]:
    from testkit.moto_patches import chosen_ids

    ec2 = aws.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    chosen = chosen_ids(
        [*EXAMPLE_SUBNETS, HAND_WRITTEN[0]] if example_ids else [],
        [*EXAMPLE_SECURITY_GROUPS, HAND_WRITTEN[1]] if example_ids else [],
    )
    with chosen:
        subnets = [
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=zone)["Subnet"][
                "SubnetId"
            ]
            for index, zone in ((1, f"{REGION}a"), (2, f"{REGION}b"))
        ]
        group = ec2.create_security_group(
            GroupName="hogefuga-tasks", Description="hogefuga batch tasks", VpcId=vpc_id
        )
        if example_ids:
            ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.3.0/24", AvailabilityZone=f"{REGION}c")
            ec2.create_security_group(GroupName="hand-written", Description="tests", VpcId=vpc_id)
    return vpc_id, subnets, [group["GroupId"]]


def _role(iam: Any, name: str) -> str:
    try:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=ECS_TASKS_TRUST)["Role"]["Arn"])
    except iam.exceptions.EntityAlreadyExistsException:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


@functools.cache
def _declared_follow_table() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, problems = decode_str((Path(__file__).resolve().parents[1] / "template.yaml").read_text())
    assert not problems, problems
    return dict(template["Resources"]["FollowTable"]["Properties"])


def create_follow_table(aws: Any) -> None:
    """The provider stack's FollowTable, keyed as template.yaml declares it."""
    declared = _declared_follow_table()
    aws.client("dynamodb").create_table(
        TableName=FOLLOW_TABLE,
        KeySchema=[dict(k) for k in declared["KeySchema"]],
        AttributeDefinitions=[dict(a) for a in declared["AttributeDefinitions"]],
        BillingMode=str(declared["BillingMode"]),
    )


def build_estate(aws: Any, *, revisions: int = 2, vpc: bool = True) -> Estate:
    """The estate with `revisions` revisions of ``hogefuga``. Without `vpc` the subnets and the
    security group take the example ids of ``events/*.json`` (moto in process only: the ids are
    chosen through ``testkit.moto_patches.chosen_ids``); with it, moto's random ids."""
    iam = aws.client("iam")
    task_role, execution_role = _role(iam, f"{FAMILY}-task"), _role(iam, f"{FAMILY}-execution")
    iam.put_role_policy(
        RoleName=f"{FAMILY}-execution", PolicyName="pull-and-log", PolicyDocument=PULL_AND_LOG
    )
    vpc_id, subnets, groups = _network(aws, example_ids=not vpc)
    create_follow_table(aws)
    cluster_arn = aws.client("ecs").create_cluster(
        clusterName=CLUSTER, capacityProviders=list(CAPACITY_PROVIDERS)
    )["cluster"]["clusterArn"]
    estate = Estate(aws, cluster_arn, task_role, execution_role, subnets, groups, vpc_id)
    for index in range(revisions):
        estate.register_revision(f"v{index + 1}")
    return estate


def provider_leftovers(aws: Any) -> dict[str, list[str]]:
    """What the provider made and left: roles under its IAM path or carrying its ownership tag, and
    every state machine that is not being deleted (the estate itself has none)."""
    iam, sfn = aws.client("iam"), aws.client("stepfunctions")
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
        if sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"]).get("status") != "DELETING"
    ]
    return {"roles": roles, "state_machines": state_machines}
