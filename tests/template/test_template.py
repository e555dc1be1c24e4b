"""The provider stack (template.yaml), its deploy settings and the consumer examples, checked offline.

The provider role's policy is rendered to concrete JSON for sample stack parameters and pseudo
parameters, as CloudFormation would render it, and then checked the way IAM would read it.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from cfnlint.api import lint_file

from ecs_state_machine.planning import render
from ecs_state_machine.schema import properties

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # parliament imports the deprecated pkg_resources
    from parliament import analyze_policy_string

from testkit.cloudformation import stringify as as_delivered
from testkit.templates import EXAMPLES, ROOT, TEMPLATE, Stack, load, resources_of_type

SAMCONFIG = ROOT / "samconfig.toml"
# What the functions run (the plan and drift command is left out of their bundle and runs with a
# reviewer's credentials: its calls are held against the README's reviewer policy instead).
HANDLER_SOURCES = sorted(
    p for p in (ROOT / "src" / "handler").rglob("*.py") if "ecs_state_machine/cli" not in p.as_posix()
)
BIN = Path(sys.executable).parent

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/ecs-state-machine-boundary"
IAM_PROPAGATION_BUDGET_SECONDS = 120

# The resource's return values (Fn::GetAtt) that consumers may use.
ATTRIBUTES = {
    "Arn",
    "Name",
    "RoleArn",
    "TaskDefinitionArn",
    "TaskDefinitionRevision",
    "ContainerName",
    "ContainerNames",
    "TaskDefinitionArns",
    "VersionArn",
    "AliasArn",
    "RevisionId",
    "ProviderVersion",
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load(TEMPLATE)


def function(template: dict, handler: str = "app.lambda_handler") -> dict:
    """The stack's function whose handler is `handler` (the provider's, by default)."""
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == [
        "app.lambda_handler",
        "follower_app.lambda_handler",
    ], f"expected the provider and the follower, found {sorted(functions)}"
    (found,) = [f for f in functions.values() if f["Properties"]["Handler"] == handler]
    return found


def provider_function(template: dict) -> dict:
    return function(template)


def provider_role_id(template: dict, handler: str = "app.lambda_handler") -> str:
    role = function(template, handler)["Properties"]["Role"]
    assert "Fn::GetAtt" in role, "the function must use the role this stack defines"
    logical_id, attribute = role["Fn::GetAtt"]
    assert attribute == "Arn"
    assert template["Resources"][logical_id]["Type"] == "AWS::IAM::Role"
    return logical_id


def provider_policy(stack: Stack, handler: str = "app.lambda_handler") -> dict:
    """Every permission the function with `handler` holds, as one rendered policy document."""
    role_id = provider_role_id(stack.template, handler)
    role = stack.template["Resources"][role_id]["Properties"]
    assert not role.get("ManagedPolicyArns"), "managed policies would escape these checks"
    for resource in stack.template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            attached = [*resource["Properties"].get("Roles", []), resource["Properties"].get("RoleName")]
            assert {"Ref": role_id} not in attached, "keep the functions' permissions in their roles"
    statements = [
        statement
        for policy in role.get("Policies", [])
        for statement in stack.render(policy["PolicyDocument"])["Statement"]
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def follower_policy(stack: Stack) -> dict:
    return provider_policy(stack, "follower_app.lambda_handler")


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def granting(policy: dict, action: str) -> list[dict]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow" and action in as_list(s["Action"])]


def environment(stack: Stack) -> dict[str, str]:
    return stack.render(provider_function(stack.template)["Properties"]["Environment"]["Variables"])


VARIANTS = {
    "defaults": {},
    "boundary": {"PermissionsBoundaryArn": BOUNDARY},
    "pass-roles": {"PassableRolePattern": "sfn/*"},
    "everything-open": {
        "PassableRolePattern": "*",
        "AllowPolicyStatements": "true",
        "ReservedConcurrency": "20",
    },
}


@pytest.fixture(params=VARIANTS.values(), ids=VARIANTS.keys())
def stack(request, template) -> Stack:
    return Stack(template, request.param)


# --- linters -----------------------------------------------------------------------------------------


def test_there_is_a_nightly_batch_example():
    assert ROOT / "examples" / "nightly-batch.yaml" in EXAMPLES


@pytest.mark.parametrize("path", [TEMPLATE, *EXAMPLES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_cfn_lint_passes(path):
    matches = lint_file(path)
    assert not matches, "\n".join(
        f"{m.rule.id} {m.message} ({m.linenumber}:{m.columnnumber})" for m in matches
    )


def test_sam_validate_lint_passes():
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [BIN / "sam", "validate", "--lint", "--template-file", TEMPLATE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_parliament_finds_nothing_in_provider_policy(stack):
    analyzed = analyze_policy_string(json.dumps(provider_policy(stack)))
    findings = [f"{f.issue}: {f.detail} {f.location}" for f in analyzed.findings]
    assert not findings, "\n".join(findings)


def test_permissions_management_is_limited_to_what_the_provider_is_for(stack):
    """parliament's community auditors list every action that can change permissions; this is the
    reviewed list: the provider's roles, handing them to Step Functions, and log delivery policies."""
    analyzed = analyze_policy_string(json.dumps(provider_policy(stack)), include_community_auditors=True)
    findings = {f.issue: f.location for f in analyzed.findings}
    # CreatePolicyVersion escalates whoever holds a policy it may rewrite: the provider holds none
    # (test_the_provider_cannot_rewrite_or_attach_its_own_permissions).
    assert findings.pop("PRIVILEGE_ESCALATION") == {
        "type": "CreateNewPolicyVersion",
        "actions": ["iam:createpolicyversion"],
        "filepath": None,
    }
    assert set(findings) == {"PERMISSIONS_MANAGEMENT_ACTIONS"}, findings
    reviewed = {
        "iam:createrole",
        "iam:deleterole",
        "iam:putrolepolicy",
        "iam:deleterolepolicy",
        "iam:putrolepermissionsboundary",
        "iam:updateassumerolepolicy",
        "iam:passrole",
        "iam:createpolicy",
        "iam:createpolicyversion",
        "iam:deletepolicy",
        "iam:deletepolicyversion",
        "iam:attachrolepolicy",
        "iam:detachrolepolicy",
        "logs:putresourcepolicy",
    }
    assert set(findings["PERMISSIONS_MANAGEMENT_ACTIONS"]["actions"]) == reviewed


