"""FollowRevisions through the real handler and the real follower against moto: ECS's CloudTrail
events as EventBridge delivers them, the sweep, what would not deploy, duplicates and disorder,
a CloudFormation Update meanwhile, and what an Update renders afterwards."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from testkit import cloudtrail
from testkit.estate import FOLLOW_TABLE, register
from testkit.transports import Context
from tests.integration.test_lifecycle import machine, role_policy


def reasons(caplog: Any) -> str:
    """The Reasons the follower logged for what it did not follow."""
    return "\n".join(str(getattr(r, "reason", "")) for r in caplog.records)


def follow(event: dict[str, Any]) -> dict[str, Any]:
    import follower_app

    return follower_app.lambda_handler(event, Context())


@pytest.fixture
def following(cfn, props):
    """A state machine deployed with FollowRevisions (pinned, the default)."""
    answer = cfn.create({**props, "FollowRevisions": "true"})
    assert answer["Status"] == "SUCCESS", answer
    return answer


def state(session, arn: str) -> tuple[str, set[str], set[str]]:
    """The revision the definition runs, and what the role may run and pass."""
    described = machine(session, arn)
    task = described["definition"]["States"]["RunTask"]["Parameters"]["TaskDefinition"]
    statements = role_policy(session, described["roleArn"])["Statement"]
    listed = lambda s: set(s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])  # noqa: E731
    run = set().union(*(listed(s) for s in statements if s["Action"] == "ecs:RunTask"))
    passed = set().union(*(listed(s) for s in statements if s["Action"] == "iam:PassRole"))
    return task, run, passed


def new_revision(
    session, estate, *, task_role: str | None = None, containers=("hoge", "fuga"), **extra
) -> str:
    return register(
        session.client("ecs"),
        estate.family,
        containers=containers,
        task_role_arn=task_role or estate.task_role_arn,
        execution_role_arn=estate.execution_role_arn,
        **extra,
    )


def test_a_new_revision_moves_the_state_machine_and_its_role_without_a_stack_update(
    session, estate, following
):
    arn = following["PhysicalResourceId"]
    iam = session.client("iam")
    new_role = iam.create_role(RoleName="hogefuga-task-v2", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    revision = new_revision(session, estate, task_role=new_role)

    summary = follow(cloudtrail.registered(revision))

    assert summary["moved"] == 1, summary
    task, run, passed = state(session, arn)
    assert task == revision and run == {revision}
    assert passed == {new_role, estate.execution_role_arn}, "PassRole covers exactly the new revision's roles"
    assert follow(cloudtrail.registered(revision))["unchanged"] == 1, "a duplicate event changes nothing"


def test_an_unpinned_state_machine_keeps_its_definition_and_its_role_follows(cfn, session, estate, props):
    answer = cfn.create({**props, "FollowRevisions": "true", "PinRevision": "false"})
    arn = answer["PhysicalResourceId"]
    before = machine(session, arn)["definition"]
    new_role = session.client("iam").create_role(RoleName="task-v2", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    revision = new_revision(session, estate, task_role=new_role)
    assert follow(cloudtrail.registered(revision))["moved"] == 1
    assert machine(session, arn)["definition"] == before  # it names the family
    assert state(session, arn)[2] == {new_role, estate.execution_role_arn}


def test_deregistering_the_pinned_revision_moves_back_and_none_left_changes_nothing(
    session, estate, following, caplog
):
    arn = following["PhysicalResourceId"]
    first = estate.revisions[0]
    second = new_revision(session, estate)
    follow(cloudtrail.registered(second))
    ecs = session.client("ecs")
    ecs.deregister_task_definition(taskDefinition=second)
    assert follow(cloudtrail.deregistered(second))["moved"] == 1
    assert state(session, arn)[0] == first

    ecs.deregister_task_definition(taskDefinition=first)
    summary = follow(cloudtrail.deregistered(first))
    assert summary["failed"] == 1 and state(session, arn)[0] == first, "left as it is"
    assert "TaskDefinition 'hogefuga': has no ACTIVE revision (all are deregistered)" in reasons(caplog)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"containers": ("fuga",)}, "ContainerName 'hoge': is not a container of hogefuga:2"),
        ({"compatibilities": ("EC2",)}, "is not FARGATE-compatible"),
        (
            {"task_role": "arn:aws:iam::123456789012:role/admin"},
            "outside the provider stack's TaskRolePattern",
        ),
    ],
)
def test_a_revision_that_would_not_deploy_changes_nothing_and_says_why(
    session, estate, following, caplog, monkeypatch, change, reason
):
    monkeypatch.setenv("TASK_ROLE_PATTERN", "hogefuga-*")
    arn = following["PhysicalResourceId"]
    before = state(session, arn)
    revision = new_revision(session, estate, **change)
    assert follow(cloudtrail.registered(revision))["failed"] == 1
    assert state(session, arn) == before
    assert reason in reasons(caplog)


def test_events_for_families_nobody_follows_cost_one_lookup_and_foreign_events_none(
    session, estate, following, faults
):
    other = register(session.client("ecs"), "somebody-elses")
    faults.reset()
    assert follow(cloudtrail.registered(other)) == {
        "families": ["somebody-elses"],
        **dict.fromkeys(("moved", "unchanged", "failed", "deferred", "gone", "later"), 0),
    }
    assert faults.log == ["dynamodb.Query"]
    for foreign in (
        cloudtrail.registered(estate.revisions[0], account="999999999999"),
        cloudtrail.registered(estate.revisions[0], region="eu-west-1"),
        {**cloudtrail.registered(estate.revisions[0]), "source": "custom.ecs"},
        {"hello": "world"},
        "not even a map",
    ):
        faults.reset()
        assert follow(foreign) == {"ignored": True}  # type: ignore[arg-type]
        assert faults.log == []
    faults.reset()
    assert follow(cloudtrail.registered(estate.revisions[0], error="AccessDenied"))["moved"] == 0
    assert faults.log == []


def test_out_of_order_and_duplicate_events_converge_to_the_newest_active_revision(session, estate, following):
    arn = following["PhysicalResourceId"]
    second, third = new_revision(session, estate), new_revision(session, estate)
    session.client("ecs").deregister_task_definition(taskDefinition=third)
    # Delivered late and twice: the registration of the revision that is gone already.
    for event in (
        cloudtrail.deregistered(third),
        cloudtrail.registered(third),
        cloudtrail.registered(second),
        cloudtrail.registered(third),
    ):
        follow(event)
    assert state(session, arn)[0] == second


def test_the_sweep_heals_a_missed_event(session, estate, following):
    arn = following["PhysicalResourceId"]
    revision = new_revision(session, estate)  # no event arrives
    summary = follow(cloudtrail.sweep())
    assert summary["sweep"] and summary["moved"] == 1
    assert state(session, arn)[0] == revision


def test_an_update_after_a_follow_renders_exactly_what_the_follower_wrote(
    cfn, session, estate, following, props
):
    arn = following["PhysicalResourceId"]
    follow(cloudtrail.registered(new_revision(session, estate)))
    described = machine(session, arn)
    policy = role_policy(session, described["roleArn"])
    old = {**props, "FollowRevisions": "true"}
    answer = cfn.update(arn, {**old, "RefreshToken": "deploy-2"}, old)
    assert answer["Status"] == "SUCCESS", answer
    assert machine(session, arn)["definition"] == described["definition"]
    assert role_policy(session, described["roleArn"]) == policy
    assert follow(cloudtrail.sweep())["unchanged"] == 1, "and the follower has nothing left to do"


def test_turning_it_off_or_deleting_forgets_the_state_machine(cfn, session, estate, following, props):
    arn = following["PhysicalResourceId"]
    table = session.client("dynamodb")
    assert table.scan(TableName=FOLLOW_TABLE)["Count"] == 2  # the machine and its family
    old = {**props, "FollowRevisions": "true"}
    assert cfn.update(arn, props, old)["Status"] == "SUCCESS"
    assert table.scan(TableName=FOLLOW_TABLE)["Count"] == 0
    assert cfn.update(arn, old, props)["Status"] == "SUCCESS"
    assert table.scan(TableName=FOLLOW_TABLE)["Count"] == 2
    assert cfn.delete(arn, old)["Status"] == "SUCCESS"
    assert table.scan(TableName=FOLLOW_TABLE)["Count"] == 0


def test_a_workflow_follows_each_of_its_families(cfn, session, estate):
    from testkit.samples import three_task_workflow

    ecs = session.client("ecs")
    for family, container in (("migrate", "app"), ("backfill", "worker"), ("report", "app")):
        register(
            ecs,
            family,
            containers=(container,),
            task_role_arn=estate.task_role_arn,
            execution_role_arn=estate.execution_role_arn,
        )
    ecs.create_cluster(clusterName="batch")
    answer = cfn.create({"Definition": three_task_workflow(), "FollowRevisions": "true"})
    assert answer["Status"] == "SUCCESS", answer
    arn = answer["PhysicalResourceId"]
    backfill = register(
        ecs,
        "backfill",
        containers=("worker",),
        task_role_arn=estate.task_role_arn,
        execution_role_arn=estate.execution_role_arn,
    )
    assert follow(cloudtrail.registered(backfill))["moved"] == 1
    states = machine(session, arn)["definition"]["States"]
    assert states["Fanout"]["Branches"][0]["States"]["Backfill"]["Parameters"]["TaskDefinition"] == backfill
    assert states["Migrate"]["Parameters"]["TaskDefinition"].endswith("migrate:1")


def test_following_needs_a_provider_stack_with_the_follower(cfn, props, monkeypatch):
    monkeypatch.delenv("FOLLOW_TABLE")
    answer = cfn.create({**props, "FollowRevisions": "true"})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("FollowRevisions 'true': needs the provider stack's follower")


def json_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def works(session, arn: str, estate) -> bool:
    """The state machine can run what its definition names: the role may run that revision and
    pass its roles."""
    task, run, passed = state(session, arn)
    described = session.client("ecs").describe_task_definition(taskDefinition=task)["taskDefinition"]
    roles = {r for r in (described.get("taskRoleArn"), described.get("executionRoleArn")) if r}
    return task in run and roles <= passed


@pytest.mark.parametrize("kind", ["error", "lost"])
def test_a_fault_in_any_follower_call_leaves_the_state_machine_on_one_revision_and_the_next_event_finishes(
    session, estate, following, faults, kind
):
    """Each call of a move fails in turn (refused, or applied with its answer lost): the state
    machine keeps working on the old revision or the new one, never half-moved, and the next
    delivery of the event completes the move with an exact role."""
    from testkit.faults import Rule

    arn = following["PhysicalResourceId"]
    iam = session.client("iam")
    faults.reset()
    first_role = iam.create_role(RoleName="task-r1", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    follow(cloudtrail.registered(new_revision(session, estate, task_role=first_role)))
    clean = list(faults.log)
    assert clean[:2] == ["dynamodb.Query", "dynamodb.UpdateItem"] and "sfn.UpdateStateMachine" in clean
    for position, operation in enumerate(clean):
        role = iam.create_role(RoleName=f"task-{kind}-{position}", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        revision = new_revision(session, estate, task_role=role)
        faults.reset()
        occurrence = clean[: position + 1].count(operation)
        code = "AccessDenied" if operation.startswith("iam.") else "AccessDeniedException"
        faults.add(Rule(operation, occurrence=occurrence, kind=kind, code=code, times=1))
        with contextlib.suppress(Exception):  # the invocation failed: the delivery below is the retry
            follow(cloudtrail.registered(revision))
        assert works(session, arn, estate), f"half-moved after a fault in {operation} (call {position})"
        faults.reset()
        follow(cloudtrail.registered(revision))
        task, run, passed = state(session, arn)
        assert task == revision and run == {revision} and passed == {role, estate.execution_role_arn}, (
            operation
        )


def test_each_function_may_make_every_call_it_made_and_the_follower_no_more(cfn, session, estate, faults):
    """Run the follower through a big workflow (its role past the inline limit, so managed
    policies move too), a deregistration, a refusal and a sweep; then every call it made must be
    granted by the FollowerRole of template.yaml, and the provider's calls never include the
    follower's own (dynamodb:Query)."""
    from testkit.templates import TEMPLATE, Stack, load

    ecs, iam = session.client("ecs"), session.client("iam")
    ecs.create_cluster(clusterName="batch")
    families = []
    for i in range(70):
        roles = [
            iam.create_role(RoleName=f"nightly-{i}-{k}", Path="/batch/jobs/", AssumeRolePolicyDocument="{}")[
                "Role"
            ]["Arn"]
            for k in ("task", "execution")
        ]
        register(ecs, f"nightly-{i}", task_role_arn=roles[0], execution_role_arn=roles[1])
        families.append(roles)
    states = {
        f"Run{i}": {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": "batch",
                "TaskDefinition": f"nightly-{i}",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
            },
            **({"Next": f"Run{i + 1}"} if i < 69 else {"End": True}),
        }
        for i in range(70)
    }
    faults.reset()
    answer = cfn.create({"Definition": {"StartAt": "Run0", "States": states}, "FollowRevisions": "true"})
    assert answer["Status"] == "SUCCESS", answer
    provider_calls = set(faults.calls)
    faults.reset()
    new_role = iam.create_role(
        RoleName="nightly-3-task-v2", Path="/batch/jobs/", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    moved = register(ecs, "nightly-3", task_role_arn=new_role, execution_role_arn=families[3][1])
    assert follow(cloudtrail.registered(moved))["moved"] == 1
    ecs.deregister_task_definition(taskDefinition=moved)
    assert follow(cloudtrail.deregistered(moved))["moved"] == 1
    follow(cloudtrail.sweep())
    follower_calls = set(faults.calls)
    role = iam.get_role(RoleName=machine(session, answer["PhysicalResourceId"])["roleArn"].rsplit("/", 1)[1])
    assert iam.list_attached_role_policies(RoleName=role["Role"]["RoleName"])["AttachedPolicies"], (
        "managed parts"
    )

    stack = Stack(load(TEMPLATE))
    statements = [
        s
        for p in stack.template["Resources"]["FollowerRole"]["Properties"]["Policies"]
        for s in stack.render(p["PolicyDocument"])["Statement"]
    ]
    granted = {
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    as_action = {"sfn": "states"}
    used = {f"{as_action.get(c.split('.')[0], c.split('.')[0])}:{c.split('.')[1]}" for c in follower_calls}
    assert used <= granted, used - granted
    assert "dynamodb.Query" not in provider_calls and "dynamodb.Query" in follower_calls


def test_a_follow_publishes_a_version_and_moves_the_alias_with_calls_its_role_allows(
    cfn, session, estate, props, faults
):
    from testkit.templates import TEMPLATE, Stack, load

    answer = cfn.create({**props, "FollowRevisions": "true", "PublishVersion": "true", "AliasName": "live"})
    arn = answer["PhysicalResourceId"]
    faults.reset()
    assert follow(cloudtrail.registered(new_revision(session, estate)))["moved"] == 1
    sfn = session.client("stepfunctions")
    routing = sfn.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:live")["routingConfiguration"]
    assert routing == [{"stateMachineVersionArn": f"{arn}:2", "weight": 100}]
    stack = Stack(load(TEMPLATE))
    granted = {
        a
        for p in stack.template["Resources"]["FollowerRole"]["Properties"]["Policies"]
        for s in stack.render(p["PolicyDocument"])["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    used = {
        "states:" + c.split(".")[1] if c.startswith("sfn.") else c.replace(".", ":") for c in faults.calls
    }
    assert used <= granted, used - granted
