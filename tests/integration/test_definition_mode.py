"""Definition mode through the real handler against moto: resolve, pin, permission, update, delete."""

from __future__ import annotations

import json

import pytest

from testkit.estate import register
from testkit.samples import three_task_workflow
from tests.integration.conftest import provider_leftovers
from tests.integration.test_lifecycle import machine, role_policy


@pytest.fixture
def families(session, estate):
    ecs = session.client("ecs")
    arns = {}
    for family, container in (("migrate", "app"), ("backfill", "worker"), ("report", "app")):
        arns[family] = register(
            ecs,
            family,
            containers=(container,),
            task_role_arn=estate.task_role_arn,
            execution_role_arn=estate.execution_role_arn,
        )
    session.client("ecs").create_cluster(clusterName="batch")
    return arns


def test_three_task_workflow_is_pinned_and_permissioned(cfn, session, families, estate):
    answer = cfn.create({"Definition": three_task_workflow()})
    assert answer["Status"] == "SUCCESS", answer
    assert answer["Data"]["TaskDefinitionArns"] == ",".join(
        families[f] for f in ("migrate", "backfill", "report")
    )
    definition = machine(session, answer["PhysicalResourceId"])["definition"]
    cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    migrate = definition["States"]["Migrate"]["Parameters"]
    backfill = definition["States"]["Fanout"]["Branches"][0]["States"]["Backfill"]["Parameters"]
    report = definition["States"]["PerShard"]["ItemProcessor"]["States"]["Report"]["Parameters"]
    assert (migrate["TaskDefinition"], backfill["TaskDefinition"], report["TaskDefinition"]) == (
        families["migrate"],
        families["backfill"],
        families["report"],
    )
    assert migrate["Cluster"] == backfill["Cluster"] == report["Cluster"] == cluster
    assert definition["States"]["PerShard"]["MaxConcurrency"] == 4

    policy = role_policy(session, answer["Data"]["RoleArn"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["RunTask"]["Resource"] == [families["migrate"], families["backfill"], families["report"]]
    assert by_sid["PassTaskRoles"]["Resource"] == [estate.task_role_arn, estate.execution_role_arn]
    assert "WatchTask" in by_sid and "TaskEventsRule" in by_sid
    assert cfn.delete(answer["PhysicalResourceId"], {})["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_update_re_resolves_every_family(cfn, session, families, estate):
    props = {"Definition": json.dumps(three_task_workflow())}
    arn = cfn.create(props)["PhysicalResourceId"]
    newer = register(
        session.client("ecs"),
        "backfill",
        containers=("worker",),
        execution_role_arn=estate.execution_role_arn,
    )
    answer = cfn.update(arn, props, props)
    assert answer["Status"] == "SUCCESS", answer
    definition = machine(session, arn)["definition"]
    assert (
        definition["States"]["Fanout"]["Branches"][0]["States"]["Backfill"]["Parameters"]["TaskDefinition"]
        == newer
    )
    assert newer in role_policy(session, answer["Data"]["RoleArn"])["Statement"][0]["Resource"]


def test_policy_statements_of_the_stack_author_are_added(cfn, session, families, monkeypatch):
    monkeypatch.setenv("ALLOW_POLICY_STATEMENTS", "true")
    extra = [
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sns:us-east-1:123456789012:done"}
    ]
    answer = cfn.create({"Definition": three_task_workflow(), "PolicyStatements": extra})
    assert answer["Status"] == "SUCCESS", answer
    statements = role_policy(session, answer["Data"]["RoleArn"])["Statement"]
    assert {"Sid": "Stack1", **extra[0]} in statements


def test_dynamic_task_definition_needs_the_families_it_may_take(cfn, session, families):
    document = three_task_workflow()
    parameters = document["States"]["Migrate"]["Parameters"]
    del parameters["TaskDefinition"]
    parameters["TaskDefinition.$"] = "$.family"
    refused = cfn.create({"Definition": document})
    assert refused["Status"] == "FAILED"
    assert refused["Reason"].startswith(
        "Definition.States.Migrate.Parameters.TaskDefinition: is chosen at run time"
    )
    allowed = cfn.create({"Definition": document, "AllowDynamicTaskDefinitions": ["migrate", "report"]})
    assert allowed["Status"] == "SUCCESS", allowed
    run_task = role_policy(session, allowed["Data"]["RoleArn"])["Statement"][0]["Resource"]
    assert "arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:*" in run_task
    assert "arn:aws:ecs:us-east-1:123456789012:task-definition/report:*" in run_task
    assert families["backfill"] in run_task


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d["States"]["Fanout"]["Branches"][0]["States"]["Backfill"]["Parameters"].update(
                TaskDefinition="nope"
            ),
            "Definition.States.Fanout.Branches[0].States.Backfill.Parameters.TaskDefinition 'nope': no such task definition",
        ),
        (
            lambda d: d["States"]["Migrate"]["Parameters"]["Overrides"]["ContainerOverrides"][0].update(
                Name="web"
            ),
            "Definition.States.Migrate.Parameters.Overrides.ContainerOverrides[0].Name 'web': is not a container of migrate:1. Use one of: app.",
        ),
        (
            lambda d: d["States"]["PerShard"]["ItemProcessor"]["States"]["Report"]["Parameters"].pop(
                "NetworkConfiguration"
            ),
            "Definition.States.PerShard.ItemProcessor.States.Report.Parameters.NetworkConfiguration: is required: report:1 uses network mode awsvpc",
        ),
        (
            lambda d: d["States"]["Migrate"]["Parameters"].update(Cluster="elsewhere"),
            "Definition.States.Migrate.Parameters.Cluster 'elsewhere': no such ACTIVE ECS cluster",
        ),
    ],
)
def test_errors_point_at_the_state_and_leave_nothing(cfn, session, families, change, reason):
    document = three_task_workflow()
    change(document)
    answer = cfn.create({"Definition": document})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(reason), answer["Reason"]
    assert len(answer["Reason"]) <= 256
    assert cfn.delete(answer["PhysicalResourceId"], {})["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_jsonata_single_task_mode_renders_arguments(cfn, session, props):
    answer = cfn.create({**props, "QueryLanguage": "JSONata", "CommandPath": "$.job['argv']"})
    assert answer["Status"] == "SUCCESS", answer
    definition = machine(session, answer["PhysicalResourceId"])["definition"]
    assert definition["QueryLanguage"] == "JSONata"
    arguments = definition["States"]["RunTask"]["Arguments"]
    assert arguments["Overrides"]["ContainerOverrides"][0]["Command"] == "{% $states.input.job.argv %}"


def test_a_definition_that_calls_nothing_gets_a_role_without_permissions(cfn, session):
    answer = cfn.create({"Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": "true"}}}})
    assert answer["Status"] == "SUCCESS", answer
    name = answer["Data"]["RoleArn"].rsplit("/", 1)[-1]
    assert session.client("iam").list_role_policies(RoleName=name)["PolicyNames"] == []
    assert answer["Data"]["TaskDefinitionArns"] == ""


