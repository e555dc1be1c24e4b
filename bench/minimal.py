"""The floor for AWS calls and wall time: the fewest raw boto3 calls that do a request's work.

Loaded in the handler process as ``bench_minimal`` (beside ``bench_shim``) and run under the same
conditions as the provider: same process model, same moto server, same response listener. It does
no validation beyond what the calls themselves give, no retries of its own, and reuses its clients
and TLS context across invocations. The documents it writes (trust policy, role policy, definition,
logging and tracing settings) are the ones the provider wrote for the same request in the same
round, passed in as ``documents`` (parameters keyed by ``service.Operation``), so both sides send the
same bytes; only names, ARNs and ownership tags are its own.

What the minimum is, and why each call is in it. The scenario: the resource names an existing task
definition revision and a cluster; the state machine gets a generated name and a role made for it;
an Update changes only the task definition revision. The rule weighed for idempotency and ownership:
every resource written or deleted is first read for its ownership tags, unless this very request
created it (the provider promises never to change or delete what it does not own).

Every request (the provider promises to act only on requests CloudFormation really made)
  cloudformation.DescribeStackResource  CloudFormation's own record of the resource: its type, its
                              status and physical id must show it waiting for exactly this request.
                              An event's StackId and ids prove nothing: anyone who may deploy with
                              the ServiceToken may invoke the function with an event of their own.

Create (10)
  cloudformation.DescribeStackResource  (see above)
  ecs.DescribeTaskDefinition  containers, network mode, launch compatibility and the task's roles
                              (for iam:PassRole): neither document can be written without them.
  ecs.DescribeClusters        the cluster's ARN and that it is ACTIVE: the provider promises to fail
                              a wrong cluster at deploy time, not at every execution.
  ec2.DescribeSubnets         every subnet exists, all in one VPC; and
  ec2.DescribeSecurityGroups  every security group exists, in that VPC: the provider promises to
                              refuse at deploy time what RunTask would refuse at the first run.
                              These four reads are made at once (they depend on nothing).
  sfn.ValidateStateMachineDefinition  Step Functions' own verdict on the definition before anything
                              is written: the provider promises an invalid definition fails with a
                              Reason and leaves nothing, by AWS's rules rather than only its own.
  iam.CreateRole              the state machine's role, with the ownership tags in the same call.
  iam.PutRolePolicy           its permissions.
  sfn.CreateStateMachine      the state machine, with the ownership tags in the same call.
  cloudformation.DescribeStackResource  again: if CloudFormation stopped waiting meanwhile (the stack
                              operation was cancelled or timed out) it will never adopt what was
                              made, and nobody would ever delete it.
  No read before the writes: the generated name hashes the RequestId, so it can collide only with a
  second delivery of the same request, which CreateRole's EntityAlreadyExists (or, with RoleArn,
  CreateStateMachine's StateMachineAlreadyExists) reveals; only then are the ownership reads needed.
  An explicit StateMachineName would add one read (sfn.ListTagsForResource) before the writes,
  since CreateStateMachine returns an existing machine with the same definition instead of failing.

Update, in place, after a new revision (10)
  cloudformation.DescribeStackResource  (see above)
  sfn.ListTagsForResource     existence (ResourceNotFound: recreate) and ownership (foreign tags:
                              refuse) of the PhysicalResourceId, in one read.
  ecs.DescribeTaskDefinition  the new revision's facts, as on Create.
  ecs.DescribeClusters        the cluster, validated on every request that renders documents.
  ec2.DescribeSubnets, ec2.DescribeSecurityGroups  the network, as on Create (at once with the two above).
  sfn.ValidateStateMachineDefinition  the new definition, as on Create.
  iam.GetRole                 the role's ownership tags before writing its policy, and its trust
                              policy and permissions boundary: those follow the provider's
                              configuration (PERMISSIONS_BOUNDARY), which no request carries, and
                              template.yaml promises a newly configured boundary reaches existing
                              roles on their next update. In the scenario neither differs, so
                              nothing is rewritten.
  iam.PutRolePolicy           the policy names the revision (ecs:RunTask), so it changes.
  sfn.UpdateStateMachine      the new definition.
  Not needed: tags, type and role choice are unchanged, as the old and new properties say.

Delete (6)
  cloudformation.DescribeStackResource  (see above)
  sfn.ListTagsForResource     existence and ownership: a Delete after a failed Create may carry the
                              ARN of another resource's state machine (a name already taken).
  sfn.DeleteStateMachine      (idempotent: a machine already DELETING needs no special case)
  iam.GetRole                 the role's ownership tags before deleting it.
  iam.DeleteRolePolicy        the one inline policy the provider writes (IAM refuses DeleteRole while
                              a role has inline policies); its name is fixed, so no ListRolePolicies
                              unless DeleteRole reports DeleteConflict.
  iam.DeleteRole
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

ROLE_PATH = "/ecs-state-machine/"
POLICY_NAME = "ecs-state-machine"
OWNER_STACK = "ecs-state-machine:stack-id"
OWNER_LOGICAL = "ecs-state-machine:logical-id"

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
CFN = boto3.client("cloudformation", config=_CONFIG)
ECS = boto3.client("ecs", config=_CONFIG)
IAM = boto3.client("iam", config=_CONFIG)
SFN = boto3.client("stepfunctions", config=_CONFIG)
EC2 = boto3.client("ec2", config=_CONFIG)
POOL = ThreadPoolExecutor(max_workers=4)
TLS = ssl.create_default_context()


def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def _role_name(arn: str) -> str:
    return f"{arn.rsplit(':', 1)[-1][:47]}-{_digest(arn, length=16)}"


def _tags(event: dict[str, Any]) -> dict[str, str]:
    return {OWNER_STACK: event["StackId"], OWNER_LOGICAL: event["LogicalResourceId"]}


def _respond(event: dict[str, Any], physical_id: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": "SUCCESS",
            "Reason": "",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    url = urlsplit(event["ResponseURL"])
    connection = http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=10, context=TLS)
    try:
        connection.request(
            "PUT",
            f"{url.path}?{url.query}",
            body=body,
            headers={"Content-Type": "", "Content-Length": str(len(body))},
        )
        connection.getresponse().read()
    finally:
        connection.close()


def _resolve(props: dict[str, Any]) -> tuple[str, str]:
    """The revision and the cluster, and the network the task names, read at once."""
    td = POOL.submit(ECS.describe_task_definition, taskDefinition=props["TaskDefinition"])
    cluster = POOL.submit(ECS.describe_clusters, clusters=[props["Cluster"]])
    reads = [
        POOL.submit(EC2.describe_subnets, Filters=[{"Name": "subnet-id", "Values": props["Subnets"]}]),
        POOL.submit(
            EC2.describe_security_groups, Filters=[{"Name": "group-id", "Values": props["SecurityGroups"]}]
        ),
    ]
    if len(reads[0].result()["Subnets"]) != len(props["Subnets"]):
        raise RuntimeError("a subnet does not exist")
    if len(reads[1].result()["SecurityGroups"]) != len(props["SecurityGroups"]):
        raise RuntimeError("a security group does not exist")
    return td.result()["taskDefinition"]["taskDefinitionArn"], cluster.result()["clusters"][0]["clusterArn"]


def _validate(written: dict[str, Any]) -> None:
    answer = SFN.validate_state_machine_definition(definition=written["definition"], severity="ERROR")
    if answer["result"] != "OK":
        raise RuntimeError(f"invalid definition: {answer['diagnostics']}")


def _owned(arn: str, event: dict[str, Any]) -> bool:
    tags = {t["key"]: t["value"] for t in SFN.list_tags_for_resource(resourceArn=arn)["tags"]}
    return all(tags.get(k) == v for k, v in _tags(event).items())


def _role_owned(role: str, event: dict[str, Any]) -> bool:
    found = IAM.get_role(RoleName=role)["Role"]
    tags = {t["Key"]: t["Value"] for t in found.get("Tags", [])}
    return found["Path"] == ROLE_PATH and all(tags.get(k) == v for k, v in _tags(event).items())


def _waiting(event: dict[str, Any]) -> bool:
    """Whether CloudFormation's record shows the resource waiting for this request."""
    record = CFN.describe_stack_resource(
        StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"]
    )["StackResourceDetail"]
    status = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS"}
    return record["ResourceStatus"] == status[event["RequestType"]]


