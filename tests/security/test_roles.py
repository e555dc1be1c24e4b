"""Roles a stack author must not get: another resource's role, a role the administrator did not
open up, a role that does not trust Step Functions; and roles a task must not run with: another
task's, its own execution role as its task role, or one the administrator did not allow.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from testkit.account import Account
from testkit.estate import ACCOUNT
from tests.security.conftest import TALLY


def refused(account: Account, props: dict[str, Any], reason: str, stack: str = "attacker") -> dict[str, Any]:
    """Create with `props` through CloudFormation: FAILED naming `reason`, nothing changed."""
    TALLY["attacks"] += 1
    before = account.everything()
    answer = account.player(stack).create(props)
    changed = account.everything() != before
    TALLY["changed"] += changed
    assert answer["Status"] == "FAILED", answer
    assert reason in answer["Reason"] and len(answer["Reason"]) <= 256, answer["Reason"]
    assert not changed, "a refused request changed the account"
    TALLY["refused"] += 1
    return answer


# --------------------------------------------------------------------------- borrowed roles
def test_another_resources_role_cannot_be_borrowed(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with every existing role open to RoleArn, a role the provider made for another stack
    (its path is /ecs-state-machine/) is refused."""
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "*")
    victim = account.player("victim").create(account.props)
    borrowed = victim["Data"]["RoleArn"]
    assert ":role/ecs-state-machine/" in borrowed
    answer = refused(account, {**account.props, "RoleArn": borrowed}, "RoleArn")
    assert "where the provider keeps the roles it makes for other resources" in answer["Reason"]


def test_role_arn_is_refused_until_an_administrator_opens_it(account: Account) -> None:
    mine = account.role("team-sfn")
    answer = refused(account, {**account.props, "RoleArn": mine}, "PassableRolePattern parameter is empty")
    assert answer["Reason"].startswith(f"RoleArn '{mine}'")


def test_role_arn_must_match_the_pattern(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "sfn/*")
    admin = account.role("admin")
    lookalike = account.role("sfn-admin")
    refused(
        account,
        {**account.props, "RoleArn": admin},
        "does not match the provider stack's PassableRolePattern",
    )
    refused(account, {**account.props, "RoleArn": lookalike}, "PassableRolePattern (sfn/*)")
    allowed = account.role("nightly", path="/sfn/")
    answer = account.player("team").create({**account.props, "RoleArn": allowed})
    assert answer["Status"] == "SUCCESS" and answer["Data"]["RoleArn"] == allowed, answer


def test_a_role_of_another_account_is_refused(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "*")
    refused(
        account, {**account.props, "RoleArn": "arn:aws:iam::999999999999:role/sfn"}, "is not in this account"
    )


@pytest.mark.parametrize(
    "trust",
    [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:other-*"}
            },
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}},
        },
    ],
    ids=["lambda", "deny", "other-state-machines", "other-account"],
)
def test_a_role_that_does_not_trust_step_functions_fails_at_once(
    account: Account, monkeypatch: pytest.MonkeyPatch, trust: dict[str, Any]
) -> None:
    monkeypatch.setenv("PASSABLE_ROLE_PATTERN", "team/*")
    role = account.role(
        "untrusting", json.dumps({"Version": "2012-10-17", "Statement": [trust]}), path="/team/"
    )
    started = time.monotonic()
    refused(account, {**account.props, "RoleArn": role}, "does not let states.amazonaws.com assume it")
    assert account.pauses == [], "no propagation retry for a role that will never work"
    assert time.monotonic() - started < 5


def test_a_created_roles_trust_names_only_its_state_machine(account: Account) -> None:
    created = account.player("team").create(account.props)
    arn, role = created["PhysicalResourceId"], created["Data"]["RoleArn"].rsplit("/", 1)[1]
    trust = account.session.client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == [arn, f"{arn}:*", f"{arn}/*"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


# --------------------------------------------------------------------------- role swaps
@pytest.fixture
def two_families(account: Account) -> dict[str, str]:
    """`etl` runs with a task role and an execution role that reads secrets; `report` has its own."""
    roles = {
        name: account.role(name, json.dumps({"Version": "2012-10-17", "Statement": []}))
        for name in ("etl-task", "etl-execution", "report-task", "report-execution")
    }
    account.family("etl", roles["etl-task"], roles["etl-execution"])
    account.family("report", roles["report-task"], roles["report-execution"])
    return roles


def workflow(parameters: dict[str, Any], jsonata: bool = False) -> dict[str, Any]:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Arguments" if jsonata else "Parameters": {
            "Cluster": "hogefuga-cluster",
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d4e5f60001"]}},
            **parameters,
        },
        "End": True,
    }
    document: dict[str, Any] = {"StartAt": "Run", "States": {"Run": state}}
    if jsonata:
        document["QueryLanguage"] = "JSONata"
    return {"Definition": document}