def test_the_provider_cannot_rewrite_or_attach_its_own_permissions(stack):
    """Its permissions are inline in its own role, off the paths it writes; the policies it may
    rewrite are on their own path, apart from the boundary; it may attach only those, only to the
    roles on its path, only while they carry the boundary."""
    policies_path = f"arn:aws:iam::{ACCOUNT}:policy/ecs-state-machine/policies/*"
    boundary = environment(stack)["PERMISSIONS_BOUNDARY"]
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:CreatePolicy"):
        (statement,) = granting(provider_policy(stack), action)
        assert as_list(statement["Resource"]) == [policies_path]
        assert not fnmatch.fnmatchcase(boundary, policies_path), "the boundary must not be rewritable"
    (attach,) = granting(provider_policy(stack), "iam:AttachRolePolicy")
    assert as_list(attach["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/ecs-state-machine/*"]
    assert attach["Condition"] == {
        "ArnLike": {"iam:PolicyARN": policies_path},
        "ArnEquals": {"iam:PermissionsBoundary": boundary},
    }
    own_path = stack.template["Resources"][provider_role_id(stack.template)]["Properties"].get("Path", "/")
    assert not fnmatch.fnmatchcase(f"arn:aws:iam::{ACCOUNT}:role{own_path}provider", attach["Resource"])


# --- the provider's own permissions ------------------------------------------------------------------


def aws_operations_the_provider_calls() -> set[tuple[str, str]]:
    """(service, operation) of every `something("iam", "create_role", ...)` call in the provider."""
    session = botocore.session.get_session()
    services = set(session.get_available_services())
    found = set()
    for source in HANDLER_SOURCES:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            # aws.call("iam", "create_role", ...) and call_allowing_missing(aws, "iam", "delete_role", ...)
            for pair in (node.args[:2], node.args[1:3]):
                if len(pair) < 2:
                    continue
                service, operation = pair
                if all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in (service, operation)
                ):
                    if service.value in services:
                        found.add((service.value, operation.value))
                    break
    return found


# Calls only the follower makes (finding what follows a family, the sweep's listing): the
# provider's role is not given them (tests/integration/test_follow.py watches both functions' calls).
FOLLOWER_ONLY = {"dynamodb:Query"}


