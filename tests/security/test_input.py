"""What a stack author writes into properties, and what a slow endpoint does to the answer: grants
nobody listed, log groups the administrator did not allow, a definition that explodes in memory,
a ResponseURL that trickles, and secrets in property values that must not reach the log.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from ecs_state_machine.base.aws import Aws, AwsError
from ecs_state_machine.base.errors import is_transient
from ecs_state_machine.cloudformation import response
from testkit.account import Account
from testkit.estate import ACCOUNT, REGION
from testkit.listener import TRICKLE, Listener
from tests.security.conftest import TALLY
from tests.security.test_roles import refused, workflow

SECRET = "S3cretW0rdq9Zk"


# --------------------------------------------------------------------------- PolicyStatements
def test_policy_statements_are_off_by_default(account: Account) -> None:
    extra = [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]
    refused(
        account,
        {**workflow({"TaskDefinition": "hogefuga"}), "PolicyStatements": extra},
        "AllowPolicyStatements is false",
    )


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            "PolicyStatements[0].Action '*': grants every action",
        ),
        (
            {"Effect": "Allow", "Action": ["sns:Publish", "iam:*"], "Resource": "*"},
            "'iam:*': grants every action",
        ),
        ({"Effect": "Allow", "Action": "IAM:*", "Resource": "*"}, "grants every action of a service"),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            "PolicyStatements[0].NotAction: grants everything",
        ),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"},
            "NotResource: grants",
        ),
    ],
    ids=["star", "service-star", "service-star-upper", "not-action", "not-resource"],
)
def test_statements_that_grant_what_they_do_not_list_are_refused(
    account: Account, monkeypatch: pytest.MonkeyPatch, statement: dict[str, Any], reason: str
) -> None:
    monkeypatch.setenv("ALLOW_POLICY_STATEMENTS", "true")
    refused(account, {**workflow({"TaskDefinition": "hogefuga"}), "PolicyStatements": [statement]}, reason)


def test_listed_statements_are_granted_when_allowed(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_POLICY_STATEMENTS", "true")
    extra = [{"Effect": "Allow", "Action": ["sns:Publish", "s3:Get*"], "Resource": "*"}]
    answer = account.player("team").create(
        {**workflow({"TaskDefinition": "hogefuga"}), "PolicyStatements": extra}
    )
    assert answer["Status"] == "SUCCESS", answer


# --------------------------------------------------------------------------- log groups
@pytest.mark.parametrize(
    ("group", "reason"),
    [
        (
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payments",
            "outside the provider stack's LogGroupPattern",
        ),
        (
            f"arn:aws:logs:{REGION}:999999999999:log-group:/aws/vendedlogs/states/x",
            "is not in this account and region",
        ),
        (
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/x",
            "is not in this account and region",
        ),
    ],
    ids=["other-group", "other-account", "other-region"],
)
def test_logging_only_to_the_allowed_log_groups(account: Account, group: str, reason: str) -> None:
    answer = refused(account, {**account.props, "Logging": {"Level": "ALL", "LogGroupArn": group}}, reason)
    assert answer["Reason"].startswith("Logging.LogGroupArn")


def test_an_administrator_may_widen_the_log_groups(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_GROUP_PATTERN", "/aws/lambda/*")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payments"
    answer = account.player("team").create(
        {**account.props, "Logging": {"Level": "ERROR", "LogGroupArn": group}}
    )
    assert answer["Status"] == "SUCCESS", answer


# --------------------------------------------------------------------------- a definition that explodes
def test_a_substitution_bomb_is_refused_before_it_is_built(account: Account) -> None:
    """An 80 KiB event whose placeholders would expand to about 190 MiB: refused before it is built,
    so the provider never holds more than a few MiB for it (the time it takes is make bench's)."""
    value = "A" * 65_000
    states = {f"S{i}": {"Type": "Pass", "Result": "${X}" * 8, "Next": f"S{i + 1}"} for i in range(374)}
    states["S374"] = {"Type": "Succeed"}
    props = {"Definition": {"StartAt": "S0", "States": states}, "DefinitionSubstitutions": {"X": value}}
    event_size = len(json.dumps(props))
    assert event_size < 100_000
    tracemalloc.start()
    try:
        answer = refused(account, props, "DefinitionSubstitutions: would make the Definition")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    assert "over Step Functions' 1048576" in answer["Reason"]


def test_a_single_substitution_value_is_capped(account: Account) -> None:
    props = {
        **workflow({"TaskDefinition": "${Family}"}),
        "DefinitionSubstitutions": {"Family": "x" * 70_000},
    }
    refused(account, props, "DefinitionSubstitutions.Family: is longer than 65536 characters")


# --------------------------------------------------------------------------- a slow ResponseURL
def test_a_trickling_response_url_cannot_hold_the_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testkit.tls import make_tls_material

    TALLY["attacks"] += 1
    tls = make_tls_material(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    with Listener(tls) as trickle:
        trickle.program([TRICKLE])
        started = time.monotonic()
        delivered = response.send(
            trickle.url("X-Amz-Signature=s"), {"Status": "SUCCESS", "Data": {}}, budget=3.0
        )
        elapsed = time.monotonic() - started
        assert not delivered and len(trickle.attempts) == 1
    assert elapsed < 3.5, f"the send took {elapsed:.1f} s against a 3 s budget"
    TALLY["refused"] += 1


# --------------------------------------------------------------------------- secrets in the log
def test_property_values_never_reach_the_log(
    account: Account, logs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values a stack author passes (a connection string in a tag, a container name, a log group)
    appear in Reasons, which CloudFormation shows to the stack's readers; the provider's log, read
    by whoever operates the provider, names the property and the category only."""
    TALLY["log scans"] += 1
    url = f"postgres://app:{SECRET}@db.internal:5432/app"
    cfn = account.player("team")
    failures = [
        {**account.props, "Tags": [{"Key": "db", "Value": url + "\n"}]},
        {**account.props, "ContainerName": f"c-{SECRET}"},
        {
            **account.props,
            "Logging": {
                "Level": "ALL",
                "LogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/{SECRET}",
            },
        },
        {**account.props, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{SECRET}"},
        workflow(
            {
                "TaskDefinition": "hogefuga",
                "Overrides": {"TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{SECRET}"},
            }
        ),
        {**workflow({"TaskDefinition": "${F}"}), "DefinitionSubstitutions": {"F": SECRET}},
    ]
    for props in failures:
        answer = cfn.create(props)
        assert answer["Status"] == "FAILED" and SECRET[:6] in answer["Reason"], answer
    created = cfn.create({**account.props, "Tags": [{"Key": "db", "Value": url}]})
    assert created["Status"] == "SUCCESS"
    text = logs.text()
    leaked = SECRET[:6] in text or "postgres://" in text
    TALLY["secrets logged"] += leaked
    assert not leaked
    failed = [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"FAILED"' in line]
    assert len(failed) == len(failures)
    assert {line["error_category"] for line in failed} == {"property"}
    assert {line["property"].split(".")[0].split("[")[0] for line in failed} >= {
        "Tags",
        "ContainerName",
        "Logging",
        "RoleArn",
    }


# --------------------------------------------------------------------------- errors that are not transient
def test_a_request_botocore_refuses_to_send_fails_at_once() -> None:
    assert not is_transient(ParamValidationError(report="Invalid length for parameter name"))
    pauses: list[float] = []

    class Refusing:
        def create_state_machine(self, **_: Any) -> None:
            raise ParamValidationError(report="Invalid length for parameter name")

    aws = Aws(clients={"stepfunctions": Refusing()}, sleep=pauses.append)
    with pytest.raises(AwsError) as caught:
        aws.call(
            "stepfunctions", "create_state_machine", "creating state machine x", propagation=True, name="x"
        )
    assert pauses == [] and "ParamValidationError" in caught.value.reason
