"""Requests CloudFormation did not make: forged with another stack's ids, sent at the wrong time,
for the wrong resource type, from another account, or asking for an answer at a host of the
attacker's choosing. Each is refused, changes nothing, reads nothing of the victim's beyond
CloudFormation's record, and is answered only at a CloudFormation response bucket.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ecs_state_machine.base.settings import Settings
from ecs_state_machine.cloudformation.authenticity import response_url_problem
from testkit import stacks
from testkit.account import SM, Account
from testkit.cloudformation import Player
from testkit.cloudformation import new_stack_id as stack_id
from testkit.estate import REGION
from testkit.transports import Context
from tests.security.conftest import TALLY

CFN_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=s"


def attack(account: Account, event: dict[str, Any]) -> dict[str, Any] | None:
    """Deliver a forged `event` (CloudFormation's record stays as it is); the answer, if any."""
    import app

    TALLY["attacks"] += 1
    before = account.everything()
    sent = len(account.responses)
    app.lambda_handler(event, Context())
    answers, urls = account.responses[sent:], account.urls[sent:]
    changed = account.everything() != before
    TALLY["changed"] += changed
    elsewhere = any(url != event.get("ResponseURL") or response_url_problem(url, Settings()) for url in urls)
    TALLY["answered elsewhere"] += elsewhere
    assert not changed, "a forged request changed the account"
    assert not elsewhere, f"answered at {urls}"
    assert len(answers) <= 1
    if answers:
        assert answers[0]["Status"] == "FAILED", answers[0]
        assert 0 < len(answers[0]["Reason"]) <= 256 and answers[0]["Data"] == {}
    TALLY["refused"] += 1
    return answers[0] if answers else None


@pytest.fixture
def victim(account: Account) -> tuple[Player, str]:
    """Another team's stack with one resource, created the normal way."""
    cfn = account.player("victim")
    answer = cfn.create(account.props)
    assert answer["Status"] == "SUCCESS", answer
    return cfn, answer["PhysicalResourceId"]


def forged(cfn: Player, request_type: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An event a stack author can write by hand: another stack's ids, printed on its own tags."""
    event = cfn.event(request_type, props, **extra)
    if request_type == "Update":
        event["OldResourceProperties"] = event["ResourceProperties"]
    return event


def hostile(account: Account) -> dict[str, Any]:
    """What an attacker would like the victim's state machine to become."""
    admin = account.role("attacker-admin", trust=json.dumps({"Version": "2012-10-17", "Statement": []}))
    account.family("attacker", admin, admin)
    return {**account.props, "TaskDefinition": "attacker", "ContainerName": "app", "TimeoutSeconds": 1}


# --------------------------------------------------------------------------- another stack's ids
def test_a_forged_update_of_an_idle_resource_is_refused(account: Account, victim: tuple[Player, str]) -> None:
    cfn, arn = victim
    answer = attack(account, forged(cfn, "Update", hostile(account), PhysicalResourceId=arn))
    assert answer is not None and answer["Reason"].startswith(
        "Refused: CloudFormation does not show NightlyBatch"
    )
    assert "it is not being updated" in answer["Reason"]


def test_a_forged_delete_of_an_idle_resource_is_refused(account: Account, victim: tuple[Player, str]) -> None:
    cfn, arn = victim
    answer = attack(account, forged(cfn, "Delete", account.props, PhysicalResourceId=arn))
    assert answer is not None and "it is not being deleted" in answer["Reason"]


def test_a_forged_create_in_an_existing_stack_is_refused(
    account: Account, victim: tuple[Player, str]
) -> None:
    cfn, _ = victim
    answer = attack(account, forged(cfn, "Create", account.props))
    assert answer is not None and "it is not being created" in answer["Reason"]
    other = Player(account.transport, cfn.stack_id, "NoSuchResource")
    answer = attack(account, forged(other, "Create", account.props))
    assert answer is not None and "no such resource in that stack" in answer["Reason"]


def test_creates_for_stacks_that_do_not_exist_leave_no_role_behind(account: Account) -> None:
    for index in range(5):
        ghost = Player(account.transport, stack_id(f"ghost{index}"), "Ghost")
        answer = attack(account, forged(ghost, "Create", account.props))
        assert answer is not None and "no such resource in that stack" in answer["Reason"]
    assert account.leftovers() == ([], [])


def test_requests_for_a_deleted_stack_are_refused(account: Account, victim: tuple[Player, str]) -> None:
    cfn, arn = victim
    assert cfn.delete(arn, account.props)["Status"] == "SUCCESS"
    stacks.shared().set_stack_status(cfn.stack_id, "DELETE_COMPLETE")
    recreated = account.player("attacker").create(account.props)["PhysicalResourceId"]
    for kind in ("Create", "Update", "Delete"):
        extra = {} if kind == "Create" else {"PhysicalResourceId": recreated}
        assert attack(account, forged(cfn, kind, account.props, **extra)) is not None


# --------------------------------------------------------------------------- the right stack, the wrong moment
def busy(
    cfn: Player,
    status: str,
    physical_id: str | None,
    stack_status: str,
    resource_type: str = stacks.RESOURCE_TYPE,
) -> None:
    stacks.shared().put(
        cfn.stack_id,
        cfn.logical_id,
        status=status,
        physical_id=physical_id,
        resource_type=resource_type,
        stack_status=stack_status,
    )


def test_a_delete_while_cloudformation_updates_the_resource_is_refused(
    account: Account, victim: tuple[Player, str]
) -> None:
    cfn, arn = victim
    busy(cfn, "UPDATE_IN_PROGRESS", arn, "UPDATE_IN_PROGRESS")
    answer = attack(account, forged(cfn, "Delete", account.props, PhysicalResourceId=arn))
    assert answer is not None and "it is not being deleted" in answer["Reason"]


def test_an_update_naming_another_state_machine_is_refused(
    account: Account, victim: tuple[Player, str]
) -> None:
    """CloudFormation updates the victim's resource; a forged Update of the same resource names the
    attacker's own state machine (or any other) as its id."""
    cfn, arn = victim
    mine = account.player("attacker").create(account.props)["PhysicalResourceId"]
    busy(cfn, "UPDATE_IN_PROGRESS", arn, "UPDATE_IN_PROGRESS")
    answer = attack(account, forged(cfn, "Update", hostile(account), PhysicalResourceId=mine))
    assert answer is not None and "another PhysicalResourceId" in answer["Reason"]


def test_a_delete_of_another_id_outside_a_cleanup_is_refused(
    account: Account, victim: tuple[Player, str]
) -> None:
    cfn, arn = victim
    busy(cfn, "UPDATE_IN_PROGRESS", arn, "UPDATE_IN_PROGRESS")
    answer = attack(account, forged(cfn, "Delete", account.props, PhysicalResourceId=SM + "older-one"))
    assert answer is not None and "another PhysicalResourceId" in answer["Reason"]
    assert stacks.shared().calls[-1][0] == "DescribeStacks", "the stack's status was what decided"


@pytest.mark.parametrize("resource_type", ["AWS::CloudFormation::CustomResource", "Custom::Other"])
def test_a_resource_of_another_type_is_refused(account: Account, resource_type: str) -> None:
    """A template that points another custom resource type at the ServiceToken, even one
    CloudFormation really is creating, does not get a state machine."""
    cfn = account.player("typed")
    busy(cfn, "CREATE_IN_PROGRESS", None, "CREATE_IN_PROGRESS", resource_type)
    answer = attack(account, {**forged(cfn, "Create", account.props), "ResourceType": resource_type})
    assert answer is not None and f"not a {stacks.RESOURCE_TYPE}" in answer["Reason"]


@pytest.mark.parametrize(
    "stack",
    [
        f"arn:aws:cloudformation:{REGION}:999999999999:stack/far/1a2b",
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/far/1a2b",
        "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/far/1a2b",
        "my-stack",
    ],
)
def test_a_stack_of_another_account_region_or_form_is_refused_unread(account: Account, stack: str) -> None:
    cfn = Player(account.transport, stack, "NightlyBatch")
    calls = len(stacks.shared().calls)
    answer = attack(account, forged(cfn, "Create", account.props))
    assert answer is not None and "StackId is not a stack of this account and region" in answer["Reason"]
    assert len(stacks.shared().calls) == calls, "nothing was read for it"


# --------------------------------------------------------------------------- where the answer goes
FOREIGN_URLS = [
    "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=s",
    "https://attacker.example/collect",
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
    "https://localhost/x",
    "https://[::1]/x",
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.attacker.example/x",
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com@attacker.example/x",
    "https://user:pw@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/x",
    "https://attackers-bucket.s3.amazonaws.com/x",
    "https://s3.amazonaws.com/attackers-bucket/x",
    "https://sqs.us-east-1.amazonaws.com/123456789012/queue",
    "https://cloudformation-custom-resource-response-useast1.evil-s3.amazonaws.com/x",
    "ftp://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
    "",
]


@pytest.mark.parametrize("url", FOREIGN_URLS)
def test_a_foreign_response_url_gets_no_answer_and_nothing_is_read(
    account: Account, url: str, logs: Any
) -> None:
    cfn = account.player("forger")
    event = forged(cfn, "Create", account.props)
    stacks.shared().waiting(event)  # even for a request CloudFormation did make
    calls = len(stacks.shared().calls)
    assert attack(account, {**event, "ResponseURL": url}) is None
    assert len(stacks.shared().calls) == calls, "CloudFormation's record was not even read"
    assert account.leftovers() == ([], [])
    text = logs.text()
    assert "request ignored" in text and "X-Amz-Signature" not in text and "/latest/meta-data" not in text


@pytest.mark.parametrize(
    "url",
    [
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=s",
        "https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/arn%3Aaws/x?a=b",
        "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/arn%3Aaws/x",
        "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/arn%3Aaws-cn/x",
        "https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/x",
        "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/arn%3Aaws/x",
        "https://s3-eu-west-1.amazonaws.com/cloudformation-custom-resource-response-euwest1/x",
        "https://CLOUDFORMATION-custom-resource-response-useast1.S3.amazonaws.com:443/x",
    ],
)
def test_cloudformations_response_urls_are_answered(url: str) -> None:
    assert response_url_problem(url, Settings()) is None


def test_only_the_functions_own_environment_adds_a_host() -> None:
    local = "https://127.0.0.1:8443/x"
    assert response_url_problem(local, Settings()) is not None
    assert response_url_problem(local, Settings(allowed_response_hosts=("127.0.0.1:8443",))) is None
    assert response_url_problem(local, Settings(allowed_response_hosts=("127.0.0.1:9443",))) is not None
    assert (
        response_url_problem("https://127.0.0.1/x", Settings(allowed_response_hosts=("127.0.0.1",))) is None
    )


def test_the_real_sender_never_connects_to_a_host_it_was_not_given(
    account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Through the real sender: a listening HTTPS endpoint the function was not told about gets no
    connection at all, for a forged request or a real one."""
    import app
    from ecs_state_machine.cloudformation import response
    from testkit.listener import Listener
    from testkit.tls import make_tls_material

    tls = make_tls_material(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    monkeypatch.setattr(app.helper, "_sender", response.send)
    with Listener(tls) as listener:
        cfn = account.player("forger")
        event = forged(cfn, "Create", account.props)
        url = listener.response_url(cfn.stack_id, cfn.logical_id, event["RequestId"])
        stacks.shared().waiting(event)
        attack(account, {**event, "ResponseURL": url})
        time.sleep(0.2)
        assert listener.attempts == []
        monkeypatch.setenv("ALLOWED_RESPONSE_HOSTS", listener.host_and_port)
        app.lambda_handler({**event, "ResponseURL": url}, Context())
        (attempt,) = listener.wait_for(event["RequestId"], 1, timeout=5)
        assert json.loads(attempt.body)["Status"] == "SUCCESS", "the same request, to an allowed host"


# --------------------------------------------------------------------------- CloudFormation's own lag
def test_a_record_that_lags_the_request_is_read_again_before_refusing(account: Account) -> None:
    cfn = account.player("slow-record")
    missed: list[str] = []

    def not_yet(record: stacks.Stacks, action: str, form: dict[str, str]) -> Any:
        if action == "DescribeStackResource" and not missed:
            missed.append(action)
            return stacks.error(400, "ValidationError", f"Stack '{form['StackName']}' does not exist")
        return None

    stacks.shared().hooks.append(not_yet)
    answer = cfn.create(account.props)
    assert answer["Status"] == "SUCCESS", answer
    assert missed and account.pauses[:1] == [0.5]


def test_a_refusal_reads_the_record_a_bounded_number_of_times(
    account: Account, victim: tuple[Player, str]
) -> None:
    cfn, arn = victim
    calls = len(stacks.shared().calls)
    attack(account, forged(cfn, "Update", account.props, PhysicalResourceId=arn))
    reads = [c for c, _ in stacks.shared().calls[calls:] if c == "DescribeStackResource"]
    assert len(reads) == 3 and account.pauses == [0.5, 1.0]
