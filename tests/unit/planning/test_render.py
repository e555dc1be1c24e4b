"""The rendered definition and policies, for every pattern and option, checked against the
statements the README promises and against real validators (statelint for ASL, parliament for IAM)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from ecs_state_machine.base.settings import matches
from ecs_state_machine.planning.render import render_role_policy, render_trust_policy
from ecs_state_machine.planning.single_task import render_definition
from ecs_state_machine.schema.lint import problems
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.resolved import Resolved, TaskDefinition

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from parliament import analyze_policy_string

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/hogefuga-cluster"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/hogefuga:3"
TASK_ROLE = "arn:aws:iam::123456789012:role/hogefuga-task"
EXEC_ROLE = "arn:aws:iam::123456789012:role/hogefuga-execution"
NETWORK = {"Subnets": ["subnet-0a1b2c3d", "subnet-2c3d4e5f"], "SecurityGroups": ["sg-0e4f5a6b"]}
PATTERNS = ["RUN_JOB", "REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN"]


def resolved(
    *,
    arn: str = TD_ARN,
    cluster: str = CLUSTER,
    roles: tuple[str | None, str | None] = (TASK_ROLE, EXEC_ROLE),
    network_mode: str = "awsvpc",
) -> Resolved:
    family, revision = arn.rsplit("/", 1)[1].split(":")
    td = TaskDefinition(
        arn=arn,
        family=family,
        revision=int(revision),
        containers=("hoge", "sidecar"),
        network_mode=network_mode,
        compatibilities=("FARGATE",),
        task_role_arn=roles[0],
        execution_role_arn=roles[1],
    )
    return Resolved(td, "hoge", cluster)


def props(**extra: Any):
    base = {"TaskDefinition": "hogefuga", "ContainerName": "hoge", "Cluster": "hogefuga-cluster", **NETWORK}
    return parse({**base, **extra})


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def assert_valid_asl(definition: dict[str, Any]) -> None:
    """Valid as Step Functions validates (the provider's own check; asl-validator checks the same
    documents independently in test_asl_validator.py)."""
    found = problems(json.loads(json.dumps(definition)))
    assert found == [], found


def assert_parliament_clean(policy: dict[str, Any], *, trust: bool = False) -> None:
    findings = analyze_policy_string(json.dumps(policy)).findings
    issues = [(f.issue, f.detail) for f in findings]
    if trust:  # a trust policy is a resource policy: it names a Principal, not a Resource
        issues.remove(("MALFORMED", "Statement contains neither Resource nor NotResource"))
    assert issues == []


@pytest.mark.parametrize(
    ("pattern", "suffix"),
    [("RUN_JOB", ".sync"), ("REQUEST_RESPONSE", ""), ("WAIT_FOR_TASK_TOKEN", ".waitForTaskToken")],
)
def test_the_example_renders_what_cdk_renders_for_an_owned_task_definition(pattern, suffix):
    definition = render_definition(props(IntegrationPattern=pattern), resolved())
    assert_valid_asl(definition)
    state = definition["States"][definition["StartAt"]]
    assert state["Type"] == "Task" and state["End"] is True
    assert state["Resource"] == f"arn:aws:states:::ecs:runTask{suffix}"
    parameters = state["Parameters"]
    assert parameters["Cluster"] == CLUSTER
    assert parameters["TaskDefinition"] == TD_ARN
    assert parameters["LaunchType"] == "FARGATE"
    assert parameters["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {**NETWORK, "AssignPublicIp": "DISABLED"}
    }
    override = parameters["Overrides"]["ContainerOverrides"][0]
    assert override["Name"] == "hoge" and override["Command.$"] == "$.command"


def test_wait_for_task_token_passes_the_token_as_env_task_token():
    state = render_definition(props(IntegrationPattern="WAIT_FOR_TASK_TOKEN"), resolved())["States"][
        "RunTask"
    ]
    override = state["Parameters"]["Overrides"]["ContainerOverrides"][0]
    assert override["Environment"] == [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]


def test_options_reach_the_task_state():
    p = props(
        CommandPath="$.job.argv",
        EnvironmentPath="$.job.env",
        PlatformVersion="1.4.0",
        AssignPublicIp="true",
        PropagateTags="TASK_DEFINITION",
        EnableExecuteCommand="true",
        TimeoutSeconds="3600",
        HeartbeatSeconds="600",
        Retry=[{"ErrorEquals": ["ECS.AmazonECSException"], "MaxAttempts": "2", "BackoffRate": "1.5"}],
    )
    definition = render_definition(p, resolved())
    assert_valid_asl(definition)
    state = definition["States"]["RunTask"]
    parameters = state["Parameters"]
    assert parameters["Overrides"]["ContainerOverrides"][0] == {
        "Name": "hoge",
        "Command.$": "$.job.argv",
        "Environment.$": "$.job.env",
    }
    assert parameters["PlatformVersion"] == "1.4.0"
    assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert parameters["PropagateTags"] == "TASK_DEFINITION"
    assert parameters["EnableExecuteCommand"] is True
    assert (state["TimeoutSeconds"], state["HeartbeatSeconds"]) == (3600, 600)
    assert state["Retry"] == [
        {"ErrorEquals": ["ECS.AmazonECSException"], "MaxAttempts": 2, "BackoffRate": 1.5}
    ]


def test_capacity_provider_strategy_replaces_launch_type():
    p = props(
        CapacityProviderStrategy=[
            {"CapacityProvider": "FARGATE_SPOT", "Weight": "3"},
            {"CapacityProvider": "FARGATE", "Base": "1"},
        ]
    )
    parameters = render_definition(p, resolved())["States"]["RunTask"]["Parameters"]
    assert "LaunchType" not in parameters
    assert parameters["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
        {"CapacityProvider": "FARGATE", "Base": 1},
    ]


def test_bridge_network_mode_has_no_network_configuration():
    p = parse({"TaskDefinition": "hogefuga", "LaunchType": "EC2"})
    parameters = render_definition(p, resolved(network_mode="bridge"))["States"]["RunTask"]["Parameters"]
    assert "NetworkConfiguration" not in parameters and parameters["LaunchType"] == "EC2"


def test_run_job_policy_has_exactly_the_documented_statements():
    policy = render_role_policy(props(), resolved())
    assert_parliament_clean(policy)
    by_sid = statements(policy)
    assert set(by_sid) == {"RunTask", "PassTaskRoles", "WatchTask", "TaskEventsRule"}
    assert by_sid["RunTask"]["Action"] == "ecs:RunTask"
    assert by_sid["RunTask"]["Resource"] == TD_ARN
    assert by_sid["RunTask"]["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTER}}
    assert by_sid["PassTaskRoles"]["Resource"] == [TASK_ROLE, EXEC_ROLE]
    assert by_sid["PassTaskRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert sorted(by_sid["WatchTask"]["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert by_sid["WatchTask"]["Resource"] == "arn:aws:ecs:us-east-1:123456789012:task/hogefuga-cluster/*"
    assert (
        by_sid["TaskEventsRule"]["Resource"]
        == "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"
    )
    assert sorted(by_sid["TaskEventsRule"]["Action"]) == [
        "events:DescribeRule",
        "events:PutRule",
        "events:PutTargets",
    ]


@pytest.mark.parametrize("pattern", ["REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN"])
def test_patterns_that_do_not_wait_for_the_task_get_no_watch_or_events_rights(pattern):
    policy = render_role_policy(props(IntegrationPattern=pattern), resolved())
    assert_parliament_clean(policy)
    assert set(statements(policy)) == {"RunTask", "PassTaskRoles"}


def test_no_pass_role_statement_when_the_revision_names_no_roles():
    policy = render_role_policy(props(), resolved(roles=(None, None)))
    assert "PassTaskRoles" not in statements(policy)
    assert "iam:PassRole" not in json.dumps(policy)


def test_one_role_used_for_both_is_passed_once():
    policy = render_role_policy(props(), resolved(roles=(TASK_ROLE, TASK_ROLE)))
    assert statements(policy)["PassTaskRoles"]["Resource"] == TASK_ROLE


def test_unpinned_revision_runs_the_family_and_the_policy_covers_family_star_never_the_bare_family():
    p = props(PinRevision="false")
    definition = render_definition(p, resolved())
    assert definition["States"]["RunTask"]["Parameters"]["TaskDefinition"] == "hogefuga"
    resource = statements(render_role_policy(p, resolved()))["RunTask"]["Resource"]
    assert resource == "arn:aws:ecs:us-east-1:123456789012:task-definition/hogefuga:*"


def test_tag_propagation_logging_and_tracing_add_only_their_statements():
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/batch"
    p = props(
        PropagateTags="TASK_DEFINITION",
        Logging={"Level": "ERROR", "LogGroupArn": group},
        TracingEnabled="true",
    )
    policy = render_role_policy(p, resolved())
    assert_parliament_clean(policy)
    by_sid = statements(policy)
    assert by_sid["TagNewTask"]["Action"] == "ecs:TagResource"
    assert by_sid["TagNewTask"]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    assert "logs:CreateLogDelivery" in by_sid["LogDelivery"]["Action"]
    assert "xray:PutTraceSegments" in by_sid["XRay"]["Action"]
    off = render_role_policy(props(Logging={"Level": "OFF"}), resolved())
    assert {"TagNewTask", "LogDelivery", "XRay"}.isdisjoint(statements(off))


def test_partition_region_and_account_come_from_the_resolved_arns():
    cn_td = "arn:aws-cn:ecs:cn-north-1:210987654321:task-definition/hogefuga:3"
    cn_cluster = "arn:aws-cn:ecs:cn-north-1:210987654321:cluster/hogefuga-cluster"
    r = resolved(arn=cn_td, cluster=cn_cluster, roles=(None, None))
    definition = render_definition(props(), r)
    assert definition["States"]["RunTask"]["Resource"] == "arn:aws-cn:states:::ecs:runTask.sync"
    text = json.dumps(render_role_policy(props(), r))
    assert "arn:aws:" not in text
    assert "arn:aws-cn:events:cn-north-1:210987654321:rule/StepFunctionsGetEventsForECSTaskRule" in text


def test_trust_policy_lets_only_its_own_state_machine_assume_the_role():
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nightly"
    trust = render_trust_policy(arn)
    assert_parliament_clean(trust, trust=True)
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    patterns = statement["Condition"]["ArnLike"]["aws:SourceArn"]

    def admitted(source: str) -> bool:
        return any(matches(pattern, source) for pattern in patterns)

    for own in (arn, f"{arn}:3", f"{arn}:live", f"{arn}/shards:1f2e"):
        assert admitted(own), own
    for other in (
        "arn:aws:states:us-east-1:123456789012:stateMachine:nightly-copy",
        "arn:aws:states:us-east-1:123456789012:stateMachine:nightl",
        "arn:aws:states:us-east-1:123456789012:stateMachine:other:nightly",
        "arn:aws:states:us-west-2:123456789012:stateMachine:nightly",
    ):
        assert not admitted(other), other


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("pin", ["true", "false"])
def test_every_pattern_and_pin_renders_valid_asl_and_a_clean_policy(pattern, pin):
    p = props(IntegrationPattern=pattern, PinRevision=pin)
    assert_valid_asl(render_definition(p, resolved()))
    assert_parliament_clean(render_role_policy(p, resolved()))


@pytest.mark.parametrize(
    ("path", "expression"),
    [
        ("$.command", "$states.input.command"),
        ("$.job.argv[0]", "$states.input.job.argv[0]"),
        ("$['my args']", "$states.input.`my args`"),
        ("$.a-b", "$states.input.`a-b`"),
        ("$$.Execution.Input.command", "$states.context.Execution.Input.command"),
        ("$", "$states.input"),
    ],
)
def test_jsonpath_to_jsonata(path, expression):
    from ecs_state_machine.planning.single_task import jsonata_of

    assert jsonata_of(path) == expression


@pytest.mark.parametrize("pattern", PATTERNS)
def test_jsonata_rendering_is_valid_and_carries_the_token_as_cdk_does(pattern):
    p = props(QueryLanguage="JSONata", IntegrationPattern=pattern)
    definition = render_definition(p, resolved())
    assert_valid_asl(definition)
    assert definition["QueryLanguage"] == "JSONata"
    state = definition["States"]["RunTask"]
    assert "Parameters" not in state
    override = state["Arguments"]["Overrides"]["ContainerOverrides"][0]
    assert override["Command"] == "{% $states.input.command %}"
    if pattern == "WAIT_FOR_TASK_TOKEN":
        assert override["Environment"] == [
            {"Name": "TASK_TOKEN", "Value": "{% $states.context.Task.Token %}"}
        ]


def test_an_integer_backoff_rate_from_cloudformation_stays_an_integer_and_is_valid():
    p = props(Retry=[{"ErrorEquals": ["States.TaskFailed"], "BackoffRate": "2", "IntervalSeconds": "5"}])
    definition = render_definition(p, resolved())
    (retrier,) = definition["States"]["RunTask"]["Retry"]
    assert retrier["BackoffRate"] == 2 and isinstance(retrier["BackoffRate"], int)
    assert_valid_asl(definition)