def test_provider_holds_a_permission_for_every_aws_call_it_makes(stack):
    session = botocore.session.get_session()
    calls = aws_operations_the_provider_calls()
    assert {service for service, _ in calls} >= {"iam", "ecs", "stepfunctions"}
    policy = provider_policy(stack)
    missing = []
    for service, operation in sorted(calls):
        model = session.get_service_model(service)
        names = {xform_name(name): name for name in model.operation_names}
        assert operation in names, f"{service} has no operation {operation}"
        action = f"{model.signing_name}:{names[operation]}"
        if action == "iam:DeleteRolePermissionsBoundary":
            continue  # never needed: the stack always configures a boundary, and every role keeps it
        if action == "sts:GetCallerIdentity":
            continue  # needs no permission (and only `sam local invoke` calls it)
        if not granting(policy, action) and action not in FOLLOWER_ONLY:
            missing.append(action)
    assert not missing, f"the provider calls these but may not: {missing}"


def test_provider_may_set_up_logging_for_the_state_machines_it_logs(stack):
    """Step Functions checks the caller of Create/UpdateStateMachine for the same log delivery
    permissions the state machine's role gets."""
    policy = provider_policy(stack)
    for action in render.LOG_DELIVERY_ACTIONS:
        assert granting(policy, action), action


def test_no_action_uses_a_wildcard(stack):
    for statement in provider_policy(stack)["Statement"]:
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, statement


def test_iam_actions_touch_only_the_provider_role_path(stack):
    """IAM writes only on the provider's path (roles, and their managed policies); the reads beyond
    it are of the roles stacks may hand over (PassableRolePattern), to check that they trust Step
    Functions, and ListPolicies, which takes no resource."""
    role_path = environment(stack)["ROLE_PATH"]
    roles_on_path = f"arn:aws:iam::{ACCOUNT}:role{role_path}*"
    policies_on_path = f"arn:aws:iam::{ACCOUNT}:policy{role_path}policies/*"
    handed = f"arn:aws:iam::{ACCOUNT}:role/{stack.refs['PassableRolePattern']}"
    for statement in provider_policy(stack)["Statement"]:
        iam_actions = [
            a for a in as_list(statement["Action"]) if a.startswith("iam:") and a != "iam:PassRole"
        ]
        if iam_actions == ["iam:GetRole"] and as_list(statement["Resource"]) == [handed]:
            assert stack.refs["PassableRolePattern"], "no role may be read when none may be handed over"
            continue
        if iam_actions == ["iam:ListPolicies"]:  # no resource-level permission: names and paths only
            continue
        if iam_actions:
            assert as_list(statement["Resource"]) in ([roles_on_path], [policies_on_path]), statement


def test_the_provider_role_is_off_the_path_it_may_write(template):
    role = template["Resources"][provider_role_id(template)]["Properties"]
    own_path = role.get("Path", "/")
    assert not own_path.startswith(environment(Stack(template))["ROLE_PATH"])


def test_roles_are_passed_only_to_step_functions(stack):
    statements = granting(provider_policy(stack), "iam:PassRole")
    assert statements
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}
        for resource in as_list(statement["Resource"]):
            assert resource.startswith(f"arn:aws:iam::{ACCOUNT}:role/"), resource


def test_provider_may_pass_the_roles_it_creates_and_the_allowed_existing_roles(template):
    created = f"arn:aws:iam::{ACCOUNT}:role/ecs-state-machine/stack-resource-abc123"
    existing = f"arn:aws:iam::{ACCOUNT}:role/sfn/nightly"
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"

    def passable(stack: Stack, arn: str) -> bool:
        statements = granting(provider_policy(stack), "iam:PassRole")
        return any(fnmatch.fnmatchcase(arn, r) for s in statements for r in as_list(s["Resource"]))

    defaults = Stack(template)
    assert passable(defaults, created) and not passable(defaults, existing) and not passable(defaults, other)
    everything = Stack(template, {"PassableRolePattern": "*"})
    assert passable(everything, created) and passable(everything, existing) and passable(everything, other)
    narrowed = Stack(template, {"PassableRolePattern": "sfn/*"})
    assert passable(narrowed, created) and passable(narrowed, existing)
    assert not passable(narrowed, other)


ROLE_WRITES = ("iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary")


OWN_BOUNDARY = (
    f"arn:aws:iam::{ACCOUNT}:policy/ecs-state-machine/ecs-state-machine-StateMachineRoleBoundary-SAMPLE"
)