SWAPS = [
    (
        "own-execution-role-as-task-role",
        {"TaskRoleArn": "etl-execution"},
        False,
        "is not the task role of etl:1",
    ),
    (
        "own-task-role-as-execution-role",
        {"ExecutionRoleArn": "etl-task"},
        False,
        "is not the execution role of etl:1",
    ),
    ("another-tasks-role", {"TaskRoleArn": "report-task"}, False, "is not the task role of etl:1"),
    (
        "another-tasks-execution-role",
        {"ExecutionRoleArn": "report-execution"},
        False,
        "is not the execution role",
    ),
    ("task-role-from-input", {"TaskRoleArn.$": "$.role"}, False, "chooses a role at run time"),
    ("execution-role-from-input", {"ExecutionRoleArn.$": "$.role"}, False, "chooses a role at run time"),
    ("jsonata-task-role", {"TaskRoleArn": "{% $states.input.role %}"}, True, "chooses a role at run time"),
    (
        "jsonata-execution-role",
        {"ExecutionRoleArn": "{% $states.input.role %}"},
        True,
        "chooses a role at run time",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "jsonata", "reason"), [s[1:] for s in SWAPS], ids=[s[0] for s in SWAPS]
)
def test_a_task_cannot_be_given_another_role(
    account: Account, two_families: dict[str, str], overrides: dict[str, Any], jsonata: bool, reason: str
) -> None:
    resolved = {k: two_families.get(v, v) for k, v in overrides.items()}
    props = workflow({"TaskDefinition": "etl", "Overrides": resolved}, jsonata)
    answer = refused(account, props, reason)
    assert answer["Reason"].startswith("Definition.States.Run.")


@pytest.mark.parametrize(
    ("payload", "jsonata"),
    [
        ({"Overrides.$": "$.overrides"}, False),
        ({"Overrides": "{% $states.input.overrides %}"}, True),
    ],
    ids=["jsonpath", "jsonata"],
)
def test_overrides_chosen_at_run_time_are_refused(
    account: Account, two_families: dict[str, str], payload: dict[str, Any], jsonata: bool
) -> None:
    answer = refused(
        account, workflow({"TaskDefinition": "etl", **payload}, jsonata), "could swap in another task's role"
    )
    assert "Overrides" in answer["Reason"]


def test_a_role_override_on_a_task_definition_chosen_at_run_time_is_refused(
    account: Account, two_families: dict[str, str]
) -> None:
    props = {
        **workflow({"TaskDefinition.$": "$.family", "Overrides": {"TaskRoleArn": two_families["etl-task"]}}),
        "AllowDynamicTaskDefinitions": ["etl", "report"],
    }
    refused(account, props, "overrides a role of a task definition the provider cannot see")


def test_a_task_may_name_its_own_roles(account: Account, two_families: dict[str, str]) -> None:
    own = {"TaskRoleArn": two_families["etl-task"], "ExecutionRoleArn": two_families["etl-execution"]}
    answer = account.player("team").create(workflow({"TaskDefinition": "etl", "Overrides": own}))
    assert answer["Status"] == "SUCCESS", answer


