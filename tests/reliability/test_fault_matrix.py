"""Fault-injection matrix: every AWS call of every lifecycle request fails, in turn, every way AWS
fails, and CloudFormation's follow-up must leave nothing behind.

At collection time each scenario (Create, Update in place, Update with replacement, Delete) is run
once without faults and its AWS operations are recorded (`Faults.log`); then for EACH position in
that sequence the call at that position is made to fail with:
- a permanent error: AccessDenied(Exception), or a validation error (mutating calls only);
- throttling (HTTP 400) and ServiceUnavailable (HTTP 503), one HTTP attempt more than botocore
  makes per call (the provider's `total_max_attempts`), so the provider's own retry must carry
  the request through;
- an answer lost after AWS applied the request (mutating calls only): botocore retries it, and
  the provider must cope with e.g. EntityAlreadyExists for a role it made itself;
- for CreateStateMachine/UpdateStateMachine, each of the three IAM-propagation AccessDenied
  messages, 3 times.
Checked for every case: one response per request; transient faults end in SUCCESS, permanent ones
in FAILED with a short clean Reason naming the action; after CloudFormation's follow-up (Delete of
the reported id after a failed Create; the rollback Update then a Delete after a failed Update; a
retried Delete after a failed Delete) nothing of the provider's remains, and a rollback restores
the state machine and role exactly. The provider's retry sleeps are recorded, not slept (see
`tests/reliability/support.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ecs_state_machine.base.aws import CLIENT_CONFIG
from testkit.cloudformation import Player
from testkit.faults import PROPAGATION_ASSUME, PROPAGATION_EVENTS, PROPAGATION_LOGS, Rule
from testkit.logs import Logs
from tests.reliability.support import TAG_SECRET, TALLY, World, assert_clean_reason, open_world

DENIED_MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/ecs-state-machine-provider-FunctionRole-1A2B3C4D5E6F/"
    "ecs-state-machine-provider is not authorized to perform: {action} on resource: * because no "
    "identity-based policy allows the {action} action"
)
# What each operation's failure Reason must say it was doing.
ACTIONS = {
    "cloudformation.DescribeStackResource": "confirming the request with CloudFormation",
    "cloudformation.DescribeStacks": "confirming the request with CloudFormation",
    "ecs.DescribeTaskDefinition": "describing task definition hogefuga",
    "ecs.ListTaskDefinitions": "listing revisions of family hogefuga",
    "ecs.DescribeClusters": "describing cluster hogefuga-cluster",
    "sfn.DescribeStateMachine": "reading the state machine",
    "sfn.ValidateStateMachineDefinition": "validating the definition with Step Functions",
    "sfn.ListTagsForResource": "reading the state machine's tags",
    "sfn.CreateStateMachine": "creating state machine",
    "sfn.UpdateStateMachine": "updating state machine",
    "sfn.TagResource": "tagging the state machine",
    "sfn.UntagResource": "untagging the state machine",
    "sfn.DeleteStateMachine": "deleting arn:aws:states:",
    "iam.CreateRole": "creating role",
    "iam.GetRole": "reading role",
    "iam.PutRolePolicy": "writing the policy of role",
    "iam.UpdateAssumeRolePolicy": "updating the trust policy of role",
    "iam.TagRole": "tagging role",
    "iam.UntagRole": "untagging role",
    "iam.ListRolePolicies": "listing policies of role",
    "iam.DeleteRolePolicy": "deleting role",
    "iam.DeleteRole": "deleting role",
    "ec2.DescribeSubnets": "describing subnets",
    "ec2.DescribeSecurityGroups": "describing security groups",
}
BOTOCORE_ATTEMPTS = CLIENT_CONFIG.retries["total_max_attempts"]  # botocore's attempts per call
TRANSIENT_TIMES = BOTOCORE_ATTEMPTS + 1
MUTATING = ("Create", "Put", "Update", "Tag", "Untag", "Delete")
PERMANENT = ("denied", "invalid")


def rule_for(kind: str, operation: str, occurrence: int) -> Rule:
    service, name = operation.split(".")
    iam = service == "iam"
    action = f"{'states' if service == 'sfn' else service}:{name}"
    ec2 = service == "ec2"
    if kind == "denied":
        code, status = (
            ("AccessDenied", 403)
            if iam
            else ("UnauthorizedOperation", 403)
            if ec2
            else ("AccessDeniedException", 400)
        )
        message = DENIED_MESSAGE.format(action=action)
        return Rule(operation, occurrence, code=code, status=status, times=None, message=message)
    if kind == "invalid":
        code = {"iam": "ValidationError", "sfn": "ValidationException"}.get(
            service, "InvalidParameterException"
        )
        return Rule(
            operation, occurrence, code=code, times=None, message=f"1 validation error detected in {name}"
        )
    if kind == "throttled":
        code = "Throttling" if iam else "RequestLimitExceeded" if ec2 else "ThrottlingException"
        return Rule(operation, occurrence, code=code, times=TRANSIENT_TIMES, message="Rate exceeded")
    if kind == "unavailable":
        return Rule(
            operation,
            occurrence,
            code="ServiceUnavailable",
            status=503,
            times=TRANSIENT_TIMES,
            message="Service unavailable",
        )
    if kind == "lost":
        return Rule(operation, occurrence, kind="lost", times=1)
    message = {
        "propagation-assume": PROPAGATION_ASSUME,
        "propagation-rule": PROPAGATION_EVENTS,
        "propagation-logs": PROPAGATION_LOGS,
    }[kind]
    return Rule(operation, occurrence, code="AccessDeniedException", times=3, message=message)


def kinds_for(operation: str) -> list[str]:
    name = operation.split(".")[1]
    kinds = ["denied", "throttled", "unavailable"]
    if name.startswith(MUTATING):
        kinds[1:1] = ["invalid"]
        kinds.append("lost")
    if operation in ("sfn.CreateStateMachine", "sfn.UpdateStateMachine"):
        kinds += ["propagation-assume", "propagation-rule", "propagation-logs"]
    return kinds


# --------------------------------------------------------------------------- scenarios
@dataclass
class Stage:
    """Arms the rule right before the faulted request, keeps its call log, disarms after it."""

    world: World
    rule: Rule | None = None
    log: list[str] = field(default_factory=list)  # API calls of the faulted request
    attempts: Counter[str] = field(default_factory=Counter)  # its HTTP attempts
    sleeps: list[float] = field(default_factory=list)  # the provider's retry delays in it

    def arm(self) -> None:
        self.world.faults.reset()
        self.world.sleeps.clear()
        if self.rule is not None:
            self.world.faults.add(self.rule)

    def disarm(self) -> None:
        self.log = list(self.world.faults.log)
        self.attempts = Counter(self.world.faults.attempts)
        self.sleeps = list(self.world.sleeps)
        self.world.faults.rules.clear()


def snapshot(world: World, arn: str) -> dict[str, Any]:
    machine = world.machine(arn)
    assert machine is not None, f"{arn} is gone"
    return {**machine, "role": world.role(machine["roleArn"])}


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["Status"] == "SUCCESS", answer
    return answer


def scenario_create(world: World, cfn: Player, stage: Stage) -> dict[str, Any]:
    props = world.props
    stage.arm()
    answer = cfn.create(props)
    stage.disarm()
    # Failed: CloudFormation deletes whatever id was reported. Succeeded: the stack is deleted later.
    ok(cfn.delete(answer["PhysicalResourceId"], props))
    return answer


def scenario_update(world: World, cfn: Player, stage: Stage) -> dict[str, Any]:
    old = world.props
    new = {
        **old,
        "TimeoutSeconds": 3600,
        "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "owner", "Value": TAG_SECRET}],
    }
    arn = ok(cfn.create(old))["PhysicalResourceId"]
    before = snapshot(world, arn)
    stage.arm()
    answer = cfn.update(arn, new, old)
    stage.disarm()
    assert answer["PhysicalResourceId"] == arn, "an in-place update must keep the id"
    if answer["Status"] == "FAILED":
        rollback = ok(cfn.update(arn, old, new))
        assert rollback["PhysicalResourceId"] == arn
        assert snapshot(world, arn) == before, "the rollback must restore the state machine and its role"
    else:
        after = snapshot(world, arn)
        assert after["definition"]["States"]["RunTask"]["TimeoutSeconds"] == 3600
        assert after["tags"].get("owner") == TAG_SECRET and "cost" not in after["tags"]
        assert after["role"]["tags"].get("team") == "platform" and "cost" not in after["role"]["tags"]
    ok(cfn.delete(arn, old))
    return answer


def scenario_replace(world: World, cfn: Player, stage: Stage) -> dict[str, Any]:
    suffix = cfn.stack_id.split("/")[1]
    old = {**world.props, "StateMachineName": f"nightly-a-{suffix}"}
    new = {**world.props, "StateMachineName": f"nightly-b-{suffix}"}
    arn = ok(cfn.create(old))["PhysicalResourceId"]
    before = snapshot(world, arn)
    stage.arm()
    answer = cfn.update(arn, new, old)
    stage.disarm()
    if answer["Status"] == "FAILED":
        assert answer["PhysicalResourceId"] == arn, "a failed update must report the id it was given"
        rollback = ok(cfn.update(arn, old, new))
        assert rollback["PhysicalResourceId"] == arn
        assert snapshot(world, arn) == before, "the rollback must restore the state machine and its role"
        ok(cfn.delete(arn, old))
    else:
        replacement = answer["PhysicalResourceId"]
        assert replacement.endswith(f":stateMachine:nightly-b-{suffix}")
        kept = snapshot(world, replacement)
        ok(cfn.delete(arn, old))  # CloudFormation's cleanup of the replaced resource
        assert world.machine(arn) is None
        assert snapshot(world, replacement) == kept, "deleting the old id must not touch the new one"
        ok(cfn.delete(replacement, new))
    return answer


def scenario_delete(world: World, cfn: Player, stage: Stage) -> dict[str, Any]:
    props = world.props
    arn = ok(cfn.create(props))["PhysicalResourceId"]
    stage.arm()
    answer = cfn.delete(arn, props)
    stage.disarm()
    assert answer["PhysicalResourceId"] == arn
    if answer["Status"] == "FAILED":
        ok(cfn.delete(arn, props))  # the operator retries the stack deletion
    return answer


SCENARIOS: dict[str, Callable[[World, Player, Stage], dict[str, Any]]] = {
    "create": scenario_create,
    "update": scenario_update,
    "replace": scenario_replace,
    "delete": scenario_delete,
}


# --------------------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class Case:
    scenario: str
    position: int
    operation: str
    occurrence: int
    kind: str

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.position:02d}-{self.operation}#{self.occurrence}-{self.kind}"

    @property
    def tolerated(self) -> bool:
        """The read after a Create or replacement that asks whether CloudFormation still waits: if
        it fails, what the confirmed request made is kept (a read error must not undo a deploy)."""
        return (
            self.operation == "cloudformation.DescribeStackResource"
            and self.occurrence == 2
            and self.scenario in ("create", "replace")
        )


def record_sequences() -> dict[str, list[str]]:
    """Each scenario's AWS operations, in order, from a run without faults."""
    sequences = {}
    with open_world() as world:
        for name, scenario in SCENARIOS.items():
            world.reset()
            stage = Stage(world)
            answer = scenario(world, world.player(), stage)
            assert answer["Status"] == "SUCCESS", answer
            assert world.leftovers() == ([], []), name
            sequences[name] = stage.log
    return sequences


