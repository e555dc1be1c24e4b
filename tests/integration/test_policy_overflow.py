"""Past IAM's inline limit, through the real handler against moto: what does not fit goes into
managed policies on the provider's path, attached to the role, brought up to date, shrunk away and
deleted with it; a failure after they were made takes them too. The grants stay exactly the grants
of the states, whichever part holds them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit.estate import register
from tests.integration.conftest import provider_leftovers

POLICY_PATH = "/ecs-state-machine/policies/"


@pytest.fixture
def many_families(session):
    """Families, each with its own task and execution role under a realistic path."""
    ecs, iam = session.client("ecs"), session.client("iam")
    session.client("ecs").create_cluster(clusterName="batch")

    def make(count: int) -> None:
        for i in range(count):
            roles = [
                iam.create_role(
                    RoleName=f"nightly-family-{i}-{kind}", Path="/batch/jobs/", AssumeRolePolicyDocument="{}"
                )["Role"]["Arn"]
                for kind in ("task", "execution")
            ]
            register(
                ecs,
                f"nightly-family-{i}",
                containers=("app",),
                task_role_arn=roles[0],
                execution_role_arn=roles[1],
            )

    return make


def workflow(families: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(families):
        states[f"Run{i}"] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": "batch",
                "TaskDefinition": f"nightly-family-{i}",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
            },
            **({"Next": f"Run{i + 1}"} if i < families - 1 else {"End": True}),
        }
    return {"Definition": {"StartAt": "Run0", "States": states}}


def parts(session, role_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]:
    """The role's inline policy, its attached managed policies' documents, and its tags."""
    iam = session.client("iam")
    name = role_arn.rsplit("/", 1)[1]
    inline = iam.get_role_policy(RoleName=name, PolicyName="ecs-state-machine")["PolicyDocument"]
    managed = []
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        assert policy["Path"] == f"{POLICY_PATH}{name}/", policy["Path"]
        document = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        managed.append(document["PolicyVersion"]["Document"])
    tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName=name)["Role"].get("Tags", [])}
    return inline, managed, tags


def granted(*policies: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (json.dumps(s["Action"]), resource)
        for policy in policies
        for s in policy["Statement"]
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }


def compact(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def policies_on_path(session) -> list[str]:
    return [
        p["PolicyName"]
        for p in session.client("iam").list_policies(Scope="Local", PathPrefix=POLICY_PATH)["Policies"]
    ]


def test_a_workflow_past_the_inline_limit_gets_managed_policies_that_live_and_die_with_its_role(
    cfn, session, many_families
):
    many_families(80)
    answer = cfn.create(workflow(80))
    assert answer["Status"] == "SUCCESS", answer
    role_arn = answer["Data"]["RoleArn"]
    inline, managed, tags = parts(session, role_arn)
    assert managed, "80 families with their own roles do not fit one inline policy"
    assert compact(inline) <= 10_240 and all(compact(m) <= 6_144 for m in managed)
    assert tags["ecs-state-machine:managed-policies"] == str(len(managed))
    everything = granted(inline, *managed)
    for i in range(80):
        assert (
            '"iam:PassRole"',
            f"arn:aws:iam::123456789012:role/batch/jobs/nightly-family-{i}-task",
        ) in everything
    iam = session.client("iam")
    policy_tags = iam.list_policy_tags(
        PolicyArn=iam.list_attached_role_policies(RoleName=role_arn.rsplit("/", 1)[1])["AttachedPolicies"][0][
            "PolicyArn"
        ]
    )
    assert {t["Key"] for t in policy_tags["Tags"]} >= {
        "ecs-state-machine:stack-id",
        "ecs-state-machine:logical-id",
    }

    # Shrinks into the inline policy: the managed ones go.
    shrunk = cfn.update(answer["PhysicalResourceId"], workflow(10), workflow(80))
    assert shrunk["Status"] == "SUCCESS", shrunk
    inline, managed, tags = parts(session, role_arn)
    assert managed == [] and "ecs-state-machine:managed-policies" not in tags
    assert policies_on_path(session) == []

    # Grows again, then changes: the policies follow, as new default versions.
    assert cfn.update(answer["PhysicalResourceId"], workflow(80), workflow(10))["Status"] == "SUCCESS"
    assert cfn.update(answer["PhysicalResourceId"], workflow(79), workflow(80))["Status"] == "SUCCESS"
    inline, managed, _ = parts(session, role_arn)
    everything = granted(inline, *managed)
    assert (
        '"iam:PassRole"',
        "arn:aws:iam::123456789012:role/batch/jobs/nightly-family-78-task",
    ) in everything
    assert (
        '"iam:PassRole"',
        "arn:aws:iam::123456789012:role/batch/jobs/nightly-family-79-task",
    ) not in everything

    assert cfn.delete(answer["PhysicalResourceId"], workflow(79))["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], []) and policies_on_path(session) == []


def test_a_failed_create_removes_the_managed_policies_it_made(cfn, session, many_families, faults):
    many_families(80)
    faults.fail("sfn.CreateStateMachine", "ValidationException", "injected")
    answer = cfn.create(workflow(80))
    assert answer["Status"] == "FAILED"
    assert provider_leftovers(session) == ([], []) and policies_on_path(session) == []


def test_a_policy_version_limit_is_handled_by_dropping_old_versions(cfn, session, many_families):
    many_families(80)
    answer = cfn.create(workflow(80))
    assert answer["Status"] == "SUCCESS", answer
    previous = workflow(80)
    for count in (79, 78, 77, 76, 75, 74):
        changed = cfn.update(answer["PhysicalResourceId"], workflow(count), previous)
        assert changed["Status"] == "SUCCESS", changed
        previous = workflow(count)
    iam = session.client("iam")
    for policy in iam.list_policies(Scope="Local", PathPrefix=POLICY_PATH)["Policies"]:
        assert len(iam.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]) <= 5