def test_a_distributed_map_may_start_and_watch_its_own_child_executions(cfn, session, families):
    document = three_task_workflow()
    document["States"]["PerShard"]["ItemProcessor"]["ProcessorConfig"] = {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    answer = cfn.create({"Definition": document, "StateMachineName": "pipeline"})
    assert answer["Status"] == "SUCCESS", answer
    by_sid = {s["Sid"]: s for s in role_policy(session, answer["Data"]["RoleArn"])["Statement"]}
    assert by_sid["DistributedMapStart"]["Resource"] == answer["PhysicalResourceId"]
    assert (
        by_sid["DistributedMapWatch"]["Resource"]
        == "arn:aws:states:us-east-1:123456789012:execution:pipeline/*"
    )


def test_a_jsonata_definition_is_resolved_and_pinned_in_its_arguments(cfn, session, families):
    document = {
        "QueryLanguage": "JSONata",
        "StartAt": "Migrate",
        "States": {
            "Migrate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Arguments": {
                    "Cluster": "batch",
                    "TaskDefinition": "migrate",
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
                    "Overrides": {
                        "ContainerOverrides": [{"Name": "app", "Command": "{% $states.input.command %}"}]
                    },
                },
                "End": True,
            }
        },
    }
    answer = cfn.create({"Definition": document})
    assert answer["Status"] == "SUCCESS", answer
    arguments = machine(session, answer["PhysicalResourceId"])["definition"]["States"]["Migrate"]["Arguments"]
    assert arguments["TaskDefinition"] == families["migrate"]
    assert arguments["Cluster"] == "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    assert arguments["Overrides"]["ContainerOverrides"][0]["Command"] == "{% $states.input.command %}"


