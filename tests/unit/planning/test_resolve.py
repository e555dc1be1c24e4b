"""Resolution against ECS, with botocore's Stubber standing in for ECS's answers: the latest ACTIVE
revision of a family, the Reasons of what is missing, and one description per family however many
states name it."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecs_state_machine.base.aws import Aws
from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.planning.resolve import resolve, resolve_states, resolve_task_definition
from ecs_state_machine.schema.definition import ecs_tasks
from ecs_state_machine.schema.properties import parse
from ecs_state_machine.schema.values import TaskDefinitionRef

PREFIX = "arn:aws:ecs:us-east-1:123456789012"
CLUSTER = f"{PREFIX}:cluster/batch"


def described(family: str = "etl", revision: int = 3, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": f"{PREFIX}:task-definition/{family}:{revision}",
            "family": family,
            "revision": revision,
            "status": status,
            "containerDefinitions": [{"name": "app"}],
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "taskRoleArn": "arn:aws:iam::123456789012:role/etl-task",
        }
    }


@pytest.fixture
def ecs() -> Any:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def aws(ecs: Stubber) -> Aws:
    return Aws(clients={"ecs": ecs.client})


def unknown(ecs: Stubber, name: str) -> None:
    ecs.add_client_error(
        "describe_task_definition",
        "ClientException",
        "Unable to describe task definition.",
        expected_params={"taskDefinition": name},
    )


def test_a_family_is_its_latest_active_revision_in_one_call(ecs):
    ecs.add_response("describe_task_definition", described(), {"taskDefinition": "etl"})
    td = resolve_task_definition(TaskDefinitionRef("etl"), aws(ecs))
    assert (td.label, td.containers, td.roles) == (
        "etl:3",
        ("app",),
        ("arn:aws:iam::123456789012:role/etl-task",),
    )


def test_a_family_whose_revisions_are_all_deregistered_says_so(ecs):
    unknown(ecs, "etl")
    ecs.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": [f"{PREFIX}:task-definition/etl:2"]},
        {"familyPrefix": "etl", "status": "INACTIVE", "maxResults": 1},
    )
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'etl': has no ACTIVE revision"):
        resolve_task_definition(TaskDefinitionRef("etl"), aws(ecs))


def test_a_family_that_does_not_exist_says_so(ecs):
    unknown(ecs, "nope")
    ecs.add_response("list_task_definitions", {"taskDefinitionArns": []})
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'nope': no such task definition family"):
        resolve_task_definition(TaskDefinitionRef("nope"), aws(ecs))


def test_a_pinned_revision_that_is_deregistered_cannot_start_tasks(ecs):
    ecs.add_response(
        "describe_task_definition", described(revision=1, status="INACTIVE"), {"taskDefinition": "etl:1"}
    )
    with pytest.raises(PropertyError, match=r"^TaskDefinition 'etl:1': is INACTIVE"):
        resolve_task_definition(TaskDefinitionRef("etl", 1), aws(ecs))


def test_a_missing_cluster_fails_the_deploy():
    ecs = SlowEcs(["etl"], missing_clusters={"nope"})
    props = parse({"TaskDefinition": "etl", "Cluster": "nope", "Subnets": ["subnet-0a1b2c3d"]})
    with pytest.raises(PropertyError, match=r"^Cluster 'nope': no such ACTIVE ECS cluster"):
        resolve(props, Aws(clients={"ecs": ecs, "ec2": Ec2()}))


def test_a_task_s_revision_cluster_and_network_are_described_at_once():
    ecs, ec2 = SlowEcs(["etl"], latency=0.05), Ec2(latency=0.05)
    props = parse(
        {
            "TaskDefinition": "etl",
            "Cluster": "batch",
            "Subnets": ["subnet-0a1b2c3d"],
            "SecurityGroups": ["sg-0e4f5a6b"],
        }
    )
    td, cluster, network = resolve(props, Aws(clients={"ecs": ecs, "ec2": ec2}))
    assert (td.label, cluster.arn) == ("etl:3", CLUSTER)
    assert network.subnets == {"subnet-0a1b2c3d": "vpc-1"} and network.security_groups == {
        "sg-0e4f5a6b": "vpc-1"
    }
    assert ecs.most_in_flight + ec2.most_in_flight >= 3, "one after another"


class SlowEcs:
    """An ECS that takes `latency` seconds per answer, knows the families it is given, and records
    every call and how many were in flight at once (no order imposed, unlike the Stubber)."""

    def __init__(self, families: list[str], latency: float = 0.0, missing_clusters: set[str] = set()) -> None:  # noqa: B006
        self.families, self.latency, self.missing_clusters = set(families), latency, missing_clusters
        self.calls: list[tuple[str, str]] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def _enter(self, call: tuple[str, str]) -> None:
        with self._lock:
            self.calls.append(call)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.latency)
        with self._lock:
            self.in_flight -= 1

    def describe_clusters(self, clusters: list[str]) -> dict[str, Any]:
        self._enter(("describe_clusters", clusters[0]))
        if clusters[0] in self.missing_clusters:
            return {"clusters": [], "failures": [{"arn": clusters[0], "reason": "MISSING"}]}
        return {"clusters": [{"clusterArn": f"{PREFIX}:cluster/{clusters[0]}", "status": "ACTIVE"}]}

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        self._enter(("describe_task_definition", taskDefinition))
        if taskDefinition not in self.families:
            error = {"Error": {"Code": "ClientException", "Message": "Unable to describe task definition."}}
            raise ClientError(error, "DescribeTaskDefinition")
        return described(taskDefinition)

    def list_task_definitions(self, **_: Any) -> dict[str, Any]:
        self._enter(("list_task_definitions", ""))
        return {"taskDefinitionArns": []}


class Ec2(SlowEcs):
    """EC2 knowing subnet-* and sg-* ids of vpc-1 (a filter by id lists only those that exist)."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__([], latency)

    def describe_subnets(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        self._enter(("describe_subnets", ",".join(Filters[0]["Values"])))
        return {"Subnets": [{"SubnetId": s, "VpcId": "vpc-1"} for s in Filters[0]["Values"]]}

    def describe_security_groups(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        self._enter(("describe_security_groups", ",".join(Filters[0]["Values"])))
        return {"SecurityGroups": [{"GroupId": g, "VpcId": "vpc-1"} for g in Filters[0]["Values"]]}


def chain(*families: str) -> Any:
    names = [f"S{i}" for i in range(len(families))]
    states = {
        name: {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "TaskDefinition": family,
                "Cluster": "batch",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"]}},
            },
            **({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True}),
        }
        for i, (name, family) in enumerate(zip(names, families, strict=True))
    }
    return parse({"Definition": {"StartAt": "S0", "States": states}})


def test_a_definition_describes_each_family_and_cluster_once():
    ecs = SlowEcs(["etl"])
    props = chain("etl", "etl")
    ec2 = Ec2()
    facts, network = resolve_states(
        props, ecs_tasks(props.definition), Aws(clients={"ecs": ecs, "ec2": ec2}), "123456789012"
    )  # type: ignore[arg-type,attr-defined]
    assert sorted(ecs.calls) == [("describe_clusters", "batch"), ("describe_task_definition", "etl")]
    assert ec2.calls == [("describe_subnets", "subnet-0a1b2c3d")] and network.subnets == {
        "subnet-0a1b2c3d": "vpc-1"
    }
    assert [f.revisions[0].arn for f in facts] == [f"{PREFIX}:task-definition/etl:3"] * 2
    assert [f.parameters(True) for f in facts] == [(f"{PREFIX}:task-definition/etl:3", CLUSTER)] * 2


def test_many_families_are_described_at_once_not_one_after_another():
    families = [f"family-{i}" for i in range(40)]
    ecs = SlowEcs(families, latency=0.05)
    props = chain(*families, *families[:10])
    facts, _ = resolve_states(
        props, ecs_tasks(props.definition), Aws(clients={"ecs": ecs, "ec2": Ec2()}), "123456789012"
    )  # type: ignore[arg-type,attr-defined]
    assert len(ecs.calls) == 41 and len(facts) == 50
    assert ecs.most_in_flight >= 4, "the calls went one after another (make bench measures the time)"


def test_the_first_state_in_document_order_that_fails_is_the_one_reported():
    ecs = SlowEcs(["a", "c"], latency=0.01)
    props = chain("a", "missing-early", "c", "missing-late")
    with pytest.raises(PropertyError) as caught:
        resolve_states(
            props, ecs_tasks(props.definition), Aws(clients={"ecs": ecs, "ec2": Ec2()}), "123456789012"
        )  # type: ignore[arg-type,attr-defined]
    assert caught.value.reason.startswith(
        "Definition.States.S1.Parameters.TaskDefinition 'missing-early': no such task definition family"
    )
