"""What the native state machine resource offers, through the real handler against moto: a
customer-managed key (resolved, written, granted exactly; errors; there and back), versions and
aliases (publish on change, reuse on rollback, prune, rename, replacement, delete), and Step
Functions' own verdict on a definition."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import provider_leftovers
from tests.integration.test_lifecycle import machine, role_policy

ALIAS = "alias/state-machines"


@pytest.fixture
def key(session) -> str:
    kms = session.client("kms")
    created = kms.create_key(Description="state machines")["KeyMetadata"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=created["KeyId"])
    return str(created["Arn"])


def statements(session, role_arn: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in role_policy(session, role_arn)["Statement"]}


def encrypted(props: dict[str, Any], key_id: str = ALIAS) -> dict[str, Any]:
    return {**props, "EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": key_id}}


def test_a_customer_managed_key_is_resolved_written_and_granted_only_for_this_state_machine(
    cfn, session, props, key
):
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/nightly"
    answer = cfn.create({**encrypted(props), "Logging": {"Level": "ERROR", "LogGroupArn": group}})
    assert answer["Status"] == "SUCCESS", answer
    arn = answer["PhysicalResourceId"]
    described = machine(session, arn)
    assert described["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": key,
        "kmsDataKeyReusePeriodSeconds": 300,
    }
    by_sid = statements(session, answer["Data"]["RoleArn"])
    assert by_sid["EncryptionKey"] == {
        "Sid": "EncryptionKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": key,
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": arn}},
    }
    assert by_sid["EncryptionKeyForLogs"]["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:SourceArn": "arn:aws:logs:us-east-1:123456789012:*"}
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            "alias/nope",
            "EncryptionConfiguration.KmsKeyId 'alias/nope': no such KMS key in this account and region",
        ),
        ("disabled", "is Disabled, and Step Functions needs an enabled key"),
    ],
)
def test_a_key_that_cannot_encrypt_fails_naming_it_and_leaves_nothing(
    cfn, session, props, key, change, reason
):
    if change == "disabled":
        session.client("kms").disable_key(KeyId=key.rsplit("/", 1)[1])
        change = key
    answer = cfn.create(encrypted(props, change))
    assert answer["Status"] == "FAILED" and reason in answer["Reason"], answer["Reason"]
    assert provider_leftovers(session) == ([], [])


def test_from_aws_owned_to_your_key_and_back(cfn, session, props, key):
    answer = cfn.create(props)
    arn = answer["PhysicalResourceId"]
    assert machine(session, arn)["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}
    assert cfn.update(arn, encrypted(props), props)["Status"] == "SUCCESS"
    assert machine(session, arn)["encryptionConfiguration"]["kmsKeyId"] == key
    assert "EncryptionKey" in statements(session, answer["Data"]["RoleArn"])
    assert cfn.update(arn, props, encrypted(props))["Status"] == "SUCCESS"
    assert machine(session, arn)["encryptionConfiguration"]["type"] == "AWS_OWNED_KEY"
    assert "EncryptionKey" not in statements(session, answer["Data"]["RoleArn"])


def versions(session, arn: str) -> list[str]:
    listed = session.client("stepfunctions").list_state_machine_versions(stateMachineArn=arn)
    return [v["stateMachineVersionArn"].rsplit(":", 1)[1] for v in listed["stateMachineVersions"]]


def alias_target(session, alias_arn: str) -> str:
    described = session.client("stepfunctions").describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    return str(described["routingConfiguration"][0]["stateMachineVersionArn"].rsplit(":", 1)[1])


PUBLISHED = {"PublishVersion": "true", "VersionDescription": "nightly", "AliasName": "live"}


def test_versions_are_published_on_change_the_alias_follows_and_a_rollback_moves_it_back(cfn, session, props):
    first = {**props, **PUBLISHED}
    answer = cfn.create(first)
    assert answer["Status"] == "SUCCESS", answer
    arn = answer["PhysicalResourceId"]
    assert answer["Data"]["VersionArn"] == f"{arn}:1" and answer["Data"]["AliasArn"] == f"{arn}:live"
    assert alias_target(session, f"{arn}:live") == "1"

    second = {**first, "TimeoutSeconds": "600"}
    updated = cfn.update(arn, second, first)
    assert updated["Data"]["VersionArn"] == f"{arn}:2" and alias_target(session, f"{arn}:live") == "2"

    tagged = {**second, "Tags": [{"Key": "team", "Value": "data"}]}
    assert cfn.update(arn, tagged, second)["Data"]["VersionArn"] == f"{arn}:2", "no change, no version"

    rolled_back = cfn.update(arn, first, tagged)  # CloudFormation writes the old properties back
    assert rolled_back["Data"]["VersionArn"] == f"{arn}:1"
    assert alias_target(session, f"{arn}:live") == "1" and versions(session, arn) == ["2", "1"]
    assert "TimeoutSeconds" not in str(machine(session, arn)["definition"])


def test_older_versions_are_pruned_except_what_an_alias_runs(cfn, session, props):
    base = {**props, **PUBLISHED, "VersionsToKeep": "2"}
    answer = cfn.create(base)
    arn = answer["PhysicalResourceId"]
    sfn = session.client("stepfunctions")
    sfn.create_state_machine_alias(
        name="pinned", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}]
    )
    previous = base
    for timeout in ("100", "200", "300", "400"):
        current = {**base, "TimeoutSeconds": timeout}
        assert cfn.update(arn, current, previous)["Status"] == "SUCCESS"
        previous = current
    assert versions(session, arn) == ["5", "4", "1"], "the two newest, and the one another alias runs"


def test_renaming_the_alias_or_turning_publishing_off_removes_the_old_alias(cfn, session, props):
    first = {**props, **PUBLISHED}
    arn = cfn.create(first)["PhysicalResourceId"]
    renamed = {**first, "AliasName": "prod"}
    assert cfn.update(arn, renamed, first)["Data"]["AliasArn"] == f"{arn}:prod"
    aliases = session.client("stepfunctions").list_state_machine_aliases(stateMachineArn=arn)[
        "stateMachineAliases"
    ]
    assert [a["stateMachineAliasArn"] for a in aliases] == [f"{arn}:prod"]
    off = {k: v for k, v in props.items()}
    updated = cfn.update(arn, off, renamed)
    assert updated["Status"] == "SUCCESS" and "AliasArn" not in updated["Data"]
    assert (
        session.client("stepfunctions").list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
        == []
    )


def test_a_replacement_starts_its_own_versions_and_a_delete_leaves_nothing(cfn, session, props):
    first = {**props, **PUBLISHED}
    answer = cfn.create(first)
    old = answer["PhysicalResourceId"]
    renamed = {**first, "StateMachineName": "nightly-v2"}
    replaced = cfn.update(old, renamed, first)
    new = replaced["PhysicalResourceId"]
    assert new != old and replaced["Data"]["VersionArn"] == f"{new}:1"
    assert cfn.delete(old, first)["Status"] == "SUCCESS"
    assert cfn.delete(new, renamed)["Status"] == "SUCCESS"
    assert provider_leftovers(session) == ([], [])


def test_step_functions_own_verdict_refuses_what_statelint_lets_through(cfn, session):
    definition = {
        "StartAt": "Notify",
        "States": {"Notify": {"Type": "Task", "Resource": "arn:aws:states:::nope:publish", "End": True}},
    }
    answer = cfn.create({"Definition": definition})
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "Definition.States.Notify.Resource: Step Functions finds it invalid: INVALID_RESOURCE"
    ), answer["Reason"]
    assert provider_leftovers(session) == ([], [])
