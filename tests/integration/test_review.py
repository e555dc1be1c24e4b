"""`ecs-state-machine plan` and `drift` against moto in process, beside the real handler: what the
plan shows is what the deploy writes, changes and broadenings are seen before the deploy, a refusal
is the deploy's own Reason, and edits made outside the stack are named."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecs_state_machine.base.aws import Aws
from ecs_state_machine.cli.main import main
from ecs_state_machine.cli.provider_settings import DEFAULTS
from testkit import review, stacks
from testkit.account import Account
from testkit.docs import section
from testkit.estate import ACCOUNT, REGION
from testkit.templates import EXAMPLES, TEMPLATE, Stack, load, resources_of_type
from tests.integration.test_policy_overflow import many_families  # noqa: F401  (a fixture)


class Cli:
    """The command in this process, with its own session, every AWS call it makes recorded."""

    def __init__(self, tmp_path: Path) -> None:
        self.session = boto3.Session(region_name=REGION)
        self.recorder = review.Recorder(self.session)
        self.tmp_path = tmp_path

    def __call__(self, *argv: str, template: str | None = None) -> tuple[int, Any]:
        args = list(argv)
        if template is not None:
            path = self.tmp_path / "template.yaml"
            path.write_text(template)
            args.insert(1, str(path))
        out = io.StringIO()
        code = main([*args, "--format", "json"], aws=Aws(session=self.session, budget=1.0), out=out)
        return code, json.loads(out.getvalue()) if out.getvalue() else None


@pytest.fixture
def cli(account: Account, tmp_path: Path) -> Cli:
    review.provider_stack()
    return Cli(tmp_path)


def network(account: Account) -> dict[str, Any]:
    return {"Subnets": account.estate.subnets, "SecurityGroups": account.estate.security_groups}


def overrides(parameters: dict[str, Any]) -> list[str]:
    return ["--parameter-overrides"] + [
        f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in parameters.items()
    ]


def only(answer: Any) -> dict[str, Any]:
    (resource,) = answer["resources"]
    return dict(resource)


def test_a_template_never_deployed_is_a_create_with_its_whole_policy(account, cli):
    code, answer = cli("plan", *overrides(network(account)), template=review.TEMPLATE)
    planned = only(answer)
    assert (code, planned["action"]) == (2, "create")
    assert planned["revisions"] == [account.estate.revisions[-1]]
    actions = {s["Action"] for s in planned["changes"]["iam"]["added"]}
    assert {"ecs:RunTask", "iam:PassRole", "ecs:StopTask"} <= actions
    assert planned["changes"]["iam"]["removed"] == []
    # The name is generated from the deploy's RequestId: shown as such, never guessed.
    assert planned["stateMachineArn"].endswith("GENERATED-AT-DEPLOY")


def test_the_plan_is_the_deploy_then_no_change_and_in_sync(account, cli):
    parameters = {**network(account), "Name": "nightly-batch"}
    code, answer = cli("plan", "--stack", "nightly", *overrides(parameters), template=review.TEMPLATE)
    planned = only(answer)
    assert (code, planned["action"]) == (2, "create")
    deployed = review.deploy(account.player("nightly"), review.TEMPLATE, parameters)
    arn = deployed.physical_ids["NightlyBatch"]
    assert planned["stateMachineArn"] == arn
    sfn, iam = account.session.client("stepfunctions"), account.session.client("iam")
    machine = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(machine["definition"]) == planned["definition"]
    role = iam.get_role(RoleName=machine["roleArn"].rsplit("/", 1)[1])["Role"]
    assert role["AssumeRolePolicyDocument"] == planned["trust"]
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="ecs-state-machine")["PolicyDocument"]
    assert policy == planned["policy"]

    code, answer = cli("plan", "--stack", "nightly", template=review.TEMPLATE)
    again = only(answer)
    assert (code, again["action"], again["changes"]["iam"]) == (0, "none", {"added": [], "removed": []})
    assert again["definition"] == planned["definition"]
    code, answer = cli("drift", "--stack", "nightly")
    assert (code, only(answer)["status"], only(answer)["differences"]) == (0, "in-sync", [])


def test_a_new_revision_with_another_task_role_is_an_update_that_broadens(account, cli):
    review.deploy(account.player("nightly"), review.TEMPLATE, network(account))
    other = review.new_task_role(account.session, "hogefuga-task-v2")
    code, answer = cli("plan", "--stack", "nightly", template=review.TEMPLATE)
    planned = only(answer)
    assert (code, planned["action"], planned["broadening"]) == (2, "update", True)
    assert {"Effect": "Allow", "Action": "iam:PassRole", "Resource": other} in [
        {k: v for k, v in s.items() if k != "Condition"} for s in planned["broadeningStatements"]
    ]
    assert any('"TaskDefinition"' in line and line.startswith("+") for line in planned["definitionDiff"])
    code, _answer = cli("plan", "--stack", "nightly", "--fail-on-broadening", template=review.TEMPLATE)
    assert code == 3


def test_a_changed_state_machine_name_is_a_replacement(account, cli):
    review.deploy(account.player("nightly"), review.TEMPLATE, {**network(account), "Name": "first"})
    code, answer = cli("plan", "--stack", "nightly", *overrides({"Name": "second"}), template=review.TEMPLATE)
    planned = only(answer)
    assert (code, planned["action"]) == (2, "replace")
    assert planned["stateMachineArn"].endswith(":stateMachine:second")
    assert "first" in planned["reason"] and "second" in planned["reason"]


def test_a_refused_property_exits_1_with_the_deploys_own_reason(account, cli):
    role = account.role("sfn-own-role")
    template = review.TEMPLATE + f"      RoleArn: {role}\n"
    parameters = network(account)
    code, answer = cli("plan", *overrides(parameters), template=template)
    planned = only(answer)
    assert (code, planned["action"]) == (1, "error")
    props = review.properties(template, parameters, "nightly")["NightlyBatch"]
    reason = account.player("nightly").create(props).reason
    assert reason.startswith("RoleArn")
    assert planned["reason"] == f"NightlyBatch: {reason}"


WORKFLOW = """\
Parameters:
  Subnets: {Type: CommaDelimitedList}
