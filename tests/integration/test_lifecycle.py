"""Every lifecycle path CloudFormation can take, against moto, through the real handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecs_state_machine.planning.render import render_trust_policy
from testkit.cloudformation import Player
from testkit.estate import register
from tests.integration.conftest import STACK_ID, provider_leftovers

OWNER_TAGS = {"ecs-state-machine:stack-id": STACK_ID, "ecs-state-machine:logical-id": "NightlyBatch"}


def machine(session, arn: str) -> dict[str, Any]:
    described = session.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    described["definition"] = json.loads(described["definition"])
    return described


def task_parameters(session, arn: str) -> dict[str, Any]:
    definition = machine(session, arn)["definition"]
    return definition["States"][definition["StartAt"]]["Parameters"]


def role_policy(session, role_arn: str) -> dict[str, Any]:
    name = role_arn.rsplit("/", 1)[-1]
    document = session.client("iam").get_role_policy(RoleName=name, PolicyName="ecs-state-machine")[
        "PolicyDocument"
    ]
    return json.loads(document) if isinstance(document, str) else document


def run_task_resource(session, role_arn: str) -> str:
    (statement,) = [s for s in role_policy(session, role_arn)["Statement"] if s["Sid"] == "RunTask"]
    return statement["Resource"]


def test_create_makes_the_state_machine_and_a_tagged_role_on_the_provider_path(cfn, session, props, estate):
    answer = cfn.create(props)
    assert answer["Status"] == "SUCCESS", answer
    arn = answer["PhysicalResourceId"]
    data = answer["Data"]
    assert data["Arn"] == arn and arn.startswith(
        "arn:aws:states:us-east-1:123456789012:stateMachine:my-batch-stack-NightlyBatch-"
    )
    assert len(data["Name"]) <= 80
    assert data["TaskDefinitionArn"] == estate.revisions[0] and data["TaskDefinitionRevision"] == "1"
    assert (data["ContainerName"], data["ContainerNames"]) == ("hoge", "hoge,fuga")

    described = machine(session, arn)
    assert described["roleArn"] == data["RoleArn"]
    assert ":role/ecs-state-machine/" in data["RoleArn"]
    assert task_parameters(session, arn)["TaskDefinition"] == estate.revisions[0]
    tags = session.client("stepfunctions").list_tags_for_resource(resourceArn=arn)["tags"]
    assert {t["key"]: t["value"] for t in tags} == OWNER_TAGS

    iam = session.client("iam")
    role = iam.get_role(RoleName=data["RoleArn"].rsplit("/", 1)[-1])["Role"]
    assert role["Path"] == "/ecs-state-machine/"
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == OWNER_TAGS
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    policy = role_policy(session, data["RoleArn"])
    passed = next(s for s in policy["Statement"] if s["Sid"] == "PassTaskRoles")["Resource"]
    assert passed == [estate.task_role_arn, estate.execution_role_arn]


def test_user_tags_go_on_both_and_update_removes_dropped_ones(cfn, session, props):
    tagged = {**props, "Tags": [{"Key": "team", "Value": "data"}, {"Key": "cost", "Value": "42"}]}
    arn = cfn.create(tagged)["PhysicalResourceId"]
    retagged = {**props, "Tags": [{"Key": "team", "Value": "platform"}]}
    answer = cfn.update(arn, retagged, tagged)
    assert answer["Status"] == "SUCCESS", answer
    tags = session.client("stepfunctions").list_tags_for_resource(resourceArn=arn)["tags"]
    assert {t["key"]: t["value"] for t in tags} == {**OWNER_TAGS, "team": "platform"}
    role = session.client("iam").get_role(RoleName=answer["Data"]["RoleArn"].rsplit("/", 1)[-1])["Role"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {**OWNER_TAGS, "team": "platform"}


def test_update_after_a_new_revision_moves_the_state_machine_in_place(cfn, session, props, estate):
    created = cfn.create(props)
    arn = created["PhysicalResourceId"]
    newer = register(
        session.client("ecs"),
        estate.family,
        containers=("hoge", "fuga"),
        task_role_arn=estate.task_role_arn,
        execution_role_arn=estate.execution_role_arn,
    )
    updated = cfn.update(arn, props, props)
    assert updated["Status"] == "SUCCESS", updated
    assert updated["PhysicalResourceId"] == arn
    assert updated["Data"]["TaskDefinitionRevision"] == "2"
    assert task_parameters(session, arn)["TaskDefinition"] == newer
    assert run_task_resource(session, updated["Data"]["RoleArn"]) == newer


def test_latest_active_revision_is_resolved_after_the_newest_is_deregistered(cfn, session, props, estate):
    ecs = session.client("ecs")
    second = register(ecs, estate.family, containers=("hoge",), task_role_arn=estate.task_role_arn)
    ecs.deregister_task_definition(taskDefinition=second)
    answer = cfn.create(props)
    assert answer["Status"] == "SUCCESS", answer
    assert answer["Data"]["TaskDefinitionArn"] == estate.revisions[0]


def test_a_family_with_no_active_revision_fails_clearly(cfn, session, props, estate):
    session.client("ecs").deregister_task_definition(taskDefinition=estate.revisions[0])
    answer = cfn.create(props)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("TaskDefinition 'hogefuga': has no ACTIVE revision")
    assert provider_leftovers(session) == ([], [])


def test_a_pinned_inactive_revision_fails_clearly(cfn, session, props, estate):
    register(session.client("ecs"), estate.family, containers=("hoge",))
    session.client("ecs").deregister_task_definition(taskDefinition=estate.revisions[0])
    answer = cfn.create({**props, "TaskDefinition": "hogefuga:1"})
    assert answer["Status"] == "FAILED"
    assert "INACTIVE" in answer["Reason"] and "latest ACTIVE" in answer["Reason"]


def test_unpinned_state_machine_runs_the_family(cfn, session, props, estate):
    answer = cfn.create({**props, "PinRevision": False})
    assert answer["Status"] == "SUCCESS", answer
    assert task_parameters(session, answer["PhysicalResourceId"])["TaskDefinition"] == "hogefuga"
    assert run_task_resource(session, answer["Data"]["RoleArn"]).endswith(":task-definition/hogefuga:*")


def test_name_change_replaces_and_the_old_delete_removes_only_the_old(cfn, session, props):
    old = {**props, "StateMachineName": "nightly-a"}
    new = {**props, "StateMachineName": "nightly-b"}
    first = cfn.create(old)
    replaced = cfn.update(first["PhysicalResourceId"], new, old)
    assert replaced["Status"] == "SUCCESS", replaced
    assert replaced["PhysicalResourceId"].endswith(":stateMachine:nightly-b")
    assert replaced["Data"]["RoleArn"] != first["Data"]["RoleArn"]
    assert cfn.delete(first["PhysicalResourceId"], old)["Status"] == "SUCCESS"
    roles, machines = provider_leftovers(session)
    assert machines == ["nightly-b"]
    assert roles == [replaced["Data"]["RoleArn"].rsplit("/", 1)[-1]]


def test_type_change_under_an_unchanged_explicit_name_fails_and_says_to_rename(cfn, session, props):
    base = {**props, "StateMachineName": "nightly", "IntegrationPattern": "REQUEST_RESPONSE"}
    arn = cfn.create(base)["PhysicalResourceId"]
    answer = cfn.update(arn, {**base, "StateMachineType": "EXPRESS"}, base)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("StateMachineType 'EXPRESS'")
    assert "Change StateMachineName" in answer["Reason"]
    assert answer["PhysicalResourceId"] == arn
    assert machine(session, arn)["type"] == "STANDARD"


def test_type_change_with_a_generated_name_replaces(cfn, session, props):
    base = {**props, "IntegrationPattern": "REQUEST_RESPONSE"}
    arn = cfn.create(base)["PhysicalResourceId"]
    answer = cfn.update(arn, {**base, "StateMachineType": "EXPRESS"}, base)
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] != arn
    assert machine(session, answer["PhysicalResourceId"])["type"] == "EXPRESS"


def test_failed_update_then_rollback_restores_the_old_definition(cfn, session, props):
    arn = cfn.create(props)["PhysicalResourceId"]
    before = machine(session, arn)["definition"]
    bad = {**props, "ContainerName": "nope"}
    failed = cfn.update(arn, bad, props)
    assert failed["Status"] == "FAILED"
    assert (
        failed["Reason"] == "ContainerName 'nope': is not a container of hogefuga:1. Use one of: hoge, fuga."
    )
    assert failed["PhysicalResourceId"] == arn
    rollback = cfn.update(arn, props, bad)
    assert rollback["Status"] == "SUCCESS" and rollback["PhysicalResourceId"] == arn
    assert machine(session, arn)["definition"] == before


def test_failed_create_then_its_delete_leaves_nothing(cfn, session, props):
    failed = cfn.create({**props, "ContainerName": "nope"})
    assert failed["Status"] == "FAILED"
    deleted = cfn.delete(failed["PhysicalResourceId"], {**props, "ContainerName": "nope"})
    assert deleted["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_failed_create_with_unparseable_properties_reports_a_non_arn_id_and_delete_is_a_no_op(
    cfn, session, props
):
    failed = cfn.create({**props, "Subnet": "subnet-0a1b2c3d"})
    assert failed["Status"] == "FAILED" and failed["Reason"].startswith("Subnet: ")
    assert not failed["PhysicalResourceId"].startswith("arn:")
    assert cfn.delete(failed["PhysicalResourceId"], props)["Status"] == "SUCCESS"


def test_delete_is_idempotent(cfn, session, props):
    arn = cfn.create(props)["PhysicalResourceId"]
    assert cfn.delete(arn, props)["Status"] == "SUCCESS"
    assert cfn.delete(arn, props)["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_duplicate_create_delivery_makes_one_of_each(cfn, session, props):
    event = cfn.event("Create", props)
    first = cfn.send(event)
    second = cfn.send(event)
    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert first["Data"] == second["Data"]
    roles, machines = provider_leftovers(session)
    assert (len(roles), len(machines)) == (1, 1)


def test_another_stacks_state_machine_is_never_updated_or_deleted(cfn, session, props):
    arn = cfn.create({**props, "StateMachineName": "shared-name"})["PhysicalResourceId"]
    intruder = Player(cfn.transport, cfn.stack_id, "Other")
    answer = intruder.create({**props, "StateMachineName": "shared-name"})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("StateMachineName 'shared-name': is already used")
    assert intruder.delete(answer["PhysicalResourceId"], props)["Status"] == "SUCCESS"
    assert intruder.update(arn, props, props)["Status"] == "FAILED"
    assert machine(session, arn)["status"] == "ACTIVE"
    roles, machines = provider_leftovers(session)
    assert machines == ["shared-name"] and len(roles) == 1


def test_update_of_a_state_machine_deleted_out_of_band_recreates_it(cfn, session, props):
    arn = cfn.create(props)["PhysicalResourceId"]
    session.client("stepfunctions").delete_state_machine(stateMachineArn=arn)
    answer = cfn.update(arn, props, props)
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] != arn
    assert cfn.delete(arn, props)["Status"] == "SUCCESS"
    roles, machines = provider_leftovers(session)
    assert machines == [answer["Data"]["Name"]] and len(roles) == 1


STATES_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_switching_between_a_created_role_and_role_arn_both_ways(cfn, session, props, estate, monkeypatch):
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "team-*")
    own = session.client("iam").create_role(RoleName="team-sfn-role", AssumeRolePolicyDocument=STATES_TRUST)[
        "Role"
    ]["Arn"]
    arn = cfn.create(props)["PhysicalResourceId"]
    with_own = {**props, "RoleArn": own}
    answer = cfn.update(arn, with_own, props)
    assert answer["Status"] == "SUCCESS", answer
    assert machine(session, arn)["roleArn"] == own and answer["Data"]["RoleArn"] == own
    assert provider_leftovers(session)[0] == []  # the created role is gone
    back = cfn.update(arn, props, with_own)
    assert back["Status"] == "SUCCESS", back
    assert ":role/ecs-state-machine/" in machine(session, arn)["roleArn"]
    assert cfn.delete(arn, props)["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])
    assert session.client("iam").get_role(RoleName="team-sfn-role")["Role"]["Arn"] == own


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"ContainerName": None},
            "ContainerName: is required: hogefuga:1 has 2 containers. Set it to one of: hoge, fuga.",
        ),
        (
            {"Subnets": None, "SecurityGroups": None},
            "Subnets: is required: hogefuga:1 uses network mode awsvpc.",
        ),
        ({"Cluster": "no-such-cluster"}, "Cluster 'no-such-cluster': no such ACTIVE ECS cluster"),
        ({"TaskDefinition": "no-such-family"}, "TaskDefinition 'no-such-family': no such task definition"),
        ({"TaskDefinition": "hogefuga:9"}, "TaskDefinition 'hogefuga:9': no such task definition revision"),
        (
            {"TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/hogefuga:1"},
            "TaskDefinition 'arn:aws:ecs:eu-west-1",
        ),
        (
            {"TaskDefinition": "arn:aws:ecs:us-east-1:999999999999:task-definition/hogefuga:1"},
            "is not in this account and region",
        ),
        (
            {"RoleArn": "arn:aws:iam::999999999999:role/theirs"},
            "RoleArn 'arn:aws:iam::999999999999:role/theirs': is not in this account",
        ),
    ],
)
def test_bad_input_found_at_deploy_time_fails_clearly_and_leaves_nothing(cfn, session, props, change, reason):
    changed = {k: v for k, v in {**props, **change}.items() if v is not None}
    answer = cfn.create(changed)
    assert answer["Status"] == "FAILED"
    assert reason in answer["Reason"], answer["Reason"]
    assert cfn.delete(answer["PhysicalResourceId"], changed)["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_fargate_launch_of_an_ec2_only_revision_fails_clearly(cfn, session, props, estate):
    register(
        session.client("ecs"), "legacy", containers=("hoge",), network_mode="bridge", compatibilities=("EC2",)
    )
    answer = cfn.create({"TaskDefinition": "legacy", "Cluster": "hogefuga-cluster"})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("LaunchType 'FARGATE': but legacy:1 is not FARGATE-compatible")
    ok = cfn.create({"TaskDefinition": "legacy", "Cluster": "hogefuga-cluster", "LaunchType": "EC2"})
    assert ok["Status"] == "SUCCESS", ok
    assert "NetworkConfiguration" not in task_parameters(session, ok["PhysicalResourceId"])


def test_a_propagation_delay_is_retried_and_ends_in_success(cfn, session, props, faults):
    from testkit.faults import PROPAGATION_ASSUME, PROPAGATION_EVENTS

    faults.fail("sfn.CreateStateMachine", "AccessDeniedException", PROPAGATION_ASSUME, times=2)
    faults.fail("sfn.CreateStateMachine", "AccessDeniedException", PROPAGATION_EVENTS, times=1)
    answer = cfn.create(props)
    assert answer["Status"] == "SUCCESS", answer
    assert faults.calls["sfn.CreateStateMachine"] == 4


def test_a_permanent_access_denied_fails_and_removes_the_role(cfn, session, props, faults):
    faults.fail(
        "sfn.CreateStateMachine",
        "AccessDeniedException",
        "User is not authorized to perform: states:CreateStateMachine",
    )
    answer = cfn.create(props)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("The provider was denied creating state machine")
    assert faults.calls["sfn.CreateStateMachine"] == 1
    assert provider_leftovers(session) == ([], [])


def test_propagation_that_outlasts_the_time_left_fails_and_cleans_up(cfn, session, props, faults):
    from testkit.faults import PROPAGATION_ASSUME

    faults.fail("sfn.CreateStateMachine", "AccessDeniedException", PROPAGATION_ASSUME)
    answer = cfn.send(cfn.event("Create", props), timeout_s=27.0)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("IAM did not let Step Functions use the role")
    assert provider_leftovers(session) == ([], [])


def test_changing_refresh_token_picks_up_a_new_revision(cfn, session, props, estate):
    first = {**props, "RefreshToken": "2026-11-01"}
    arn = cfn.create(first)["PhysicalResourceId"]
    newer = register(session.client("ecs"), estate.family, containers=("hoge", "fuga"))
    answer = cfn.update(arn, {**props, "RefreshToken": "2026-11-27"}, first)
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == arn
    assert task_parameters(session, arn)["TaskDefinition"] == newer


def test_sam_local_invoke_acts_in_the_account_of_the_credentials(cfn, session, props, monkeypatch):
    from testkit.transports import Context

    monkeypatch.setenv("AWS_SAM_LOCAL", "true")
    monkeypatch.setattr(
        Context, "invoked_function_arn", "arn:aws:lambda:us-east-1:012345678912:function:Provider"
    )
    answer = cfn.create(props)
    assert answer["Status"] == "SUCCESS", answer
    assert ":123456789012:stateMachine:" in answer["PhysicalResourceId"]


BOUNDARY = "arn:aws:iam::123456789012:policy/state-machine-boundary"


def role_boundary(session, role_arn: str) -> str | None:
    role = session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    return (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")


def test_the_provider_boundary_goes_on_every_role_it_creates(cfn, session, props, monkeypatch):
    monkeypatch.setenv("PERMISSIONS_BOUNDARY", BOUNDARY)
    answer = cfn.create(props)
    assert answer["Status"] == "SUCCESS", answer
    assert role_boundary(session, answer["Data"]["RoleArn"]) == BOUNDARY
    other = cfn.create({**props, "RolePermissionsBoundary": "arn:aws:iam::123456789012:policy/looser"})
    assert other["Status"] == "FAILED"
    assert other["Reason"].startswith("RolePermissionsBoundary 'arn:aws:iam::123456789012:policy/looser'")
    assert BOUNDARY in other["Reason"]


def test_a_role_made_before_the_boundary_and_exact_trust_gets_both_on_its_next_update(
    cfn, session, props, monkeypatch
):
    """An older provider created the role with no boundary and a trust policy for every state machine
    of the account; the next Update brings both up to date, in place."""
    answer = cfn.create(props)
    arn, role = answer["PhysicalResourceId"], answer["Data"]["RoleArn"].rsplit("/", 1)[-1]
    iam = session.client("iam")
    iam.delete_role_permissions_boundary(RoleName=role)
    broad = render_trust_policy(arn)
    broad["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] = (
        "arn:aws:states:us-east-1:123456789012:stateMachine:*"
    )
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(broad))
    monkeypatch.setenv("PERMISSIONS_BOUNDARY", BOUNDARY)
    updated = cfn.update(arn, {**props, "TimeoutSeconds": 60}, props)
    assert updated["Status"] == "SUCCESS" and updated["PhysicalResourceId"] == arn, updated
    assert role_boundary(session, answer["Data"]["RoleArn"]) == BOUNDARY
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust == render_trust_policy(arn)


def test_a_stack_boundary_is_set_and_removed_with_the_property(cfn, session, props):
    bounded = {**props, "RolePermissionsBoundary": BOUNDARY}
    answer = cfn.create(bounded)
    assert role_boundary(session, answer["Data"]["RoleArn"]) == BOUNDARY
    updated = cfn.update(answer["PhysicalResourceId"], props, bounded)
    assert updated["Status"] == "SUCCESS", updated
    assert role_boundary(session, answer["Data"]["RoleArn"]) is None


def test_service_timeout_bounds_the_work_so_cloudformation_hears_the_answer(cfn, session, props, faults):
    import time

    from testkit.faults import PROPAGATION_ASSUME

    faults.fail("sfn.CreateStateMachine", "AccessDeniedException", PROPAGATION_ASSUME)
    started = time.monotonic()
    answer = cfn.create({**props, "ServiceTimeout": 30})  # the function itself has 300 s
    assert time.monotonic() - started < 28
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("IAM did not let Step Functions use the role")
    assert provider_leftovers(session) == ([], [])


def test_a_role_the_provider_may_not_pass_names_role_arn_and_the_parameter(
    cfn, session, props, faults, monkeypatch
):
    """The pattern admits the role, but IAM (the provider's own PassRole statement) refuses it."""
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "*")
    session.client("iam").create_role(RoleName="admin", AssumeRolePolicyDocument=STATES_TRUST)
    theirs = "arn:aws:iam::123456789012:role/admin"
    faults.fail(
        "sfn.CreateStateMachine",
        "AccessDeniedException",
        f"User: arn:aws:sts::123456789012:assumed-role/provider/fn is not authorized to perform: iam:PassRole on resource: {theirs}",
    )
    answer = cfn.create({**props, "RoleArn": theirs})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("RoleArn: the provider may not pass that role")
    assert "PassableRolePattern" in answer["Reason"] and len(answer["Reason"]) <= 256
