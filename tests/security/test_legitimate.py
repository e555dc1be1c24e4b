"""Every sequence CloudFormation really runs still works with the confirmation in place, each step
checked against CloudFormation's record as CloudFormation keeps it; and a request CloudFormation
stopped waiting for (a cancelled or timed-out stack operation) leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from testkit import stacks
from testkit.account import SM, Account
from testkit.transports import Context
from tests.security.conftest import TALLY


@contextmanager
def sequence() -> Iterator[None]:
    TALLY["sequences"] += 1
    yield
    TALLY["sequences ok"] += 1


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["Status"] == "SUCCESS", answer
    return answer


def test_create_update_replace_cleanup_delete(account: Account) -> None:
    with sequence():
        cfn = account.player("app")
        old = {**account.props, "StateMachineName": "nightly-a"}
        arn = ok(cfn.create(old))["PhysicalResourceId"]
        updated = {**old, "TimeoutSeconds": 600}
        assert ok(cfn.update(arn, updated, old))["PhysicalResourceId"] == arn
        renamed = {**updated, "StateMachineName": "nightly-b"}
        replacement = ok(cfn.update(arn, renamed, updated))["PhysicalResourceId"]
        assert replacement == SM + "nightly-b"
        ok(cfn.delete(arn, updated))  # cleanup: the stack names nightly-b, the request nightly-a
        assert stacks.shared().calls[-1][0] == "DescribeStacks"
        assert account.leftovers()[1] == ["nightly-b"]
        ok(cfn.delete(replacement, renamed))
        assert account.leftovers() == ([], [])


def test_a_failed_update_and_its_rollback(account: Account) -> None:
    with sequence():
        cfn = account.player("app")
        arn = ok(cfn.create(account.props))["PhysicalResourceId"]
        bad = {**account.props, "ContainerName": "nope"}
        assert cfn.update(arn, bad, account.props)["Status"] == "FAILED"
        assert stacks.shared().stack_status(cfn.stack_id) == "UPDATE_ROLLBACK_IN_PROGRESS"
        ok(cfn.update(arn, account.props, bad))
        assert stacks.shared().stack_status(cfn.stack_id) == "UPDATE_ROLLBACK_COMPLETE"
        ok(cfn.delete(arn, account.props))
        assert account.leftovers() == ([], [])


def test_a_rolled_back_replacement_deletes_the_new_one_and_keeps_the_old(account: Account) -> None:
    with sequence():
        cfn = account.player("app")
        old = {**account.props, "StateMachineName": "keep-a"}
        new = {**account.props, "StateMachineName": "drop-b"}
        arn = ok(cfn.create(old))["PhysicalResourceId"]
        replacement = ok(cfn.update(arn, new, old))["PhysicalResourceId"]
        # Another resource fails: CloudFormation goes back to the old resource, then cleans up the new.
        stacks.shared().put(
            cfn.stack_id,
            cfn.logical_id,
            status="UPDATE_COMPLETE",
            physical_id=arn,
            stack_status="UPDATE_ROLLBACK_IN_PROGRESS",
        )
        ok(cfn.delete(replacement, new))
        assert stacks.shared().stack_status(cfn.stack_id) == "UPDATE_ROLLBACK_COMPLETE"
        assert account.leftovers()[1] == ["keep-a"]
        ok(cfn.delete(arn, old))


@pytest.mark.parametrize("name", [None, "taken"], ids=["generated-name", "name-taken"])
def test_a_failed_create_and_the_delete_that_follows(account: Account, name: str | None) -> None:
    with sequence():
        if name:
            ok(account.player("other").create({**account.props, "StateMachineName": name}))
        before = account.everything()
        cfn = account.player("app")
        props = (
            {**account.props, "ContainerName": "nope"}
            if name is None
            else {**account.props, "StateMachineName": name}
        )
        failed = cfn.create(props)
        assert failed["Status"] == "FAILED"
        ok(cfn.delete(failed["PhysicalResourceId"], props))
        assert account.everything() == before


def cancel_at(read: int, status: str = "CREATE_FAILED", stack_status: str = "ROLLBACK_IN_PROGRESS") -> Any:
    """A hook: CloudFormation gives up on the resource just before the `read`-th record read."""
    seen = []

    def hook(record: stacks.Stacks, action: str, form: dict[str, str]) -> None:
        if action == "DescribeStackResource":
            seen.append(action)
            if len(seen) == read:
                resource = record.resource(form["StackName"], form["LogicalResourceId"])
                assert resource is not None
                resource.status = status
                record.set_stack_status(form["StackName"], stack_status)

    return hook


def test_a_create_cloudformation_stopped_waiting_for_is_undone(account: Account) -> None:
    """The stack operation is cancelled while the Create runs: CloudFormation marks the resource
    failed and deletes it with an id of its own; what the Create made must not outlive it."""
    import app

    with sequence():
        cfn = account.player("app")
        event = cfn.event("Create", account.props)
        stacks.shared().waiting(event)
        stacks.shared().hooks.append(cancel_at(2))
        sent = len(account.responses)
        app.lambda_handler(event, Context())
        (answer,) = account.responses[sent:]
        assert answer["Status"] == "FAILED" and "stopped waiting" in answer["Reason"]
        assert account.leftovers() == ([], [])
        invented = f"app_NightlyBatch_{event['RequestId'][:8]}"
        delete = cfn.event("Delete", account.props, PhysicalResourceId=invented)
        ok(cfn.deliver(delete))


def test_a_replacement_cloudformation_stopped_waiting_for_is_undone(account: Account) -> None:
    import app

    with sequence():
        cfn = account.player("app")
        old = {**account.props, "StateMachineName": "stay-a"}
        new = {**account.props, "StateMachineName": "gone-b"}
        arn = ok(cfn.create(old))["PhysicalResourceId"]
        before = account.everything()
        event = cfn.event("Update", new, PhysicalResourceId=arn)
        event["OldResourceProperties"] = cfn.event("Update", old)["ResourceProperties"]
        stacks.shared().waiting(event)
        stacks.shared().hooks.append(cancel_at(2, "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS"))
        app.lambda_handler(event, Context())
        assert account.responses[-1]["Status"] == "FAILED"
        assert account.everything() == before


def test_a_create_still_awaited_keeps_what_it_made(account: Account) -> None:
    """The read after the work is the only thing that can undo it: a Create whose stack carries on
    keeps its state machine (the usual case, checked here with the second read in place)."""
    with sequence():
        cfn = account.player("app")
        calls = len(stacks.shared().calls)
        arn = ok(cfn.create(account.props))["PhysicalResourceId"]
        reads = [action for action, _ in stacks.shared().calls[calls:]]
        assert reads == ["DescribeStackResource", "DescribeStackResource"]
        assert account.leftovers()[1] == [arn.rsplit(":", 1)[1]]


def test_sam_local_invoke_skips_the_confirmation_and_says_so(
    account: Account, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    """`sam local invoke -e events/create.json` has no stack to ask: the request is acted on, and
    the log says it was not confirmed."""
    with sequence():
        monkeypatch.setenv("AWS_SAM_LOCAL", "true")
        cfn = account.player("local")
        calls = len(stacks.shared().calls)
        answer = ok(cfn.deliver(cfn.event("Create", account.props)))
        ok(cfn.deliver(cfn.event("Delete", account.props, PhysicalResourceId=answer["PhysicalResourceId"])))
        assert len(stacks.shared().calls) == calls
        assert "not confirmed with CloudFormation" in logs.text()
        assert account.leftovers() == ([], [])
