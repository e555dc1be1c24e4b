"""Definition mode, pure parts: loading (substitutions, CloudFormation's stringified numbers),
finding ECS task states anywhere in the document, pinning, and the merged policy."""

from __future__ import annotations

import json

import pytest
from statelint.linter import Linter

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.planning.render import role_policy
from ecs_state_machine.schema.definition import ecs_tasks, pin
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.resolved import TaskGrant
from testkit.cloudformation import stringify
from testkit.samples import three_task_workflow


def test_a_stringified_yaml_definition_gets_asl_numbers_and_booleans_back():
    props = parse({"Definition": stringify(three_task_workflow())})
    assert props.definition == three_task_workflow()
    assert Linter.validate(props.definition) == []


def test_payload_strings_are_not_guessed_into_numbers():
    document = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"zip": "01234"}, "End": "true"}}}
    loaded = parse({"Definition": document}).definition
    assert loaded["States"]["P"] == {"Type": "Pass", "Result": {"zip": "01234"}, "End": True}


def test_json_string_definition_and_substitutions():
    text = json.dumps(three_task_workflow()).replace('"migrate"', '"${MigrateFamily}"')
    props = parse({"Definition": text, "DefinitionSubstitutions": {"MigrateFamily": "migrate-v2"}})
    assert props.definition["States"]["Migrate"]["Parameters"]["TaskDefinition"] == "migrate-v2"
    as_map = stringify(three_task_workflow())
    as_map["States"]["Migrate"]["Parameters"]["Cluster"] = "${Cluster}"
    loaded = parse({"Definition": as_map, "DefinitionSubstitutions": {"Cluster": "prod"}}).definition
    assert loaded["States"]["Migrate"]["Parameters"]["Cluster"] == "prod"


def test_every_ecs_task_state_is_found_in_document_order_with_its_path():
    tasks = ecs_tasks(three_task_workflow())
    assert [t.path for t in tasks] == [
        "States.Migrate",
        "States.Fanout.Branches[0].States.Backfill",
        "States.PerShard.ItemProcessor.States.Report",
    ]
    assert [t.pattern for t in tasks] == ["RUN_JOB", "RUN_JOB", "REQUEST_RESPONSE"]
    assert [t.task_definition for t in tasks] == ["migrate", "backfill", "report"]
    assert tasks[1].container_names == ((0, "worker"),)


def test_legacy_map_iterator_and_jsonata_states_are_found():
    document = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Iterator": {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
                            "Arguments": {"TaskDefinition": "{% $states.input.family %}", "Cluster": "batch"},
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    (task,) = ecs_tasks(document)
    assert task.path == "States.M.Iterator.States.T"
    assert task.jsonata and task.pattern == "WAIT_FOR_TASK_TOKEN"
    assert task.task_definition is None  # chosen at run time
    assert task.where("TaskDefinition") == "Definition.States.M.Iterator.States.T.Arguments.TaskDefinition"


def test_pin_writes_revisions_and_cluster_arns_and_restores_run_task_types():
    document = three_task_workflow()
    document["States"]["Migrate"]["Parameters"]["EnableExecuteCommand"] = "true"
    document["States"]["Migrate"]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Memory"] = "512"
    cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    pinned = pin(
        document,
        {"States.Migrate": ("arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:4", cluster)},
    )
    parameters = pinned["States"]["Migrate"]["Parameters"]
    assert parameters["TaskDefinition"].endswith("task-definition/migrate:4")
    assert parameters["Cluster"] == cluster
    assert parameters["EnableExecuteCommand"] is True
    assert parameters["Overrides"]["ContainerOverrides"][0]["Memory"] == 512
    assert parameters["Overrides"]["ContainerOverrides"][0]["Command.$"] == "$.command"
    assert document["States"]["Migrate"]["Parameters"]["TaskDefinition"] == "migrate"  # input untouched