def test_a_provider_stack_can_turn_policy_statements_off(cfn, session, families, monkeypatch):
    monkeypatch.setenv("ALLOW_POLICY_STATEMENTS", "false")
    extra = [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]
    answer = cfn.create({"Definition": three_task_workflow(), "PolicyStatements": extra})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("PolicyStatements: is turned off for this account")
    assert provider_leftovers(session) == ([], [])
    assert cfn.create({"Definition": three_task_workflow()})["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    "tagging",
    [
        {"Tags.$": "$.tags"},
        {"PropagateTags": "TASK_DEFINITION"},
        {"Tags": [{"Key": "team", "Value": "data"}]},
    ],
)
def test_a_state_that_tags_its_task_may_tag_new_tasks(cfn, session, families, tagging):
    document = three_task_workflow()
    document["States"]["Migrate"]["Parameters"].update(tagging)
    answer = cfn.create({"Definition": document})
    assert answer["Status"] == "SUCCESS", answer
    by_sid = {s["Sid"]: s for s in role_policy(session, answer["Data"]["RoleArn"])["Statement"]}
    assert by_sid["TagNewTask"]["Action"] == "ecs:TagResource"
    assert by_sid["TagNewTask"]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}


RUNNER = "arn:aws:iam::{}:role/ecs-runner"


def test_a_state_with_credentials_of_this_account_is_resolved_and_only_assumes_the_role(
    cfn, session, families, monkeypatch
):
    monkeypatch.setenv("CREDENTIALS_ROLE_PATTERN", RUNNER.format("*"))
    document = three_task_workflow()
    document["States"]["Migrate"]["Credentials"] = {"RoleArn": RUNNER.format("123456789012")}
    answer = cfn.create({"Definition": document})
    assert answer["Status"] == "SUCCESS", answer
    definition = machine(session, answer["PhysicalResourceId"])["definition"]
    assert definition["States"]["Migrate"]["Parameters"]["TaskDefinition"] == families["migrate"]
    assert families["migrate"] in answer["Data"]["TaskDefinitionArns"]
    by_sid = {s["Sid"]: s for s in role_policy(session, answer["Data"]["RoleArn"])["Statement"]}
    assert by_sid["AssumeTaskCredentials"]["Resource"] == RUNNER.format("123456789012")
    assert families["migrate"] not in json.dumps(by_sid["RunTask"])  # RunTask is the runner's to call

    # Checked against what it runs, like any other state.
    document["States"]["Migrate"]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Name"] = "web"
    refused = cfn.create({"Definition": document})
    assert refused["Reason"].startswith(
        "Definition.States.Migrate.Parameters.Overrides.ContainerOverrides[0].Name 'web': is not a container"
    )


def test_a_state_that_runs_in_another_account_is_left_as_written(cfn, session, families, monkeypatch):
    """Nothing of account 222233334444 can be described from here: the state keeps its names."""
    monkeypatch.setenv("CREDENTIALS_ROLE_PATTERN", RUNNER.format("222233334444"))
    document = three_task_workflow()
    migrate = document["States"]["Migrate"]
    migrate["Credentials"] = {"RoleArn": RUNNER.format("222233334444")}
    migrate["Parameters"]["TaskDefinition"] = "arn:aws:ecs:us-east-1:222233334444:task-definition/migrate"
    migrate["Parameters"]["Overrides"]["ContainerOverrides"][0]["Name"] = "only-they-know"
    answer = cfn.create({"Definition": document, "PinRevision": "true"})
    assert answer["Status"] == "SUCCESS", answer
    written = machine(session, answer["PhysicalResourceId"])["definition"]["States"]["Migrate"]
    assert written["Parameters"]["TaskDefinition"] == migrate["Parameters"]["TaskDefinition"]
    assert written["Parameters"]["Cluster"] == "batch"
    assert written["Credentials"] == migrate["Credentials"]
    assert answer["Data"]["TaskDefinitionArns"] == ",".join((families["backfill"], families["report"]))
    statements = role_policy(session, answer["Data"]["RoleArn"])["Statement"]
    assert [s["Sid"] for s in statements] == [
        "AssumeTaskCredentials",
        "RunTask",
        "PassTaskRoles",
        "WatchTask",
        "TaskEventsRule",
    ]
    assert cfn.delete(answer["PhysicalResourceId"], {})["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])
