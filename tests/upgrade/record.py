"""Record what a released provider makes, for the upgrade test. Run against a checkout of that
release (its handler and test kit on the path), in moto, and write the fixture:

    git worktree add /tmp/release-0.9.0 <commit of 0.9.0>
    PYTHONPATH=/tmp/release-0.9.0/src/handler:/tmp/release-0.9.0 \\
        .venv/bin/python tests/upgrade/record.py 0.9.0 tests/upgrade/fixtures/0.9.0.json

It creates a TaskDefinition-mode resource and a Definition-mode one with the release's own handler
(responses captured, nothing sent), then records every state machine and role the release made, with
the properties and the attributes it answered.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any

import boto3
from moto import mock_aws

ACCOUNT, REGION = "123456789012", "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ecs-state-machine-provider"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/my-batch-stack/1a2b3c4d-0000-4000-8000-00000000abcd"
)
WORKFLOW = {
    "Comment": "Nightly data pipeline",
    "StartAt": "Migrate",
    "States": {
        "Migrate": {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": "hogefuga-cluster",
                "TaskDefinition": "hogefuga",
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d4e5f60001"]}},
                "Overrides": {"ContainerOverrides": [{"Name": "hoge", "Command.$": "$.command"}]},
            },
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "BackoffRate": 1.5}],
            "End": True,
        }
    },
}


def stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def main(version: str, target: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
    )
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ecs-state-machine")
    from tests.aws_fixtures import build_estate  # the release's own test kit

    with mock_aws():
        session = boto3.Session(region_name=REGION)
        estate = build_estate(session, with_vpc=False)
        import app

        answers: list[dict[str, Any]] = []
        app.helper._sender = lambda _url, body: answers.append(json.loads(json.dumps(body))) or True

        class Context:
            invoked_function_arn = FUNCTION_ARN
            aws_request_id = str(uuid.uuid4())

            def get_remaining_time_in_millis(self) -> int:
                return 300_000

        resources = {
            "NightlyBatch": {
                "TaskDefinition": "hogefuga",
                "ContainerName": "hoge",
                "Cluster": "hogefuga-cluster",
                "Subnets": list(estate.subnets),
                "SecurityGroups": list(estate.security_groups),
                "PropagateTags": "TASK_DEFINITION",
                "TimeoutSeconds": 3600,
                "Tags": [{"Key": "team", "Value": "data"}],
            },
            "Pipeline": {"Definition": WORKFLOW},
        }
        recorded: dict[str, Any] = {"release": version, "stack_id": STACK_ID, "resources": {}}
        for logical_id, properties in resources.items():
            event = {
                "RequestType": "Create",
                "ServiceToken": FUNCTION_ARN,
                "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
                "StackId": STACK_ID,
                "RequestId": str(uuid.uuid4()),
                "LogicalResourceId": logical_id,
                "ResourceType": "Custom::EcsStateMachine",
                "ResourceProperties": stringify({"ServiceToken": FUNCTION_ARN, **properties}),
            }
            app.lambda_handler(event, Context())
            answer = answers[-1]
            assert answer["Status"] == "SUCCESS", answer
            recorded["resources"][logical_id] = {
                "properties": event["ResourceProperties"],
                "physical_id": answer["PhysicalResourceId"],
                "data": answer["Data"],
            }
        sfn, iam = session.client("stepfunctions"), session.client("iam")
        recorded["state_machines"] = []
        for listed in sfn.list_state_machines()["stateMachines"]:
            described = sfn.describe_state_machine(stateMachineArn=listed["stateMachineArn"])
            tags = sfn.list_tags_for_resource(resourceArn=listed["stateMachineArn"])["tags"]
            recorded["state_machines"].append(
                {
                    "name": described["name"],
                    "arn": described["stateMachineArn"],
                    "definition": json.loads(described["definition"]),
                    "roleArn": described["roleArn"],
                    "type": described["type"],
                    "loggingConfiguration": described.get("loggingConfiguration"),
                    "tags": tags,
                }
            )
        recorded["roles"] = []
        for role in iam.list_roles(PathPrefix="/ecs-state-machine/")["Roles"]:
            name = role["RoleName"]
            got = iam.get_role(RoleName=name)["Role"]
            recorded["roles"].append(
                {
                    "name": name,
                    "path": got["Path"],
                    "trust": got["AssumeRolePolicyDocument"],
                    "boundary": (got.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
                    "tags": got.get("Tags", []),
                    "policies": {
                        p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                        for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
                    },
                }
            )
    with open(target, "w") as out:  # the release logs to stdout
        out.write(json.dumps(recorded, indent=1, sort_keys=True, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
