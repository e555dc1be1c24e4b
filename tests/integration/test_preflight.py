"""What RunTask would refuse at the first run is refused at deploy time, through the real handler on
moto, in both modes: on Create (nothing made), on Update (the running state machine unchanged) and
on a follow (nothing changed, the same Reason logged). Each misconfiguration has its nearest valid
neighbour beside it, which still deploys: no check refuses what AWS accepts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from testkit import cloudtrail
from testkit.account import Account
from testkit.estate import register
from tests.integration.test_follow import follow, reasons

NOWHERE_SUBNET = "subnet-0123456789abcdef0"
NOWHERE_GROUP = "sg-0123456789abcdef0"
ARM = {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
WINDOWS = {"cpuArchitecture": "X86_64", "operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}


@dataclass
class World:
    """The estate, with what the cases point at beside it: a second VPC, families of other
    platforms, sizes and roles, and clusters with other capacity providers."""

    account: Account
    other_subnet: str = ""
    other_group: str = ""
    families: dict[str, str] = field(default_factory=dict)

    @property
    def estate(self) -> Any:
        return self.account.estate


@pytest.fixture
def world(account: Account) -> World:
    return build_world(account)


def build_world(account: Account) -> World:
    ec2, ecs = account.session.client("ec2"), account.session.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    built = World(
        account,
        other_subnet=ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"],
        other_group=ec2.create_security_group(GroupName="other", Description="other", VpcId=vpc)["GroupId"],
    )
    estate = account.estate
    roles = {"task_role_arn": estate.task_role_arn, "execution_role_arn": estate.execution_role_arn}
    register(ecs, "arm", runtime_platform=ARM, **roles)
    register(ecs, "windows", runtime_platform=WINDOWS, size=("1024", "2048"), **roles)
    register(ecs, "onlyec2", compatibilities=("EC2",), **roles)
    register(ecs, "roleless", execution_role_arn=estate.execution_role_arn)
    register(ecs, "bridged", compatibilities=("EC2",), network_mode="bridge", **roles)
    ecs.create_cluster(clusterName="bare")
    ecs.create_cluster(clusterName="mixed", capacityProviders=["FARGATE", "batch-asg"])
    return built


@dataclass(frozen=True)
class Case:
    """One misconfiguration: the RunTask options that break it and those of its valid neighbour,
    written once as TaskDefinition mode's properties and once as a state's Parameters."""

    single: Callable[[World], dict[str, Any]]
    state: Callable[[World], dict[str, Any]]
    reason: str  # the Reason's start, after the property (TaskDefinition mode's name, or the state's path)
    problem: str  # a phrase of the problem
    fine_single: Callable[[World], dict[str, Any]]
    fine_state: Callable[[World], dict[str, Any]]
    state_reason: str | None = None  # the Reason's start in a Definition, when not the same key's


def network(subnets: list[str], groups: list[str] | None = None, public: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"Subnets": subnets}
    if groups is not None:
        config["SecurityGroups"] = groups
    if public is not None:
        config["AssignPublicIp"] = public
    return {"NetworkConfiguration": {"AwsvpcConfiguration": config}}


def spot(*names: str) -> list[dict[str, str]]:
    return [{"CapacityProvider": name} for name in names]


def strategy(*names: str, family: str | None = None, **more: Any) -> dict[str, Any]:
    """Options with a capacity provider strategy instead of a launch type (both modes)."""
    return {
        "CapacityProviderStrategy": spot(*names),
        **({"TaskDefinition": family} if family else {}),
        **more,
    }


CASES: dict[str, Case] = {
    "subnet that does not exist": Case(
        lambda w: {"Subnets": [NOWHERE_SUBNET]},
        lambda w: network([NOWHERE_SUBNET]),
        f"Subnets '{NOWHERE_SUBNET}'",
        "no such subnet in this account and region",
        lambda w: {"Subnets": [w.estate.subnets[1]]},
        lambda w: network([w.estate.subnets[1]]),
    ),
    "security group that does not exist": Case(
        lambda w: {"SecurityGroups": [NOWHERE_GROUP]},
        lambda w: network(w.estate.subnets, [NOWHERE_GROUP]),
        f"SecurityGroups '{NOWHERE_GROUP}'",
        "no such security group",
        lambda w: {"SecurityGroups": w.estate.security_groups},
        lambda w: network(w.estate.subnets, w.estate.security_groups),
    ),
    "subnets of two VPCs": Case(
        lambda w: {"Subnets": [w.estate.subnets[0], w.other_subnet], "SecurityGroups": None},
        lambda w: network([w.estate.subnets[0], w.other_subnet]),
        "Subnets '[",
        "are in 2 VPCs",
        lambda w: {"Subnets": [w.other_subnet], "SecurityGroups": None},
        lambda w: network([w.other_subnet]),
    ),
    "security group of another VPC": Case(
        lambda w: {"SecurityGroups": [w.other_group]},
        lambda w: network(w.estate.subnets, [w.other_group]),
        "SecurityGroups 'sg-",
        "and the subnets in vpc-",
        lambda w: {"Subnets": [w.other_subnet], "SecurityGroups": [w.other_group]},
        lambda w: network([w.other_subnet], [w.other_group]),
    ),
    "network configuration for a bridge revision": Case(
        lambda w: {"TaskDefinition": "bridged", "LaunchType": "EC2"},
        lambda w: {"TaskDefinition": "bridged", "LaunchType": "EC2"},
        "Subnets '[",
        "to awsvpc tasks, and bridged:1 uses network mode bridge",
        lambda w: {"TaskDefinition": "bridged", "LaunchType": "EC2", "Subnets": None, "SecurityGroups": None},
        lambda w: {"TaskDefinition": "bridged", "LaunchType": "EC2", "NetworkConfiguration": None},
        state_reason="Definition.States.Run.Parameters.NetworkConfiguration: applies only",
    ),
    "public IP on EC2": Case(
        lambda w: {"LaunchType": "EC2", "AssignPublicIp": "true"},
        lambda w: {"LaunchType": "EC2", **network(w.estate.subnets, public="ENABLED")},
        "AssignPublicIp '",
        "only Fargate tasks get public IPs",
        lambda w: {"LaunchType": "FARGATE", "AssignPublicIp": "true"},
        lambda w: {"LaunchType": "FARGATE", **network(w.estate.subnets, public="ENABLED")},
    ),
    "capacity provider the cluster lacks": Case(
        lambda w: {"Cluster": "bare", **strategy("FARGATE"), "LaunchType": None},
        lambda w: {"Cluster": "bare", **strategy("FARGATE"), "LaunchType": None},
        "CapacityProviderStrategy[0].CapacityProvider 'FARGATE'",
        "is not associated with cluster bare (it has none)",
        lambda w: {**strategy("FARGATE"), "LaunchType": None},
        lambda w: {**strategy("FARGATE"), "LaunchType": None},
    ),
    "Fargate mixed with an Auto Scaling group provider": Case(
        lambda w: {"Cluster": "mixed", **strategy("FARGATE", "batch-asg"), "LaunchType": None},
        lambda w: {"Cluster": "mixed", **strategy("FARGATE", "batch-asg"), "LaunchType": None},
        "CapacityProviderStrategy '[",
        "mixes Fargate and Auto Scaling group providers",
        lambda w: {"Cluster": "mixed", **strategy("batch-asg"), "LaunchType": None},
        lambda w: {"Cluster": "mixed", **strategy("batch-asg"), "LaunchType": None},
    ),
    "Fargate Spot for ARM64": Case(
        lambda w: {**strategy("FARGATE_SPOT", family="arm"), "LaunchType": None},
        lambda w: {**strategy("FARGATE_SPOT", family="arm"), "LaunchType": None},
        "CapacityProviderStrategy[0].CapacityProvider 'FARGATE_SPOT'",
        "Fargate Spot runs Linux X86_64 only",
        lambda w: {**strategy("FARGATE", family="arm"), "LaunchType": None},
        lambda w: {**strategy("FARGATE", family="arm"), "LaunchType": None},
    ),
    "Fargate Spot for Windows": Case(
        lambda w: {**strategy("FARGATE_SPOT", family="windows"), "LaunchType": None},
        lambda w: {**strategy("FARGATE_SPOT", family="windows"), "LaunchType": None},
        "CapacityProviderStrategy[0].CapacityProvider 'FARGATE_SPOT'",
        "(WINDOWS_SERVER_2022_CORE/X86_64)",
        lambda w: {**strategy("FARGATE", family="windows"), "LaunchType": None},
        lambda w: {**strategy("FARGATE", family="windows"), "LaunchType": None},
    ),
    "Fargate Spot below platform 1.3.0": Case(
        lambda w: {**strategy("FARGATE_SPOT", PlatformVersion="1.2.0"), "LaunchType": None},
        lambda w: {**strategy("FARGATE_SPOT", PlatformVersion="1.2.0"), "LaunchType": None},
        "PlatformVersion '1.2.0'",
        "is below 1.3.0",
        lambda w: {**strategy("FARGATE_SPOT", PlatformVersion="1.3.0"), "LaunchType": None},
        lambda w: {**strategy("FARGATE_SPOT", PlatformVersion="1.3.0"), "LaunchType": None},
    ),
    "Fargate strategy for an EC2-only revision": Case(
        lambda w: {**strategy("FARGATE", family="onlyec2"), "LaunchType": None},
        lambda w: {**strategy("FARGATE", family="onlyec2"), "LaunchType": None},
        "CapacityProviderStrategy '[",
        "is not FARGATE-compatible",
        lambda w: {"TaskDefinition": "onlyec2", "LaunchType": "EC2"},
        lambda w: {"TaskDefinition": "onlyec2", "LaunchType": "EC2"},
    ),
    "task size Fargate does not offer": Case(
        lambda w: {"Cpu": "256", "Memory": "4096"},
        lambda w: {"Overrides": {"Cpu": "256", "Memory": "4096"}},
        "Memory '4096'",
        "256 CPU takes 512, 1024 or 2048 MiB",
        lambda w: {"Cpu": "256", "Memory": "2048"},
        lambda w: {"Overrides": {"Cpu": "256", "Memory": "2048"}},
    ),
    "Windows task size Fargate does not offer": Case(
        lambda w: {"TaskDefinition": "windows", "Cpu": "512", "Memory": "1024"},
        lambda w: {"TaskDefinition": "windows", "Overrides": {"Cpu": "512", "Memory": "1024"}},
        "Memory '1024'",
        "512 CPU is no Fargate size for WINDOWS_SERVER_2022_CORE",
        lambda w: {"TaskDefinition": "windows", "Cpu": "1024", "Memory": "3072"},
        lambda w: {"TaskDefinition": "windows", "Overrides": {"Cpu": "1024", "Memory": "3072"}},
    ),
    "8 vCPU below platform 1.4.0": Case(
        lambda w: {"Cpu": "8 vCPU", "Memory": "16 GB", "PlatformVersion": "1.3.0"},
        lambda w: {"Overrides": {"Cpu": "8192", "Memory": "16384"}, "PlatformVersion": "1.3.0"},
        "PlatformVersion '1.3.0'",
        "which 8 vCPU tasks need on Fargate",
        lambda w: {"Cpu": "8 vCPU", "Memory": "16 GB", "PlatformVersion": "1.4.0"},
        lambda w: {"Overrides": {"Cpu": "8192", "Memory": "16384"}, "PlatformVersion": "1.4.0"},
    ),
    "ECS Exec without a task role": Case(
        lambda w: {"TaskDefinition": "roleless", "EnableExecuteCommand": "true"},
        lambda w: {"TaskDefinition": "roleless", "EnableExecuteCommand": True},
        "EnableExecuteCommand 'true'",
        "needs a task role, and roleless:1 has none",
        lambda w: {"TaskDefinition": "arm", "EnableExecuteCommand": "true"},
        lambda w: {"TaskDefinition": "arm", "EnableExecuteCommand": True},
    ),
}
OTHER_FAMILIES = ("arm", "windows", "onlyec2", "roleless", "bridged")


def single_props(world: World, options: dict[str, Any]) -> dict[str, Any]:
    props = dict(world.account.props)
    if options.get("TaskDefinition") in OTHER_FAMILIES:
        props["ContainerName"] = "app"
    for key, value in options.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def state_props(world: World, options: dict[str, Any]) -> dict[str, Any]:
    estate = world.estate
    family = options.get("TaskDefinition", estate.family)
    parameters: dict[str, Any] = {
        "Cluster": estate.cluster_name,
        "TaskDefinition": family,
        "LaunchType": "FARGATE",
        **network(estate.subnets, estate.security_groups),
        "Overrides": {},
    }
    for key, value in options.items():
        if value is None:
            parameters.pop(key, None)
        else:
            parameters[key] = value
    container = "app" if family in OTHER_FAMILIES else "hoge"
    parameters["Overrides"] = {
        **parameters["Overrides"],
        "ContainerOverrides": [{"Name": container, "Command.$": "$.command"}],
    }
    run = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": parameters,
        "End": True,
    }
    return {"Definition": {"StartAt": "Run", "States": {"Run": run}}}


STATE_PATH = "Definition.States.Run.Parameters."
RUN_TASK_KEYS = {
    "Subnets": "NetworkConfiguration.AwsvpcConfiguration.Subnets",
    "SecurityGroups": "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups",
    "AssignPublicIp": "NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
    "Memory": "Overrides.Memory",
}


def expected(case: Case, mode: str) -> str:
    if mode == "single":
        return case.reason.replace("AssignPublicIp '", "AssignPublicIp 'true'")
    if case.state_reason:
        return case.state_reason
    prop, _, rest = case.reason.partition(" ")
    head = prop.split("[")[0]
    reason = STATE_PATH + RUN_TASK_KEYS.get(head, head) + prop[len(head) :] + " " + rest
    return reason.replace("AssignPublicIp '", "AssignPublicIp 'ENABLED'")


def options(world: World, case: Case, mode: str, *, fine: bool = False) -> dict[str, Any]:
    if mode == "single":
        return single_props(world, (case.fine_single if fine else case.single)(world))
    return state_props(world, (case.fine_state if fine else case.state)(world))


def assert_refused(answer: dict[str, Any], case: Case, mode: str) -> None:
    assert answer["Status"] == "FAILED", answer
    reason = str(answer["Reason"])
    assert reason.startswith(expected(case, mode)) and case.problem in reason, reason
    assert len(reason) < 256


MODES = ("single", "definition")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_a_create_that_ecs_would_refuse_fails_and_leaves_nothing(world, name, mode):
    account = world.account
    answer = account.player("refused").create(options(world, CASES[name], mode))
    assert_refused(answer, CASES[name], mode)
    assert account.leftovers() == ([], [])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_its_nearest_valid_neighbour_deploys(world, name, mode):
    answer = world.account.player("fine").create(options(world, CASES[name], mode, fine=True))
    assert answer["Status"] == "SUCCESS", answer


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_an_update_that_ecs_would_refuse_fails_and_the_running_state_machine_stays(world, name, mode):
    account = world.account
    cfn = account.player("running")
    running = options(world, CASES[name], mode, fine=True)
    created = cfn.create(running)
    assert created["Status"] == "SUCCESS", created
    before = account.everything()
    answer = cfn.update(created["PhysicalResourceId"], options(world, CASES[name], mode), running)
    assert_refused(answer, CASES[name], mode)
    assert account.everything() == before


# A follow re-plans with the same properties and the family's new revision: what the revision
# brings (its platform, size and roles) and what changed in the account since the deploy.
FOLLOWS = {
    "a revision that switches to ARM64 under Fargate Spot": (
        {**strategy("FARGATE_SPOT"), "LaunchType": None},
        {"runtime_platform": ARM},
        "CapacityProviderStrategy[0].CapacityProvider 'FARGATE_SPOT'",
        "Fargate Spot runs Linux X86_64 only",
    ),
    "a revision without the task role that ECS Exec needs": (
        {"EnableExecuteCommand": "true"},
        {"task_role_arn": None},
        "EnableExecuteCommand 'true'",
        "needs a task role",
    ),
    "a revision of a size Fargate does not offer with the task's CPU": (
        {"Cpu": "256"},
        {"size": ("512", "4096")},
        "Cpu '256'",
        "256 CPU and 4096 MiB is no Fargate size",
    ),
}


def follow_state(options: dict[str, Any]) -> dict[str, Any]:
    """TaskDefinition mode's options as a state's Parameters."""
    keyed = {k: v for k, v in options.items() if k not in ("Cpu", "EnableExecuteCommand")}
    if "Cpu" in options:
        keyed["Overrides"] = {"Cpu": options["Cpu"]}
    if "EnableExecuteCommand" in options:
        keyed["EnableExecuteCommand"] = True
    return keyed


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FOLLOWS)
def test_a_follow_to_a_revision_ecs_would_refuse_changes_nothing_and_logs_why(world, name, mode, caplog):
    account, estate = world.account, world.estate
    given, revision, reason, problem = FOLLOWS[name]
    props = single_props(world, given) if mode == "single" else state_props(world, follow_state(given))
    created = account.player("following").create({**props, "FollowRevisions": "true"})
    assert created["Status"] == "SUCCESS", created
    before = account.everything()
    roles = {
        "task_role_arn": estate.task_role_arn,
        "execution_role_arn": estate.execution_role_arn,
        **revision,
    }
    arn = register(account.session.client("ecs"), estate.family, containers=("hoge", "fuga"), **roles)
    assert follow(cloudtrail.registered(arn))["failed"] == 1
    assert account.everything() == before
    logged = reasons(caplog)
    if mode == "definition":
        prop, _, rest = reason.partition(" ")
        reason = STATE_PATH + prop.replace("Cpu", "Overrides.Cpu") + " " + rest
    assert reason in logged and problem in logged, logged


def test_a_follow_after_a_subnet_was_deleted_changes_nothing_and_logs_why(world, caplog):
    account, estate = world.account, world.estate
    props = single_props(world, {"Subnets": [world.other_subnet], "SecurityGroups": None})
    created = account.player("following").create({**props, "FollowRevisions": "true"})
    assert created["Status"] == "SUCCESS", created
    account.session.client("ec2").delete_subnet(SubnetId=world.other_subnet)
    before = account.everything()
    assert follow(cloudtrail.registered(estate.register_revision()))["failed"] == 1
    assert account.everything() == before
    assert f"Subnets '{world.other_subnet}': no such subnet" in reasons(caplog)


def test_values_read_at_run_time_are_left_to_run_time(world):
    """A `.$` path or JSONata chooses the value when the state runs: nothing to check before."""
    document = state_props(world, {"NetworkConfiguration": None, "CapacityProviderStrategy.$": "$.capacity"})
    run = document["Definition"]["States"]["Run"]
    run["Parameters"].pop("LaunchType")
    run["Parameters"]["NetworkConfiguration"] = {"AwsvpcConfiguration": {"Subnets.$": "$.subnets"}}
    run["Parameters"]["Overrides"]["Memory.$"] = "$.memory"
    answer = world.account.player("dynamic").create(document)
    assert answer["Status"] == "SUCCESS", answer