def handle(event: dict[str, Any], context: Any, documents: dict[str, dict[str, Any]]) -> None:
    _, partition, _, region, account = context.invoked_function_arn.split(":")[:5]
    props = event["ResourceProperties"]
    kind = event["RequestType"]
    if not _waiting(event):
        raise RuntimeError("CloudFormation does not wait for this request")
    if kind == "Create":
        stack = event["StackId"].split("/")[1]
        name = f"{stack}-{event['LogicalResourceId']}-{_digest(event['StackId'], event['LogicalResourceId'], event['RequestId'], length=12)}"
        arn = f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"
        task_definition_arn, _cluster = _resolve(props)
        _validate(documents["sfn.CreateStateMachine"])
        role = _role_name(arn)
        tags = _tags(event)
        role_arn = IAM.create_role(
            **{
                **documents["iam.CreateRole"],
                "RoleName": role,
                "Path": ROLE_PATH,
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        )["Role"]["Arn"]
        IAM.put_role_policy(**{**documents["iam.PutRolePolicy"], "RoleName": role, "PolicyName": POLICY_NAME})
        SFN.create_state_machine(
            **{
                **documents["sfn.CreateStateMachine"],
                "name": name,
                "roleArn": role_arn,
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            }
        )
        if not _waiting(event):
            raise RuntimeError("CloudFormation stopped waiting for this request")
    elif kind == "Update":
        arn = event["PhysicalResourceId"]
        if not _owned(arn, event):
            raise RuntimeError(f"{arn} is not this resource's")
        task_definition_arn, _cluster = _resolve(props)
        _validate(documents["sfn.UpdateStateMachine"])
        role = _role_name(arn)
        if not _role_owned(role, event):
            raise RuntimeError(f"role {role} is not this resource's")
        IAM.put_role_policy(**{**documents["iam.PutRolePolicy"], "RoleName": role, "PolicyName": POLICY_NAME})
        role_arn = f"arn:{partition}:iam::{account}:role{ROLE_PATH}{role}"
        SFN.update_state_machine(
            **{**documents["sfn.UpdateStateMachine"], "stateMachineArn": arn, "roleArn": role_arn}
        )
    else:
        arn = event["PhysicalResourceId"]
        if not _owned(arn, event):
            raise RuntimeError(f"{arn} is not this resource's")
        SFN.delete_state_machine(stateMachineArn=arn)
        role = _role_name(arn)
        if not _role_owned(role, event):
            raise RuntimeError(f"role {role} is not this resource's")
        IAM.delete_role_policy(RoleName=role, PolicyName=POLICY_NAME)
        IAM.delete_role(RoleName=role)
        _respond(event, arn, {})
        return
    _respond(
        event,
        arn,
        {
            "Arn": arn,
            "Name": arn.rsplit(":", 1)[-1],
            "RoleArn": role_arn,
            "TaskDefinitionArn": task_definition_arn,
        },
    )
