"""The preflight's pure part: Fargate's size table at its edges, what a state leaves to run time,
and task sizes written the ways ECS takes them."""

from __future__ import annotations

import pytest

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.planning.preflight import check_size, fits
from ecs_state_machine.schema.resolved import TaskDefinition
from ecs_state_machine.schema.run_request import RUNTIME, RunRequest, from_payload

PREFIX = "Definition.States.Run.Parameters"


@pytest.mark.parametrize(
    ("cpu", "memory", "os_family", "offered"),
    [
        (256, 512, "LINUX", True),
        (256, 2048, "LINUX", True),
        (256, 1536, "LINUX", False),
        (256, 3072, "LINUX", False),
        (512, 4096, "LINUX", True),
        (512, 5120, "LINUX", False),
        (1024, 2048, "LINUX", True),
        (1024, 1024, "LINUX", False),
        (2048, 16384, "LINUX", True),
        (2048, 17408, "LINUX", False),
        (4096, 30720, "LINUX", True),
        (4096, 31744, "LINUX", False),
        (8192, 20480, "LINUX", True),
        (8192, 17408, "LINUX", False),  # 8 vCPU goes in 4 GB steps
        (16384, 122880, "LINUX", True),
        (16384, 36864, "LINUX", False),  # 16 vCPU goes in 8 GB steps
        (1024, 2048, "WINDOWS_SERVER_2022_CORE", True),
        (4096, 30720, "WINDOWS_SERVER_2019_FULL", True),
        (512, 1024, "WINDOWS_SERVER_2022_CORE", False),
        (8192, 16384, "WINDOWS_SERVER_2022_CORE", False),
        (3000, 6144, "LINUX", False),
    ],
)
def test_fargate_sizes_are_the_documented_table(cpu, memory, os_family, offered):
    assert fits(cpu, memory, os_family) is offered


def test_values_read_at_run_time_are_left_to_run_time():
    jsonpath = from_payload(
        {
            "LaunchType.$": "$.launch",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets.$": "$.subnets"}},
            "Overrides.$": "$.overrides",
        },
        False,
        PREFIX,
    )
    assert (jsonpath.launch_type, jsonpath.subnets, jsonpath.cpu, jsonpath.memory) == (RUNTIME,) * 4
    jsonata = from_payload(
        {
            "CapacityProviderStrategy": [{"CapacityProvider": "{% $states.input.provider %}"}],
            "NetworkConfiguration": "{% $states.input.network %}",
            "Overrides": {"Memory": "{% $string($states.input.memory) %}"},
        },
        True,
        PREFIX,
    )
    assert (jsonata.strategy, jsonata.subnets, jsonata.security_groups, jsonata.memory) == (RUNTIME,) * 4
    assert jsonata.literal("subnets") == ()


def test_literal_values_are_read_as_run_task_takes_them():
    request = from_payload(
        {
            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}],
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
            "Overrides": {"Cpu": 256, "Memory": "2048"},
            "EnableExecuteCommand": True,
        },
        False,
        PREFIX,
    )
    assert request == RunRequest(
        prefix=PREFIX,
        strategy=("FARGATE_SPOT",),
        subnets=("subnet-0a1b2c3d",),
        cpu="256",
        memory="2048",
        execute_command=True,
    )
    assert (
        request.where("strategy", "[0].CapacityProvider")
        == f"{PREFIX}.CapacityProviderStrategy[0].CapacityProvider"
    )


def revision(cpu: str, memory: str) -> TaskDefinition:
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3"
    return TaskDefinition(arn, "etl", 3, ("app",), "awsvpc", ("FARGATE",), None, None, cpu, memory)


@pytest.mark.parametrize(
    ("cpu", "memory", "refused"),
    [
        ("1 vCPU", "2 GB", None),
        (".25 vCPU", "4 GB", "Memory"),
        ("0.5 vCPU", None, None),
        ("2048", None, "Cpu"),
    ],
)
def test_sizes_written_in_vcpu_and_gb_are_counted_as_ecs_counts_them(cpu, memory, refused):
    request = RunRequest(launch_type="FARGATE", cpu=cpu, memory=memory)
    if refused is None:
        check_size(request, revision("256", "1024"))
        return
    with pytest.raises(PropertyError) as caught:
        check_size(request, revision("256", "1024"))
    assert caught.value.reason.startswith(refused)
