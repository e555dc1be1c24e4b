"""`ecs-state-machine plan` and `drift` run as a user runs them: the installed command in a process
of its own, against a moto server, beside the provider function deployed through CloudFormation's
requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testkit import review
from testkit.cloudformation import Player, new_stack_id
from testkit.estate import Estate
from testkit.moto_server import MotoServer
from testkit.transports import InFunction


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "nightly.yaml"
    path.write_text(review.TEMPLATE)
    return path


def parameters(world: Estate) -> dict[str, Any]:
    return {"Subnets": world.subnets, "SecurityGroups": world.security_groups}


def overrides(world: Estate) -> list[str]:
    return ["--parameter-overrides", *(f"{k}={','.join(v)}" for k, v in parameters(world).items())]


def deploy(cloudformation: InFunction, world: Estate) -> review.Deployed:
    review.provider_stack()
    return review.deploy(
        Player(cloudformation, new_stack_id("nightly"), "NightlyBatch"), review.TEMPLATE, parameters(world)
    )


def test_plan_before_and_after_the_first_deploy_then_drift_in_sync(
    moto: MotoServer, cloudformation, world, template
):
    review.provider_stack()
    before = review.run_command(
        moto.endpoint_url, "plan", str(template), "--stack", "nightly", *overrides(world)
    )
    assert before.returncode == 2, before.stderr
    assert "+ NightlyBatch: create" in before.stdout
    assert "iam:PassRole" in before.stdout

    deploy(cloudformation, world)
    after = review.run_command(
        moto.endpoint_url, "plan", str(template), "--stack", "nightly", "--format", "json"
    )
    assert after.returncode == 0, after.stdout + after.stderr
    assert [r["action"] for r in json.loads(after.stdout)["resources"]] == ["none"]
    drift = review.run_command(moto.endpoint_url, "drift", "--stack", "nightly")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "NightlyBatch: in-sync" in drift.stdout


def test_a_new_task_role_is_a_broadening_update(moto: MotoServer, cloudformation, world, template):
    deploy(cloudformation, world)
    other = review.new_task_role(moto, "hogefuga-task-v9")
    planned = review.run_command(
        moto.endpoint_url, "plan", str(template), "--stack", "nightly", "--format", "markdown"
    )
    assert planned.returncode == 2, planned.stderr
    assert f"| + ⚠ broadening | Allow | `iam:PassRole` | `{other}` |" in planned.stdout
    gate = review.run_command(
        moto.endpoint_url, "plan", str(template), "--stack", "nightly", "--fail-on-broadening"
    )
    assert gate.returncode == 3, gate.stdout + gate.stderr


def test_drift_names_hand_edits_and_a_refusal_exits_1(
    moto: MotoServer, cloudformation, world, template, tmp_path
):
    arn = deploy(cloudformation, world).physical_ids["NightlyBatch"]
    sfn, iam = moto.client("stepfunctions"), moto.client("iam")
    machine = sfn.describe_state_machine(stateMachineArn=arn)
    role = machine["roleArn"].rsplit("/", 1)[1]
    iam.put_role_policy(
        RoleName=role,
        PolicyName="ecs-state-machine",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    definition = json.loads(machine["definition"])
    definition["Comment"] = "edited by hand"
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
    drift = review.run_command(moto.endpoint_url, "drift", "--stack", "nightly")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "definition: rewritten outside the stack" in drift.stdout
    assert f"role {role} policy ecs-state-machine: statement added: s3:* on *" in drift.stdout
    assert f"role {role} policy ecs-state-machine: statement removed: iam:PassRole" in drift.stdout

    refused = tmp_path / "refused.yaml"
    refused.write_text(review.TEMPLATE + "      LaunchType: FARGATE_SPOT\n")
    planned = review.run_command(moto.endpoint_url, "plan", str(refused), "--stack", "nightly")
    assert planned.returncode == 1
    assert "NightlyBatch: LaunchType 'FARGATE_SPOT'" in planned.stderr