def build_cases() -> list[Case]:
    cases = []
    for scenario, sequence in record_sequences().items():
        for position, operation in enumerate(sequence):
            occurrence = sequence[: position + 1].count(operation)
            cases += [Case(scenario, position, operation, occurrence, k) for k in kinds_for(operation)]
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = build_cases()
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def test_fault(case: Case, fresh: World, logs: Logs) -> None:
    TALLY["fault cases"] += 1
    world = fresh
    rule = rule_for(case.kind, case.operation, case.occurrence)
    stage = Stage(world, rule)
    cfn = world.player()
    start = len(world.responses)
    try:
        answer = SCENARIOS[case.scenario](world, cfn, stage)
    finally:
        leaked = world.leftovers()
        if leaked != ([], []):
            TALLY["fault leaks"] += 1
    assert leaked == ([], []), f"left behind (roles, state machines): {leaked}"
    assert rule.fired, f"{case.operation} #{case.occurrence} was never called: {stage.log}"

    if case.kind in PERMANENT and case.tolerated:
        assert answer["Status"] == "SUCCESS", f"a failed read after the work ended in {answer}"
        outcome = "fault success"
    elif case.kind in PERMANENT:
        assert answer["Status"] == "FAILED", f"a permanent {case.kind} ended in {answer}"
        reason = answer["Reason"]
        assert_clean_reason(reason)
        assert ACTIONS[case.operation] in reason, reason
        assert reason.startswith("The provider was denied" if case.kind == "denied" else "AWS refused"), (
            reason
        )
        outcome = "fault failed cleanly"
    else:
        assert answer["Status"] == "SUCCESS", f"a transient {case.kind} ended in {answer}"
        if case.kind == "lost":
            assert stage.attempts[case.operation] > stage.log.count(case.operation), "botocore did not retry"
        else:
            assert rule.fired == rule.times
            assert stage.sleeps, "the provider's own retry never ran"
            assert all(0.125 <= delay <= 1.0 for delay in stage.sleeps), stage.sleeps
        outcome = "fault success"

    # Every request of the case logged one structured outcome matching what CloudFormation got.
    outcomes = logs.outcomes()
    for response in world.responses[start:]:
        lines = outcomes.get(response["RequestId"], [])
        assert [line["outcome"] for line in lines] == [response["Status"]], (response, lines)
        line = lines[0]
        assert line["stack_id"] == cfn.stack_id and line["logical_id"] == cfn.logical_id
        assert line["request_type"] in ("Create", "Update", "Delete")
    TALLY[outcome] += 1