# --------------------------------------------------------------------------- roles a revision brings
def test_a_revision_with_a_role_outside_task_role_pattern_is_refused(
    account: Account, monkeypatch: pytest.MonkeyPatch, two_families: dict[str, str]
) -> None:
    """A family owner registers a revision that names an admin role: nothing will pass it."""
    monkeypatch.setenv("TASK_ROLE_PATTERN", "ecs-tasks/*")
    allowed = account.role("nightly-task", path="/ecs-tasks/")
    account.family("nightly", allowed, allowed)
    assert (
        account.player("team").create({**account.props, "TaskDefinition": "nightly", "ContainerName": "app"})[
            "Status"
        ]
        == "SUCCESS"
    )
    admin = account.role("admin")
    account.family("nightly", admin, allowed)
    answer = refused(
        account, {**account.props, "TaskDefinition": "nightly", "ContainerName": "app"}, "TaskRolePattern"
    )
    assert answer["Reason"].startswith("TaskDefinition 'nightly:2': has a task role outside")
    refused(
        account, workflow({"TaskDefinition": "nightly"}), "Definition.States.Run.Parameters.TaskDefinition"
    )
    dynamic = {**workflow({"TaskDefinition.$": "$.family"}), "AllowDynamicTaskDefinitions": ["nightly"]}
    refused(account, dynamic, "AllowDynamicTaskDefinitions (nightly)")


def test_a_revision_with_a_role_of_another_account_is_refused(account: Account) -> None:
    account.family("foreign", "arn:aws:iam::999999999999:role/task", None)
    refused(
        account,
        {**account.props, "TaskDefinition": "foreign", "ContainerName": "app"},
        "outside this account",
    )


def test_pass_role_names_only_the_revisions_roles(account: Account, two_families: dict[str, str]) -> None:
    answer = account.player("team").create(workflow({"TaskDefinition": "etl"}))
    assert answer["Status"] == "SUCCESS", answer
    role = answer["Data"]["RoleArn"].rsplit("/", 1)[1]
    policy = account.session.client("iam").get_role_policy(RoleName=role, PolicyName="ecs-state-machine")
    document = policy["PolicyDocument"]
    passes = [s for s in document["Statement"] if s["Action"] == "iam:PassRole"]
    assert passes == [
        {
            "Sid": "PassTaskRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [two_families["etl-task"], two_families["etl-execution"]],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        }
    ]


# --------------------------------------------------------------------------- Credentials
def with_credentials(role: Any, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    props = workflow(parameters or {"TaskDefinition": "etl"})
    props["Definition"]["States"]["Run"]["Credentials"] = role
    return props


def test_credentials_cannot_borrow_a_role_until_an_administrator_allows_it(
    account: Account, two_families: dict[str, str]
) -> None:
    """An admin role trusting the account root is one sts:AssumeRole away: a stack may not name it."""
    admin = account.role("admin")
    refused(account, with_credentials({"RoleArn": admin}), "CredentialsRolePattern parameter is empty")


def test_credentials_may_assume_only_the_roles_the_pattern_allows(
    account: Account, monkeypatch: pytest.MonkeyPatch, two_families: dict[str, str]
) -> None:
    monkeypatch.setenv("CREDENTIALS_ROLE_PATTERN", "arn:aws:iam::222233334444:role/ecs-runner-*")
    runner = "arn:aws:iam::222233334444:role/ecs-runner-etl"
    not_allowed = "is not allowed by CredentialsRolePattern"
    refused(account, with_credentials({"RoleArn": account.role("admin")}), not_allowed)
    refused(
        account, with_credentials({"RoleArn": "arn:aws:iam::999999999999:role/ecs-runner-etl"}), not_allowed
    )
    refused(account, with_credentials({"RoleArn": "arn:aws:iam::222233334444:role/ecs-runner"}), not_allowed)
    refused(account, with_credentials({"RoleArn.$": "$.role"}), "chooses the role to assume at run time")
    swap = {"TaskDefinition": "etl", "Overrides": {"TaskRoleArn": two_families["etl-task"]}}
    refused(account, with_credentials({"RoleArn": runner}, swap), "a task definition the provider cannot see")

    allowed = account.player("team").create(with_credentials({"RoleArn": runner}))
    assert allowed["Status"] == "SUCCESS", allowed
    name = allowed["Data"]["RoleArn"].rsplit("/", 1)[1]
    policy = account.session.client("iam").get_role_policy(RoleName=name, PolicyName="ecs-state-machine")
    assert policy["PolicyDocument"]["Statement"] == [
        {"Sid": "AssumeTaskCredentials", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": runner}
    ]
