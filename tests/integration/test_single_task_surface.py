"""TaskDefinition mode's CDK-level options through the real handler against moto, delivered as
CloudFormation delivers them (every scalar a string): what is stored is what was asked for, and a
container the revision lacks fails the deploy naming it, leaving nothing behind."""

from __future__ import annotations

from tests.integration.conftest import provider_leftovers
from tests.integration.test_lifecycle import machine, role_policy, task_parameters


def test_several_containers_placement_and_state_fields_are_stored_as_rendered(cfn, session, props):
    own = {k: v for k, v in props.items() if k not in ("ContainerName", "CommandPath")}
    answer = cfn.create(
        {
            **own,
            "ContainerOverrides": [
                {"ContainerName": "hoge", "Command": ["make", "report"], "Cpu": 256},
                {"ContainerName": "fuga", "Environment": [{"Name": "DAY", "ValuePath": "$.day"}]},
            ],
            "Cpu": 1024,
            "Memory": "2 GB",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error"}],
            "ResultPath": "$.run",
        }
    )
    assert answer["Status"] == "SUCCESS", answer
    arn = answer["PhysicalResourceId"]
    overrides = task_parameters(session, arn)["Overrides"]
    assert overrides == {
        "Cpu": "1024",
        "Memory": "2 GB",
        "ContainerOverrides": [
            {"Name": "hoge", "Command": ["make", "report"], "Cpu": 256},
            {"Name": "fuga", "Environment": [{"Name": "DAY", "Value.$": "$.day"}]},
        ],
    }
    definition = machine(session, arn)["definition"]
    assert definition["States"]["RunTask"]["Catch"][0]["Next"] == "Caught"
    assert definition["States"]["Caught"] == {
        "Type": "Succeed",
        "Comment": "A caught error of the task ends here",
    }
    assert {s["Sid"] for s in role_policy(session, answer["Data"]["RoleArn"])["Statement"]} == {
        "RunTask",
        "PassTaskRoles",
        "WatchTask",
        "TaskEventsRule",
    }
    assert cfn.delete(arn, {})["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_a_container_override_the_revision_lacks_fails_naming_it_and_leaves_nothing(cfn, session, props):
    own = {k: v for k, v in props.items() if k not in ("ContainerName", "CommandPath")}
    answer = cfn.create({**own, "ContainerOverrides": [{"ContainerName": "web", "Memory": "512"}]})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "ContainerOverrides[0].ContainerName 'web': is not a container of hogefuga:"
    )
    assert provider_leftovers(session) == ([], [])


def test_no_container_override_and_the_clusters_default_strategy(cfn, session, props):
    own = {k: v for k, v in props.items() if k not in ("ContainerName", "CommandPath", "LaunchType")}
    answer = cfn.create({**own, "ContainerOverrides": [], "CapacityProviderStrategy": []})
    assert answer["Status"] == "SUCCESS", answer
    parameters = task_parameters(session, answer["PhysicalResourceId"])
    assert not {"Overrides", "LaunchType", "CapacityProviderStrategy"} & set(parameters), parameters


def test_top_level_command_environment_placement_and_state_fields(cfn, session, props):
    from testkit.estate import register

    register(
        session.client("ecs"), "legacy", containers=("app",), network_mode="bridge", compatibilities=("EC2",)
    )
    answer = cfn.create(
        {
            "TaskDefinition": "legacy",
            "Cluster": props["Cluster"],
            "LaunchType": "EC2",
            "Command": ["python", "nightly.py"],
            "Environment": [{"Name": "STAGE", "Value": "prod"}, {"Name": "DAY", "ValuePath": "$.day"}],
            "PlacementConstraints": [{"Type": "memberOf", "Expression": "attribute:ecs.os-type == linux"}],
            "PlacementStrategy": [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}],
            "InputPath": "$.job",
            "ResultSelector": {"Status.$": "$.LastStatus"},
            "OutputPath": "$.run",
            "ResultPath": "$.run",
            "Comment": "Nightly job on EC2",
        }
    )
    assert answer["Status"] == "SUCCESS", answer
    state = machine(session, answer["PhysicalResourceId"])["definition"]["States"]["RunTask"]
    parameters = state["Parameters"]
    assert parameters["Overrides"] == {
        "ContainerOverrides": [
            {
                "Name": "app",
                "Command": ["python", "nightly.py"],
                "Environment": [{"Name": "STAGE", "Value": "prod"}, {"Name": "DAY", "Value.$": "$.day"}],
            }
        ]
    }
    assert parameters["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.os-type == linux"}
    ]
    assert parameters["PlacementStrategy"] == [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}]
    assert parameters["LaunchType"] == "EC2" and "NetworkConfiguration" not in parameters
    assert (state["Comment"], state["InputPath"], state["OutputPath"], state["ResultPath"]) == (
        "Nightly job on EC2",
        "$.job",
        "$.run",
        "$.run",
    )
    assert state["ResultSelector"] == {"Status.$": "$.LastStatus"}
