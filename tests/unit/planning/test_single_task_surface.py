"""TaskDefinition mode reaches CDK's EcsRunTask surface: each configuration CDK can express renders
what CDK renders for it (key for key, from CDK's renderOverrides and launch targets), is valid ASL,
and costs no permission CDK would not grant; each combination that cannot work is refused before
anything is described, naming the property."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.planning.render import render_role_policy
from ecs_state_machine.planning.single_task import render_definition
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.task_rules import check_overrides_size, container
from tests.unit.planning.test_render import (
    NETWORK,
    assert_parliament_clean,
    assert_valid_asl,
    props,
    resolved,
)

TWO = {"TaskDefinition": "hogefuga", "Cluster": "hogefuga-cluster", **NETWORK}


def task_state(**extra: Any) -> dict[str, Any]:
    definition = render_definition(props(**extra), resolved())
    assert_valid_asl(definition)
    return definition["States"]["RunTask"]


def parameters(**extra: Any) -> dict[str, Any]:
    state = task_state(**extra)
    return state.get("Parameters") or state["Arguments"]


def containers_of(raw: dict[str, Any]) -> dict[str, Any]:
    definition = render_definition(parse({**TWO, **raw}), resolved())
    assert_valid_asl(definition)
    return definition["States"]["RunTask"]["Parameters"]


def test_environment_variables_one_by_one_literal_or_from_the_input():
    env = [{"Name": "STAGE", "Value": "prod"}, {"Name": "DAY", "ValuePath": "$.day"}]
    override = parameters(Environment=env)["Overrides"]["ContainerOverrides"][0]
    assert override == {
        "Name": "hoge",
        "Command.$": "$.command",
        "Environment": [{"Name": "STAGE", "Value": "prod"}, {"Name": "DAY", "Value.$": "$.day"}],
    }
    jsonata = parameters(Environment=env, QueryLanguage="JSONata")["Overrides"]["ContainerOverrides"][0]
    assert jsonata["Environment"] == [
        {"Name": "STAGE", "Value": "prod"},
        {"Name": "DAY", "Value": "{% $states.input.day %}"},
    ]


def test_the_task_token_joins_the_variables_when_the_state_waits_for_it():
    env = [{"Name": "STAGE", "Value": "prod"}]
    override = parameters(Environment=env, IntegrationPattern="WAIT_FOR_TASK_TOKEN")["Overrides"][
        "ContainerOverrides"
    ][0]
    assert override["Environment"] == [
        {"Name": "STAGE", "Value": "prod"},
        {"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"},
    ]


def test_a_literal_command_replaces_the_command_path():
    override = parameters(Command=["python", "job.py", "--day", "7"])["Overrides"]["ContainerOverrides"][0]
    assert override == {"Name": "hoge", "Command": ["python", "job.py", "--day", "7"]}


def test_several_containers_with_cpu_and_memory_render_as_cdk_renders_them():
    raw = {
        "ContainerOverrides": [
            {"ContainerName": "hoge", "CommandPath": "$.argv", "Cpu": "512", "Memory": "1024"},
            {
                "ContainerName": "sidecar",
                "MemoryReservation": "128",
                "Environment": [{"Name": "MODE", "Value": "batch"}],
            },
        ],
        "Cpu": "1024",
        "Memory": "2 GB",
    }
    assert containers_of(raw)["Overrides"] == {
        "Cpu": "1024",
        "Memory": "2 GB",
        "ContainerOverrides": [
            {"Name": "hoge", "Command.$": "$.argv", "Cpu": 512, "Memory": 1024},
            {
                "Name": "sidecar",
                "MemoryReservation": 128,
                "Environment": [{"Name": "MODE", "Value": "batch"}],
            },
        ],
    }


def test_an_empty_container_overrides_list_runs_the_task_as_registered():
    assert "Overrides" not in containers_of({"ContainerOverrides": []})
    assert containers_of({"ContainerOverrides": [], "Memory": "4096"})["Overrides"] == {"Memory": "4096"}


def test_ec2_placement_renders_as_cdk_launch_target_does():
    rendered = parameters(
        LaunchType="EC2",
        PlacementConstraints=[
            {"Type": "distinctInstance"},
            {"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ t3.*"},
        ],
        PlacementStrategy=[
            {"Type": "spread", "Field": "attribute:ecs.availability-zone"},
            {"Type": "binpack", "Field": "memory"},
            {"Type": "random"},
        ],
    )
    assert rendered["LaunchType"] == "EC2"
    assert rendered["PlacementConstraints"] == [
        {"Type": "distinctInstance"},
        {"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ t3.*"},
    ]
    assert rendered["PlacementStrategy"] == [
        {"Type": "spread", "Field": "attribute:ecs.availability-zone"},
        {"Type": "binpack", "Field": "memory"},
        {"Type": "random"},
    ]


def test_an_empty_capacity_provider_strategy_leaves_the_choice_to_the_cluster():
    rendered = parameters(CapacityProviderStrategy=[])
    assert "LaunchType" not in rendered and "CapacityProviderStrategy" not in rendered


def test_the_state_fields_reach_the_task_state_and_catchers_end_in_a_generated_success():
    definition = render_definition(
        props(
            Comment="Nightly export",
            InputPath="$.job",
            ResultSelector={"TaskArn.$": "$.Tasks[0].TaskArn"},
            ResultPath="$.task",
            OutputPath="$.task",
            Catch=[
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error"},
                {"ErrorEquals": ["States.ALL"]},
            ],
        ),
        resolved(),
    )
    assert_valid_asl(definition)
    state = definition["States"]["RunTask"]
    assert state["Comment"] == "Nightly export"
    assert (state["InputPath"], state["ResultPath"], state["OutputPath"]) == ("$.job", "$.task", "$.task")
    assert state["ResultSelector"] == {"TaskArn.$": "$.Tasks[0].TaskArn"}
    assert state["Catch"] == [
        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Caught"},
        {"ErrorEquals": ["States.ALL"], "Next": "Caught"},
    ]
    assert definition["States"]["Caught"]["Type"] == "Succeed"


def test_catch_in_jsonata_renders_valid_asl():
    definition = render_definition(
        props(QueryLanguage="JSONata", Catch=[{"ErrorEquals": ["States.ALL"]}]), resolved()
    )
    assert_valid_asl(definition)
    assert definition["States"]["RunTask"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]


@pytest.mark.parametrize(
    "extra",
    [
        {"Environment": [{"Name": "A", "Value": "b"}], "Cpu": "1024", "Memory": "2048"},
        {"ContainerOverrides": [], "CapacityProviderStrategy": []},
        {"LaunchType": "EC2", "PlacementStrategy": [{"Type": "random"}]},
        {"Catch": [{"ErrorEquals": ["States.ALL"]}], "ResultPath": "$.out", "Comment": "x"},
    ],
)
def test_no_option_costs_a_permission_cdk_would_not_grant(extra):
    base = render_role_policy(parse(TWO), resolved())
    policy = render_role_policy(parse({**TWO, **extra}), resolved())
    assert policy == base
    assert_parliament_clean(policy)


REFUSED = [
    ({"Command": ["a"], "CommandPath": "$.argv"}, "Command '[\"a\"]': cannot be combined with CommandPath"),
    (
        {"Environment": [{"Name": "A", "Value": "b"}], "EnvironmentPath": "$.env"},
        "Environment: cannot be combined with EnvironmentPath",
    ),
    ({"Environment": [{"Name": "A"}]}, "Environment[0]: needs exactly one of Value and ValuePath"),
    ({"Environment": [{"Name": "A", "Value": "1", "ValuePath": "$.a"}]}, "Environment[0]: needs exactly one"),
    (
        {"Environment": [{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}]},
        "Environment[1].Name 'A': is given twice",
    ),
    (
        {"Environment": [{"Name": "A=B", "Value": "1"}]},
        "Environment[0].Name 'A=B': is not an environment variable name",
    ),
    ({"Command": "python job.py"}, "Command 'python job.py': must be a list of strings"),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge"}], "ContainerName": "hoge"},
        "ContainerName: cannot be combined with ContainerOverrides",
    ),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge"}], "Command": ["a"]},
        "Command: cannot be combined with ContainerOverrides",
    ),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge"}, {"ContainerName": "hoge"}]},
        "ContainerOverrides[1].ContainerName 'hoge': is given twice",
    ),
    ({"ContainerOverrides": [{"Cpu": "1"}]}, "ContainerOverrides[0].ContainerName: is required"),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge", "Memory": "256", "MemoryReservation": "512"}]},
        "ContainerOverrides[0].MemoryReservation '512': is more than Memory (256)",
    ),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge", "Command": ["a"], "CommandPath": "$.a"}]},
        "ContainerOverrides[0].Command: cannot be combined with CommandPath",
    ),
    (
        {"ContainerOverrides": [{"ContainerName": "hoge"}], "IntegrationPattern": "WAIT_FOR_TASK_TOKEN"},
        "ContainerOverrides: gives no container the task token",
    ),
    (
        {"Environment": [{"Name": "TASK_TOKEN", "Value": "x"}], "IntegrationPattern": "WAIT_FOR_TASK_TOKEN"},
        "Environment 'TASK_TOKEN': names TASK_TOKEN",
    ),
    ({"Cpu": "lots"}, "Cpu 'lots': is not task CPU"),
    ({"Memory": "2 TB"}, "Memory '2 TB': is not task memory"),
    (
        {"PlacementConstraints": [{"Type": "distinctInstance"}]},
        "PlacementConstraints: applies only to EC2 capacity, and the task runs on Fargate",
    ),
    (
        {
            "PlacementStrategy": [{"Type": "random"}],
            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT"}],
        },
        "PlacementStrategy: applies only to EC2 capacity",
    ),
    (
        {"LaunchType": "EC2", "PlacementConstraints": [{"Type": "memberOf"}]},
        "PlacementConstraints[0].Expression: is required for memberOf",
    ),
    (
        {"LaunchType": "EC2", "PlacementStrategy": [{"Type": "binpack", "Field": "disk"}]},
        "PlacementStrategy[0].Field 'disk': is not a valid choice",
    ),
    (
        {"LaunchType": "EC2", "PlacementStrategy": [{"Type": "random", "Field": "cpu"}]},
        "PlacementStrategy[0].Field 'cpu': does not apply to random",
    ),
    (
        {"LaunchType": "EC2", "CapacityProviderStrategy": []},
        "CapacityProviderStrategy '[]': (empty: the cluster's default strategy) cannot be combined with LaunchType",
    ),
    ({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify"}]}, "Catch[0].Next: is generated"),
    (
        {"Catch": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["States.Timeout"]}]},
        "Catch[0]: uses States.ALL before other catchers",
    ),
    ({"ResultPath": "$$.Task"}, "ResultPath '$$.Task': reads the context object"),
    ({"ResultSelector": "Tasks"}, "ResultSelector 'Tasks': must be a map"),
    (
        {"QueryLanguage": "JSONata", "ResultPath": "$.x"},
        "ResultPath: is a JSONPath field, and QueryLanguage is JSONata",
    ),
    (
        {"QueryLanguage": "JSONata", "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e"}]},
        "Catch[].ResultPath: is a JSONPath field",
    ),
    ({"Definition": {"StartAt": "A", "States": {}}, "TaskDefinition": None, "Catch": []}, None),
]


@pytest.mark.parametrize(("extra", "reason"), REFUSED)
def test_combinations_that_cannot_work_are_refused_naming_the_property(extra, reason):
    raw = {**TWO, **extra}
    raw = {k: v for k, v in raw.items() if v is not None}
    if reason is None:  # an empty list of a mode's property is no value in the other mode
        parse({k: v for k, v in raw.items() if k not in TWO or k == "TaskDefinition"})
        return
    with pytest.raises(PropertyError) as caught:
        parse(raw)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert len(caught.value.reason) <= 255


def test_container_overrides_must_name_containers_of_the_revision():
    p = parse({**TWO, "ContainerOverrides": [{"ContainerName": "hoge"}, {"ContainerName": "web"}]})
    with pytest.raises(PropertyError) as caught:
        container(p, resolved().task_definition)
    assert caught.value.reason == (
        "ContainerOverrides[1].ContainerName 'web': is not a container of hogefuga:3. Use one of: hoge, sidecar."
    )
    ok = parse({**TWO, "ContainerOverrides": [{"ContainerName": "sidecar"}, {"ContainerName": "hoge"}]})
    assert container(ok, resolved().task_definition) == "sidecar,hoge"


def test_an_empty_strategy_skips_the_fargate_check_and_leaves_it_to_the_cluster():
    from ecs_state_machine.schema.task_rules import check_network

    ec2_only = resolved().task_definition.__class__(
        **{**resolved().task_definition.__dict__, "compatibilities": ("EC2",)}
    )
    with pytest.raises(PropertyError, match="not FARGATE-compatible"):
        check_network(parse(TWO), ec2_only)
    check_network(parse({**TWO, "CapacityProviderStrategy": []}), ec2_only)


def test_overrides_past_ecs_limit_are_refused_before_anything_is_made():
    big = [{"Name": f"VAR_{i}", "Value": "x" * 200} for i in range(40)]
    p = parse({**TWO, "Environment": big})
    from ecs_state_machine.planning.single_task import overrides

    with pytest.raises(PropertyError) as caught:
        check_overrides_size(overrides(p, resolved()))
    assert caught.value.reason.startswith(
        "ContainerOverrides: with Command, Environment, Cpu and Memory come to "
    )
    check_overrides_size(overrides(parse({**TWO, "Environment": big[:30]}), resolved()))