@pytest.mark.parametrize(
    ("given", "enforced"), [("", OWN_BOUNDARY), (BOUNDARY, BOUNDARY)], ids=["own", "given"]
)
def test_a_boundary_is_required_on_every_role_the_provider_writes(template, given, enforced):
    stack = Stack(template, {"PermissionsBoundaryArn": given})
    policy = provider_policy(stack)
    for action in ROLE_WRITES:
        statements = granting(policy, action)
        assert statements, action
        for statement in statements:
            assert statement["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": enforced}}
    assert not granting(policy, "iam:DeleteRolePermissionsBoundary")
    assert ("StateMachineRoleBoundary" in template["Resources"]) and stack.condition("UseOwnBoundary") == (
        not given
    )


@pytest.mark.parametrize(
    ("given", "enforced"), [("", OWN_BOUNDARY), (BOUNDARY, BOUNDARY)], ids=["own", "given"]
)
def test_provider_is_told_the_boundary_and_role_path(template, given, enforced):
    stack = Stack(template, {"PermissionsBoundaryArn": given})
    env = environment(stack)
    assert env["PERMISSIONS_BOUNDARY"] == enforced
    assert stack.render(template["Outputs"]["PermissionsBoundaryArn"]["Value"]) == enforced
    assert env["ROLE_PATH"] == "/ecs-state-machine/"
    assert stack.render(template["Outputs"]["RolePath"]["Value"]) == env["ROLE_PATH"]


@pytest.mark.parametrize(
    ("partition", "region", "account"),
    [("aws", "eu-west-1", ACCOUNT), ("aws-cn", "cn-north-1", "210987654321")],
)
def test_policy_arns_follow_the_stacks_partition_region_and_account(template, partition, region, account):
    stack = Stack(template, partition=partition, region=region, account=account)
    for statement in provider_policy(stack)["Statement"]:
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                continue
            _, arn_partition, service, arn_region, arn_account, _ = resource.split(":", 5)
            assert arn_partition == partition, resource
            assert arn_account == account, resource
            assert arn_region == ("" if service == "iam" else region), resource


def test_provider_can_write_to_its_own_log_group(template):
    stack = Stack(template)
    function = provider_function(template)["Properties"]
    log_group = stack.render(function["LoggingConfig"]["LogGroup"])
    stream = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:{log_group}:log-stream:2024/01/01/[$LATEST]abc"
    policy = provider_policy(stack)
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        resources = [r for s in granting(policy, action) for r in as_list(s["Resource"])]
        assert resources and "*" not in resources, action
        assert any(fnmatch.fnmatchcase(stream, r) for r in resources), action


# --- the function and its outputs --------------------------------------------------------------------