def test_merged_policy_is_the_union_of_the_per_state_grants_without_duplicates():
    cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    td = "arn:aws:ecs:us-east-1:123456789012:task-definition/{}:{}"
    role = "arn:aws:iam::123456789012:role/{}"
    grants = [
        TaskGrant(
            "RUN_JOB", cluster, (td.format("migrate", 4),), (role.format("app"), role.format("exec")), False
        ),
        TaskGrant("RUN_JOB", cluster, (td.format("backfill", 2),), (role.format("exec"),), False),
        TaskGrant("REQUEST_RESPONSE", cluster, (td.format("report", 9),), (role.format("exec"),), False),
    ]
    extra = (
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:us-east-1:123456789012:done"},
    )
    policy = role_policy(grants, extra=extra)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"RunTask", "PassTaskRoles", "WatchTask", "TaskEventsRule", "Stack1"}
    assert by_sid["RunTask"]["Resource"] == [
        td.format("migrate", 4),
        td.format("backfill", 2),
        td.format("report", 9),
    ]
    assert by_sid["PassTaskRoles"]["Resource"] == [role.format("app"), role.format("exec")]
    assert by_sid["WatchTask"]["Resource"] == "arn:aws:ecs:us-east-1:123456789012:task/batch/*"
    assert by_sid["Stack1"]["Action"] == "sns:Publish"


def test_tasks_on_two_clusters_get_one_run_task_statement_per_cluster():
    c1 = "arn:aws:ecs:us-east-1:123456789012:cluster/a"
    c2 = "arn:aws:ecs:us-east-1:123456789012:cluster/b"
    td = "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1"
    policy = role_policy(
        [
            TaskGrant("REQUEST_RESPONSE", c1, (td,), (), False),
            TaskGrant("REQUEST_RESPONSE", c2, (td,), (), False),
        ]
    )
    run = [s for s in policy["Statement"] if s["Action"] == "ecs:RunTask"]
    assert [s["Condition"]["ArnEquals"]["ecs:cluster"] for s in run] == [c1, c2]
    assert len({s["Sid"] for s in policy["Statement"]}) == len(policy["Statement"])


BAD = [
    (
        {"Definition": three_task_workflow(), "TaskDefinition": "x"},
        "Definition: cannot be combined with TaskDefinition",
    ),
    ({}, "TaskDefinition: is required (or give a whole Definition)"),
    (
        {"Definition": three_task_workflow(), "ContainerName": "app"},
        "ContainerName: does not apply with a Definition",
    ),
    ({"TaskDefinition": "x", "PolicyStatements": []}, None),
    (
        {"TaskDefinition": "x", "AllowDynamicTaskDefinitions": ["x"]},
        "AllowDynamicTaskDefinitions: does not apply with TaskDefinition",
    ),
    ({"Definition": "{not json"}, "Definition: is not valid JSON"),
    ({"Definition": {"States": {}}}, "Definition: needs StartAt and a States map"),
    (
        {"Definition": json.dumps(three_task_workflow()).replace('"migrate"', '"${Nope}"')},
        "Definition '${Nope}': uses a placeholder",
    ),
    (
        {"Definition": three_task_workflow(), "StateMachineType": "EXPRESS"},
        "Definition.States.Migrate.Resource",
    ),
    (
        {"Definition": three_task_workflow(), "AllowDynamicTaskDefinitions": "true"},
        "AllowDynamicTaskDefinitions 'true': must list families",
    ),
    (
        {
            "Definition": three_task_workflow(),
            "PolicyStatements": [{"Effect": "Allow", "Action": "sns:Publish"}],
        },
        "PolicyStatements[0].Resource: is required. Add Resource to PolicyStatements[0].",
    ),
]


@pytest.mark.parametrize(("props", "reason"), BAD)
def test_definition_mode_rules(props, reason):
    if reason is None:  # an empty optional list is no list at all
        parse(props)
        return
    with pytest.raises(PropertyError) as caught:
        parse(props)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert len(caught.value.reason) <= 256


def test_invalid_asl_is_reported_before_anything_is_made():
    from ecs_state_machine.schema.definition import validate

    document = three_task_workflow()
    document["States"]["Migrate"]["Next"] = "Nowhere"
    with pytest.raises(PropertyError) as caught:
        validate(parse({"Definition": document}).definition)
    assert caught.value.reason.startswith("Definition: is not valid ASL") and "Nowhere" in caught.value.reason