def test_the_provider_retry_backs_off_within_its_bounds(fresh: World) -> None:
    """Delays asked for by the provider's retry (recorded instead of slept) stay in 0.125-1 s."""
    world = fresh
    world.faults.add(Rule("iam.PutRolePolicy", code="Throttling", times=BOTOCORE_ATTEMPTS * 7))
    answer = world.player().create(world.props)
    assert answer["Status"] == "SUCCESS", answer
    assert world.faults.attempts["iam.PutRolePolicy"] == BOTOCORE_ATTEMPTS * 7 + 1
    assert len(world.sleeps) == 7, world.sleeps
    windows = [(0.125, 0.25), (0.25, 0.5)] + [(0.5, 1.0)] * 5
    assert all(low <= delay <= high for delay, (low, high) in zip(world.sleeps, windows, strict=True)), (
        world.sleeps
    )


def test_backend_reads_match_the_api(fresh: World) -> None:
    """The matrix reads moto's backends directly for speed; they must agree with the API."""
    world = fresh
    cfn = world.player()
    answer = cfn.create(world.props)
    arn, role_arn = answer["PhysicalResourceId"], answer["Data"]["RoleArn"]
    assert world.machine(arn) == world.machine_via_api(arn) is not None
    assert world.role(role_arn) == world.role_via_api(role_arn) is not None

    def provider_leftovers(session: object) -> tuple[list[str], list[str]]:
        return world.account.leftovers()

    assert world.leftovers() == tuple(sorted(x) for x in provider_leftovers(world.session)) != ([], [])
    cfn.delete(arn, world.props)
    assert world.leftovers() == provider_leftovers(world.session) == ([], [])
    assert world.machine(arn) is None and world.role(role_arn) is None


# --------------------------------------------------------------------------- two faults at once
@pytest.mark.parametrize(
    "scenario",
    ["create", "replace"],
)
def test_a_lost_create_role_answer_then_a_permanent_failure_leaves_nothing(
    fresh: World, scenario: str
) -> None:
    """CreateRole is applied but its answer is lost (botocore's retry then gets EntityAlreadyExists),
    and CreateStateMachine is denied: the request fails, and the follow-up must leave nothing."""
    world = fresh
    lost = Rule("iam.CreateRole", kind="lost", times=1)
    denied = rule_for("denied", "sfn.CreateStateMachine", 1)
    stage = Stage(world, lost)
    original_arm = stage.arm

    def arm_both() -> None:
        original_arm()
        world.faults.add(denied)

    stage.arm = arm_both  # type: ignore[method-assign]
    answer = SCENARIOS[scenario](world, world.player(), stage)
    assert answer["Status"] == "FAILED" and lost.fired and denied.fired
    assert answer["Reason"].startswith("The provider was denied creating state machine"), answer["Reason"]
    assert world.leftovers() == ([], []), "left behind after CloudFormation's follow-up"