Resources:
  Pipeline:
    Type: Custom::EcsStateMachine
    Properties:
      ServiceToken: !ImportValue ecs-state-machine-ServiceToken
      Definition:
        StartAt: Fanout
        States:
          Fanout:
            Type: Parallel
            End: true
            Branches:
%s
"""
BRANCH = """\
              - StartAt: Run%(n)s
                States:
                  Run%(n)s:
                    Type: Task
                    Resource: arn:aws:states:::ecs:runTask.sync
                    End: true
                    Parameters:
                      Cluster: hogefuga-cluster
                      TaskDefinition: %(family)s
                      LaunchType: FARGATE
                      NetworkConfiguration:
                        AwsvpcConfiguration:
                          Subnets: !Ref Subnets
"""


def test_a_definition_over_several_families_resolves_each(account, cli):
    families = ["extract", "transform", "load"]
    roles = {f: account.role(f"{f}-task", path="/") for f in families}
    revisions = {f: account.family(f, roles[f], None) for f in families}
    template = WORKFLOW % "".join(BRANCH % {"n": i, "family": f} for i, f in enumerate(families))
    code, answer = cli("plan", *overrides({"Subnets": account.estate.subnets}), template=template)
    planned = only(answer)
    assert (code, planned["action"]) == (2, "create"), planned["reason"]
    assert sorted(planned["revisions"]) == sorted(revisions.values())
    passed = {s["Resource"] for s in planned["changes"]["iam"]["added"] if s["Action"] == "iam:PassRole"}
    assert passed == set(roles.values())


def examples_account(account: Account, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from tests.integration.test_examples import prepare

    return prepare(account, monkeypatch)


def example_stack(
    account: Account, path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], Any]:
    """The account an example is written for, its parameters, and the stack's other resources
    (roles, log groups, keys) made as CloudFormation would make them before its custom resources."""
    from testkit.templates import provision

    parameters = examples_account(account, monkeypatch)
    review.provider_stack({"PassableRolePattern": "sfn/*", "AllowPolicyStatements": "true"})
    provision(account.session, path, "nightly", parameters, region=REGION, account=ACCOUNT)
    template = load(path)
    given = {k: v for k, v in parameters.items() if k in template.get("Parameters", {})}
    named = Stack(template, given, region=REGION, account=ACCOUNT, stack_name="nightly")
    others = {
        logical_id: (resource["Type"], named.physical_name(logical_id))
        for kind in ("AWS::IAM::Role", "AWS::Logs::LogGroup")
        for logical_id, resource in resources_of_type(template, kind).items()
    }
    return given, others


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_plans_as_a_create_then_as_no_change_once_deployed(path, account, cli, monkeypatch):
    given, others = example_stack(account, path, monkeypatch)
    player = account.player("nightly")
    stacks.shared().deployed(player.stack_id, "Resources: {}", {}, resources=others)
    code, answer = cli("plan", str(path), "--stack", "nightly", *overrides(given))
    assert code == 2
    before = {p["logicalId"]: p for p in answer["resources"]}
    assert all(p["action"] == "create" and p["definition"]["States"] for p in before.values()), before

    deployed = review.deploy(player, path.read_text(), given, others)
    code, answer = cli("plan", str(path), "--stack", "nightly")
    assert code == 0, answer
    for planned in answer["resources"]:
        assert planned["action"] == "none", planned
        if "GENERATED" not in before[planned["logicalId"]]["stateMachineArn"]:
            assert planned["definition"] == before[planned["logicalId"]]["definition"]
    code, answer = cli("drift", "--stack", "nightly")
    assert code == 0 and len(answer["resources"]) == len(deployed.physical_ids), answer


def test_drift_names_a_hand_edited_role_policy_and_a_rewritten_definition(account, cli):
    deployed = review.deploy(account.player("nightly"), review.TEMPLATE, network(account))
    arn = deployed.physical_ids["NightlyBatch"]
    sfn, iam = account.session.client("stepfunctions"), account.session.client("iam")
    machine = sfn.describe_state_machine(stateMachineArn=arn)
    role = machine["roleArn"].rsplit("/", 1)[1]
    policy = iam.get_role_policy(RoleName=role, PolicyName="ecs-state-machine")["PolicyDocument"]
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    iam.put_role_policy(RoleName=role, PolicyName="ecs-state-machine", PolicyDocument=json.dumps(policy))
    rewritten = json.loads(machine["definition"])
    rewritten["States"]["RunTask"]["Parameters"]["LaunchType"] = "EC2"
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(rewritten))

    sfn.tag_resource(resourceArn=arn, tags=[{"key": "owner", "value": "someone"}])
    foreign = iam.create_policy(PolicyName="extra", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=foreign)

    code, answer = cli("drift", "--stack", "nightly")
    found = only(answer)
    assert (code, found["status"]) == (2, "drifted")
    assert "state machine tags: owner added outside the stack" in found["differences"]
    assert f"role {role}: policy {foreign} attached outside the stack" in found["differences"]
    assert any("definition" in d for d in found["differences"])
    assert f"role {role} policy ecs-state-machine: statement added: s3:GetObject on *" in found["differences"]
    assert any('"LaunchType": "EC2"' in line for line in found["definitionDiff"])


def reviewer_policy() -> dict[str, Any]:
    text = section("The reviewer's IAM policy")
    return dict(json.loads(text.split("```json", 1)[1].split("```", 1)[0]))


def allowed(action: str, policy: dict[str, Any]) -> bool:
    from ecs_state_machine.base.settings import matches

    granted = [
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    return any(matches(g.lower(), action.lower()) for g in granted)


def test_every_call_is_a_read_the_readme_policy_allows(account, cli):
    review.deploy(account.player("nightly"), review.TEMPLATE, {**network(account), "Name": "nightly-batch"})
    cli("plan", "--stack", "nightly", template=review.TEMPLATE)
    cli("plan", "--stack", "nightly", *overrides({"Name": "other"}), template=review.TEMPLATE)
    cli("drift", "--stack", "nightly")
    calls = set(cli.recorder.calls)
    assert {"cloudformation:GetTemplate", "iam:GetRolePolicy", "states:DescribeStateMachine"} <= calls
    policy = reviewer_policy()
    for call in calls:
        operation = call.split(":", 1)[1]
        assert operation.startswith(("Describe", "Get", "List", "ValidateStateMachineDefinition")), call
        assert allowed(call, policy), f"{call} is not in the documented reviewer policy"
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert not [
        a
        for s in policy["Statement"]
        for a in s["Action"]
        if not a.split(":")[1].startswith(("Describe", "Get", "List", "ValidateStateMachineDefinition"))
    ]


def test_assumed_settings_are_template_yamls_defaults(account, tmp_path):
    declared = load(TEMPLATE)["Parameters"]
    assert {name: declared[name]["Default"] for name in DEFAULTS} == DEFAULTS
    cli = Cli(tmp_path)  # no provider stack: nothing exports the ServiceToken
    code, answer = cli("plan", *overrides(network(account)), template=review.TEMPLATE)
    assert code == 2
    assert "TaskRolePattern=*" in answer["warnings"][0]


def test_what_the_deploy_creates_is_shown_as_unknown(account, cli):
    template = (
        review.TEMPLATE.replace(
            "Resources:\n",
            "Resources:\n  OwnRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n",
        )
        + "      RoleArn: !GetAtt OwnRole.Arn\n"
    )
    code, answer = cli("plan", *overrides(network(account)), template=template)
    planned = only(answer)
    assert (code, planned["action"]) == (2, "create")
    assert planned["unknown"] == ["OwnRole is created by the deploy"]
    assert planned["definition"] is None


@pytest.mark.parametrize("named", [False, True], ids=["generated-name", "named"])
def test_a_changed_state_machine_type_replaces_or_is_refused_as_the_deploy_refuses_it(account, cli, named):
    parameters = {**network(account), **({"Name": "typed"} if named else {})}
    deployed = review.deploy(account.player("nightly"), review.TEMPLATE, parameters)
    express = (
        review.TEMPLATE + "      StateMachineType: EXPRESS\n      IntegrationPattern: REQUEST_RESPONSE\n"
    )
    code, answer = cli("plan", "--stack", "nightly", template=express)
    planned = only(answer)
    if not named:
        assert (code, planned["action"]) == (2, "replace")
        assert planned["reason"] == "StateMachineType STANDARD -> EXPRESS"
        return
    props = review.properties(express, parameters, "nightly")["NightlyBatch"]
    player = deployed.player
    reason = player.update(
        deployed.physical_ids["NightlyBatch"], props, deployed.properties["NightlyBatch"]
    ).reason
    assert reason.startswith("StateMachineType 'EXPRESS'")
    assert (code, planned["action"], planned["reason"]) == (1, "error", f"NightlyBatch: {reason}")


def test_a_mistyped_override_is_an_error_not_a_silent_default(account, cli, capsys):
    code, answer = cli("plan", "--parameter-overrides", "Subnet=subnet-1", template=review.TEMPLATE)
    assert (code, answer) == (1, None)
    assert "declares no parameter Subnet" in capsys.readouterr().err


def test_a_policy_past_the_inline_limit_is_shown_in_the_parts_the_deploy_writes(account, cli, request):
    from tests.integration.test_policy_overflow import parts, workflow

    request.getfixturevalue("many_families")(60)
    properties = {"ServiceToken": {"Fn::ImportValue": review.EXPORT}, **workflow(60)}
    template = json.dumps(
        {"Resources": {"Pipeline": {"Type": "Custom::EcsStateMachine", "Properties": properties}}}
    )
    deployed = review.deploy(account.player("nightly"), template, {})
    code, answer = cli("plan", "--stack", "nightly", template=template)
    planned = only(answer)
    assert (code, planned["action"]) == (0, "none")
    role_arn = account.session.client("stepfunctions").describe_state_machine(
        stateMachineArn=deployed.physical_ids["Pipeline"]
    )["roleArn"]
    inline, managed, _tags = parts(account.session, role_arn)
    assert planned["managedPolicyParts"] == len(managed) >= 1
    assert planned["policyParts"] == {"inline": inline, "managed": managed}
    code, answer = cli("drift", "--stack", "nightly")
    assert (code, only(answer)["status"]) == (0, "in-sync")


def test_drift_names_a_removed_permissions_boundary(account, cli, monkeypatch):
    iam = account.session.client("iam")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    monkeypatch.setenv("PERMISSIONS_BOUNDARY", boundary)  # the provider function's, as its stack sets it
    review.provider_stack(boundary=boundary)
    deployed = review.deploy(account.player("nightly"), review.TEMPLATE, network(account))
    assert cli("drift", "--stack", "nightly")[0] == 0
    role = (
        account.session.client("stepfunctions")
        .describe_state_machine(stateMachineArn=deployed.physical_ids["NightlyBatch"])["roleArn"]
        .rsplit("/", 1)[1]
    )
    iam.delete_role_permissions_boundary(RoleName=role)
    code, answer = cli("drift", "--stack", "nightly")
    assert code == 2
    assert f"role {role}: permissions boundary is none, not {boundary}" in only(answer)["differences"]