def test_function_runtime_and_entry_point(template):
    function = provider_function(template)["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    code = ROOT / function["CodeUri"]
    module, _, entry = function["Handler"].rpartition(".")
    assert (code / "requirements.txt").is_file()
    source = code / f"{module.replace('.', '/')}.py"
    assert source.is_file(), f"{function['Handler']} is not in {code}"
    defined = {n.name for n in ast.parse(source.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert entry in defined, f"{source} defines no {entry}"


def test_function_timeout_outlasts_the_iam_propagation_budget(template):
    timeout = provider_function(template)["Properties"]["Timeout"]
    assert IAM_PROPAGATION_BUDGET_SECONDS + 60 <= timeout <= 900


@pytest.mark.parametrize("days", ["30", "365"])
def test_provider_logs_are_kept_for_the_configured_retention(template, days):
    stack = Stack(template, {"LogRetentionInDays": days})
    function = provider_function(template)["Properties"]
    log_group = function["LoggingConfig"]["LogGroup"]
    assert set(log_group) == {"Ref"}
    retention = template["Resources"][log_group["Ref"]]["Properties"]["RetentionInDays"]
    assert stack.render(retention) == days
    assert template["Parameters"]["LogRetentionInDays"]["Default"] == 30


def test_service_token_is_exported_under_the_same_name_whatever_the_stack_is_called(template):
    """A StackSet names its stacks itself: the export must not depend on the stack's name."""
    output = template["Outputs"]["ServiceToken"]
    assert output["Value"] == {"Fn::GetAtt": ["ProviderFunction", "Arn"]}
    for name in ("ecs-state-machine", "StackSet-ecs-state-machine-0a1b2c3d"):
        assert (
            Stack(template, stack_name=name).render(output["Export"]["Name"])
            == "ecs-state-machine-ServiceToken"
        )


# --- deploy settings ---------------------------------------------------------------------------------


def test_samconfig_deploys_under_the_name_the_examples_import(template):
    config = tomllib.loads(SAMCONFIG.read_text())["default"]
    stack_name = config["global"]["parameters"]["stack_name"]
    deploy = config["deploy"]["parameters"]
    named_iam = any(
        "RoleName" in r["Properties"] or "ManagedPolicyName" in r["Properties"]
        for r in template["Resources"].values()
        if r["Type"].startswith("AWS::IAM::")
    )
    assert ("CAPABILITY_NAMED_IAM" if named_iam else "CAPABILITY_IAM") in deploy["capabilities"].split()
    assert deploy["resolve_s3"] is True
    assert "region" not in deploy and "region" not in config["global"]["parameters"]
    imports = {
        r["Properties"]["ServiceToken"]["Fn::ImportValue"]
        for path in EXAMPLES
        for r in resources_of_type(load(path), "Custom::EcsStateMachine").values()
    }
    assert imports == {f"{stack_name}-ServiceToken"}


# --- examples ----------------------------------------------------------------------------------------

SAMPLE_PARAMETERS = {
    "Subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    "SecurityGroups": ["sg-0123456789abcdef0"],
    "SecurityGroup": "sg-0123456789abcdef0",
    "AlertTopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:pipeline-done",
    "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/hogefuga-task",
    "TaskExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/hogefuga-execution",
    "RolePermissionsBoundary": BOUNDARY,
}


def get_atts(node: Any) -> list[list[str]]:
    if isinstance(node, list):
        return [found for item in node for found in get_atts(item)]
    if isinstance(node, dict):
        found = [node["Fn::GetAtt"]] if "Fn::GetAtt" in node else []
        return found + [f for value in node.values() for f in get_atts(value)]
    return []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_accepted_by_the_provider(path):
    example = load(path)
    given = {k: v for k, v in SAMPLE_PARAMETERS.items() if k in example.get("Parameters", {})}
    stack = Stack(example, given, stack_name="nightly")
    resources = resources_of_type(example, "Custom::EcsStateMachine")
    assert resources
    for name, resource in resources.items():
        raw = as_delivered(stack.render(resource["Properties"]))
        assert 1 <= int(raw["ServiceTimeout"]) <= 3600, f"{name}: answer well before CloudFormation's hour"
        try:
            properties.parse(raw)
        except properties.PropertyError as err:
            pytest.fail(f"{path.name} {name}: {err}")
    for logical_id, attribute in get_atts(example):
        if logical_id in resources:
            assert attribute in ATTRIBUTES, f"{logical_id}.{attribute}"


# --- secure by default -------------------------------------------------------------------------------


def test_parameter_defaults_are_the_secure_ones(template):
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    assert defaults["AllowPolicyStatements"] == "false"
    assert defaults["PassableRolePattern"] == ""
    assert defaults["PermissionsBoundaryArn"] == ""  # the stack's own boundary, not none
    assert defaults["LogGroupPattern"] == "/aws/vendedlogs/states/*"
    assert defaults["TaskRolePattern"] == "*"
    assert defaults["CredentialsRolePattern"] == ""


def test_every_setting_reaches_the_function_from_a_parameter(template):
    """Each variable `Settings.from_environment` reads (but the test-only ones) comes from the stack."""
    from ecs_state_machine.base.settings import Settings

    env = environment(Stack(template))
    source = (ROOT / "src/handler/ecs_state_machine/base/settings.py").read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"\)', source))
    assert read - set(env) == {"ALLOWED_RESPONSE_HOSTS", "AWS_SAM_LOCAL"}, read - set(env)
    settings = Settings.from_environment(env)
    assert settings.allow_policy_statements is False and settings.passable_role_pattern == ""
    assert settings.permissions_boundary == OWN_BOUNDARY and settings.allowed_response_hosts == ()


def test_the_provider_reads_cloudformation_only_to_confirm_requests(stack):
    policy = provider_policy(stack)
    statements = [
        s for s in policy["Statement"] if any(a.startswith("cloudformation:") for a in as_list(s["Action"]))
    ]
    assert len(statements) == 1
    (statement,) = statements
    assert sorted(as_list(statement["Action"])) == [
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStacks",
    ]
    assert as_list(statement["Resource"]) == [f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/*/*"]


def test_state_machines_are_written_only_with_the_provider_ownership_tag(stack):
    from ecs_state_machine.schema.request import OWNER_LOGICAL, OWNER_STACK

    policy = provider_policy(stack)
    for action in ("states:CreateStateMachine", "states:TagResource"):
        (statement,) = granting(policy, action)
        assert statement["Condition"] == {
            "Null": {f"aws:RequestTag/{OWNER_STACK}": "false", f"aws:RequestTag/{OWNER_LOGICAL}": "false"}
        }, action
    for action in ("states:UpdateStateMachine", "states:DeleteStateMachine", "states:UntagResource"):
        (statement,) = granting(policy, action)
        assert statement["Condition"]["Null"] == {f"aws:ResourceTag/{OWNER_STACK}": "false"}, action
    (untag,) = granting(policy, "states:UntagResource")
    assert untag["Condition"]["ForAllValues:StringNotLike"] == {"aws:TagKeys": "ecs-state-machine:*"}


def boundary_policy(stack: Stack) -> dict:
    return stack.render(
        stack.template["Resources"]["StateMachineRoleBoundary"]["Properties"]["PolicyDocument"]
    )


def allowed_by(boundary: dict, statement: dict) -> list[str]:
    """The (action, resource) pairs of `statement` that no boundary statement allows. A boundary
    statement allows a pair when its action and resource patterns match and every condition it sets
    is set the same way by the statement (so the granted request always satisfies it)."""
    refused = []
    for action in as_list(statement["Action"]):
        for resource in as_list(statement["Resource"]):
            if not any(
                any(fnmatch.fnmatchcase(action, a) for a in as_list(b["Action"]))
                and any(fnmatch.fnmatchcase(resource, r) for r in as_list(b["Resource"]))
                and all(
                    _condition_holds(statement.get("Condition", {}), op, cond)
                    for op, cond in b.get("Condition", {}).items()
                )
                for b in boundary["Statement"]
            ):
                refused.append(f"{action} on {resource}")
    return refused


def _condition_holds(given: dict, op: str, wanted: dict) -> bool:
    """Whether a statement's conditions guarantee the boundary's condition `op: wanted`: the same
    condition, or (for a boundary's *Like) the exact value the statement requires matches it."""
    if given.get(op) == wanted:
        return True
    exact = {"StringLike": "StringEquals", "ArnLike": "ArnEquals"}.get(op)
    if exact is None or exact not in given:
        return False
    return all(
        all(fnmatch.fnmatchcase(value, pattern) for value in as_list(given[exact].get(key, [None])) if value)
        and key in given[exact]
        for key, pattern in wanted.items()
    )


def rendered_policies() -> list[dict]:
    """Role policies the provider renders, across modes and options (TaskDefinition mode with every
    pattern, tags, logging and tracing; a Definition with a Distributed Map)."""
    from dataclasses import replace

    from ecs_state_machine.planning.plan import Plan
    from ecs_state_machine.schema.properties import parse
    from ecs_state_machine.schema.resolved import Resolved, TaskDefinition, grant_for

    td = TaskDefinition(
        arn=f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/nightly:3",
        family="nightly",
        revision=3,
        containers=("app",),
        network_mode="awsvpc",
        compatibilities=("FARGATE",),
        task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/nightly-task",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/service/nightly-execution",
    )
    resolved = Resolved(td, "app", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/batch")
    group = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/nightly"
    policies = []
    for pattern in ("RUN_JOB", "REQUEST_RESPONSE", "WAIT_FOR_TASK_TOKEN"):
        for pin in ("true", "false"):
            props = parse(
                {
                    "TaskDefinition": "nightly",
                    "IntegrationPattern": pattern,
                    "PinRevision": pin,
                    "Subnets": ["subnet-0a1b2c3d"],
                    "PropagateTags": "TASK_DEFINITION",
                    "Logging": {"Level": "ALL", "LogGroupArn": group},
                    "TracingEnabled": "true",
                }
            )
            policies.append(render.render_role_policy(props, resolved))
    grant = grant_for("RUN_JOB", resolved.cluster_arn, (td,), exact=True, tags_task=True)
    plan = Plan(
        definition={},
        policy=render.role_policy([grant], logging_enabled=True, tracing_enabled=True),
        data={},
        logging={},
        tracing={},
        runs_child_executions=True,
    )
    policies.append(plan.policy_for(f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:nightly-a1b2"))
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    encrypted = replace(
        plan,
        logging={"level": "ALL", "includeExecutionData": True, "destinations": []},
        encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key, "kmsDataKeyReusePeriodSeconds": 300},
    )
    policies.append(encrypted.policy_for(f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:nightly-a1b2"))
    return policies


def test_the_default_boundary_allows_everything_the_provider_grants(template):
    stack = Stack(template, region="eu-west-1")
    boundary = boundary_policy(stack)
    analyzed = analyze_policy_string(json.dumps(boundary))
    # The Service Authorization Reference lists DescribeExecution on `execution*` and `express*`
    # (either one); parliament reads the pair as both required. The boundary names executions only.
    findings = [
        f"{f.issue}: {f.detail}"
        for f in analyzed.findings
        if not (
            f.issue == "RESOURCE_MISMATCH" and [d["action"] for d in f.detail] == ["states:DescribeExecution"]
        )
    ]
    assert not findings, findings
    for policy in rendered_policies():
        for statement in policy["Statement"]:
            assert not allowed_by(boundary, statement), (statement["Sid"], allowed_by(boundary, statement))


def test_the_default_boundary_refuses_what_the_provider_never_grants(template):
    boundary = boundary_policy(Stack(template, {"TaskRolePattern": "batch/*"}))
    for statement in (
        {
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/admin",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/batch/job",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        },
        {"Action": "ecs:TagResource", "Resource": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/batch/x"},
        {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::secrets/*"},
        {"Action": "iam:CreateRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/x"},
        {"Action": "ecs:RunTask", "Resource": f"arn:aws:ecs:us-west-2:{ACCOUNT}:task-definition/x:1"},
    ):
        assert allowed_by(boundary, statement), statement


RUNNERS = "arn:aws:iam::222233334444:role/ecs-runner-*,arn:aws:iam::555566667777:role/batch/*"


def test_the_default_boundary_lets_roles_assume_only_the_credentials_roles_the_administrator_allows(template):
    assume = {"Action": "sts:AssumeRole", "Resource": "arn:aws:iam::222233334444:role/ecs-runner-etl"}
    closed = boundary_policy(Stack(template))
    assert allowed_by(closed, assume), "no role may assume another while CredentialsRolePattern is empty"
    opened = boundary_policy(Stack(template, {"CredentialsRolePattern": RUNNERS}))
    assert not allowed_by(opened, assume)
    assert not allowed_by(opened, {**assume, "Resource": "arn:aws:iam::555566667777:role/batch/nightly"})
    for other in ("arn:aws:iam::222233334444:role/admin", f"arn:aws:iam::{ACCOUNT}:role/ecs-runner-etl"):
        assert allowed_by(opened, {**assume, "Resource": other}), other
    assert (
        environment(Stack(template, {"CredentialsRolePattern": RUNNERS}))["CREDENTIALS_ROLE_PATTERN"]
        == RUNNERS
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:iam::222233334444:role/ecs-runner", True),
        (RUNNERS, True),
        ("arn:aws:iam::*:role/ecs-runner-*", True),
        ("*", False),
        ("ecs-runner-*", False),
        ("arn:aws:iam::222233334444:role/a,", False),
        ("arn:aws:s3:::bucket", False),
    ],
)
def test_credentials_role_pattern_takes_only_role_arn_patterns(template, value, accepted):
    allowed = template["Parameters"]["CredentialsRolePattern"]["AllowedPattern"]
    assert bool(re.fullmatch(allowed, value)) is accepted


# --- the follower (FollowRevisions) ----------------------------------------------------------------


def test_parliament_finds_nothing_in_the_follower_policy(stack):
    analyzed = analyze_policy_string(json.dumps(follower_policy(stack)))
    assert not [f"{f.issue}: {f.detail}" for f in analyzed.findings]


NEVER_THE_FOLLOWERS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:PassRole",
    "iam:UpdateAssumeRolePolicy",
    "states:CreateStateMachine",
    "states:DeleteStateMachine",
    "states:TagResource",
    "states:UntagResource",
    "cloudformation:DescribeStackResource",
)


def test_the_follower_moves_state_machines_and_makes_or_removes_nothing(stack):
    """It never creates or deletes a role or state machine, never hands Step Functions a role,
    writes IAM only on the provider's path and under the boundary, and only state machines that
    carry the provider's ownership tag."""
    policy = follower_policy(stack)
    granted = {a for s in policy["Statement"] for a in as_list(s["Action"])}
    assert not granted & set(NEVER_THE_FOLLOWERS), granted & set(NEVER_THE_FOLLOWERS)
    boundary = environment(stack)["PERMISSIONS_BOUNDARY"]
    (put,) = granting(policy, "iam:PutRolePolicy")
    assert put["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": boundary}}
    for statement in policy["Statement"]:
        for action in as_list(statement["Action"]):
            if action.startswith("iam:") and action != "iam:ListPolicies":
                assert all(
                    ":role/ecs-state-machine/" in r or ":policy/ecs-state-machine/policies/" in r
                    for r in as_list(statement["Resource"])
                ), statement
    (update,) = granting(policy, "states:UpdateStateMachine")
    assert update["Condition"] == {"Null": {"aws:ResourceTag/ecs-state-machine:stack-id": "false"}}
    # Its table only: it deletes a record only when the record's state machine is gone.
    tables = [
        r
        for s in policy["Statement"]
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    ]
    assert tables and all(r.endswith(":table/ecs-state-machine-FollowTable-SAMPLE") for r in tables), tables


def test_both_functions_are_told_the_same_settings(template):
    """The follower plans as a deploy does: every setting reaches both, from the same parameters."""
    provider = function(template)["Properties"]["Environment"]["Variables"]
    follower = function(template, "follower_app.lambda_handler")["Properties"]["Environment"]["Variables"]
    assert {k: v for k, v in follower.items() if k != "POWERTOOLS_METRICS_NAMESPACE"} == provider


def matches_pattern(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the patterns the stack uses: lists of literal values, nested maps."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            k in event and matches_pattern(v, event[k]) for k, v in pattern.items()
        )
    return event in pattern


def test_the_rule_takes_ecs_task_definition_calls_and_nothing_else(template):
    from testkit import cloudtrail

    pattern = template["Resources"]["FollowRevisionsRule"]["Properties"]["EventPattern"]
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/nightly:3"
    for event in (
        cloudtrail.registered(arn),
        cloudtrail.deregistered("nightly:3"),
        cloudtrail.deleted("nightly:3"),
    ):
        assert matches_pattern(pattern, event), event["detail"]["eventName"]
    for event in (
        cloudtrail.ecs_call("RunTask", {"taskDefinition": "nightly:3"}),
        {**cloudtrail.registered(arn), "source": "aws.ec2"},
        cloudtrail.sweep(),
    ):
        assert not matches_pattern(pattern, event)


@pytest.mark.parametrize(
    ("schedule", "swept"), [("rate(1 hour)", True), ("cron(0 3 * * ? *)", True), ("", False)]
)
def test_the_sweep_runs_on_the_schedule_given_and_not_at_all_without_one(template, schedule, swept):
    stack = Stack(template, {"FollowSweepSchedule": schedule})
    rule = template["Resources"]["FollowSweepRule"]
    assert stack.condition(rule["Condition"]) is swept
    assert template["Parameters"]["FollowSweepSchedule"]["Default"] == "rate(1 hour)"
    assert re.fullmatch(template["Parameters"]["FollowSweepSchedule"]["AllowedPattern"], schedule)
    targets = rule["Properties"]["Targets"]
    assert [t["Arn"] for t in targets] == [{"Fn::GetAtt": ["FollowerFunction", "Arn"]}]


@pytest.mark.parametrize(
    ("logical", "handler"),
    [("ProviderFunction", "app.lambda_handler"), ("FollowerFunction", "follower_app.lambda_handler")],
)
def test_env_json_gives_sam_local_the_settings_a_default_stack_gives(template, logical, handler):
    """`sam local invoke --env-vars env.json` runs each function with the defaults' settings; what only a
    deployed stack has (its boundary policy, its table) is left empty for the user to fill in."""
    given = json.loads((ROOT / "env.json").read_text())[logical]
    variables = function(template, handler)["Properties"]["Environment"]["Variables"]
    rendered = Stack(template).render(variables)
    expected = {
        name: ("" if name in ("PERMISSIONS_BOUNDARY", "FOLLOW_TABLE") else str(rendered[name]))
        for name in variables
        if name not in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE")
    }
    assert given == expected
