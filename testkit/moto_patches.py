"""Where moto answers differently from AWS in ways the provider relies on, moto is made to answer as
AWS does (test kit only: the product is written for AWS, never for moto).

`apply()` installs all of them, in the test process (moto in process) and in the moto server
process:

- ECS DescribeTaskDefinition of a family: AWS returns the latest ACTIVE revision, and "Unable to
  describe task definition." when none is ACTIVE; moto returns the highest revision whatever its
  status.
- Step Functions ListTagsForResource of a state machine that does not exist: AWS answers
  ResourceNotFound; moto lists the tags it kept (even those of a deleted state machine).
- Step Functions ListStateMachineVersions and DeleteStateMachineVersion, which moto lacks (it
  publishes versions and keeps aliases): listed newest first as AWS lists them, and a version an
  alias points to cannot be deleted (ConflictException).
- Step Functions StartExecution of a version or alias ARN, which moto's executions do not take: the
  alias is followed to its version, and the version runs as its state machine when it holds the
  state machine's current definition (moto keeps no separate interpreter state per version).
- Step Functions ValidateStateMachineDefinition, which moto lacks: a subset of AWS's checks, enough
  to see the provider turn a FAIL into a Reason: JSON that does not parse, and a Task state whose
  `arn:aws:states:::` Resource names no service integration AWS offers (INVALID_RESOURCE, located
  as AWS locates it, `/States/<name>/Resource`).
- EC2 CreateSubnet and CreateSecurityGroup with an id of the test's choosing (`chosen_ids`), which
  moto cannot give (its ids are random): tests and recorded events that name example ids
  (``subnet-0a1b...``, ``sg-0e4f...``) get a network that has exactly those.
- Step Functions' ECS integration, so that executions can run tasks (below), with every RunTask
  parameter Step Functions passes on (moto's copy of LocalStack's integration passes a fixed subset
  and drops the rest, CapacityProviderStrategy and Tags among them).

Step Functions' ECS integration:

moto 5.2.5 executes state machines with an interpreter ported from LocalStack. In
``moto/stepfunctions/parser/asl/component/state/exec/state_task/service/state_task_service.py`` the
base class ``StateTaskService`` declares two hooks as no-ops:

- ``_normalise_parameters``: should turn the evaluated ASL ``Parameters`` (PascalCase, e.g.
  ``LaunchType``) into the operation's boto3 parameters (``launchType``). Without it,
  ``StateTaskServiceEcs._eval_service_task`` (``state_task_service_ecs.py``) calls
  ``ecs_client.run_task(**parameters)`` with the ASL names, botocore's serializer looks them up among
  the RunTask members and every ``ecs:runTask`` state fails with a KeyError on the first ASL name
  (``'LaunchType'``, ``'Cluster'``, ...).
- ``_normalise_response``: should turn the boto3 response into Step Functions' casing. The ECS
  integration then reads ``response["Tasks"][0]["TaskArn"]``, which a camelCase response lacks.

``apply()`` gives ``StateTaskServiceEcs`` both hooks, driven by botocore's ECS service model:

- request: walk the operation's input shape; in every structure, match each key to a member name
  case-insensitively (``ContainerOverrides`` -> ``containerOverrides``) and recurse through
  structures, lists and maps (map keys are data and stay as they are). Keys that match no member are
  left untouched, so the service reports them as it would.
- response: walk the output shape and capitalise the first letter of every member name
  (``taskArn`` -> ``TaskArn``), as Step Functions presents ECS results. Keys that are not members
  (already converted) stay as they are, so converting twice changes nothing; the interpreter does
  call the hook twice on the same value.

The patch is applied inside the moto server process by ``testkit.moto_server``; the product never
sees it.

``.sync`` (``arn:aws:states:::ecs:runTask.sync``) needs nothing more. moto registers the state
transition ``{"progression": "manual", "times": 1}`` for ``ecs::task``: a task starts RUNNING and
every DescribeTasks moves it one step (DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED). The
integration describes the task once after RunTask and its sync poller describes it every 0.5 s
until ``lastStatus`` is STOPPED, so a ``.sync`` state completes after about 1.5 s. (Posting
``{"model_name": "ecs::task", "transition": {"progression": "immediate"}}`` to
``/moto-api/state-manager/set-transition`` would stop tasks at once; the harness keeps moto's default.)
Each DescribeTasks a test makes also moves a task forward.

ECS task states inside a Parallel branch or a Map item processor (``ItemSelector`` included) need
nothing more either: the interpreter runs them through the same ``StateTaskServiceEcs`` (checked by
``tests/e2e/test_definition_mode.py``). The two ``.sync`` polls of one execution (a sequential task,
then one in a Parallel branch) take about 1.5 s each.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

from botocore import xform_name
from botocore.loaders import create_loader
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape


@functools.cache
def operation_model(service: str, snake_case_action: str) -> OperationModel:
    """botocore's model of ``service``'s operation (``run_task`` -> RunTask), from the bundled data."""
    service_model = ServiceModel(
        create_loader().load_service_model(service, "service-2"), service_name=service
    )
    by_snake_case = {xform_name(name): name for name in service_model.operation_names}
    return service_model.operation_model(by_snake_case[snake_case_action])


def to_boto_parameters(value: Any, shape: Shape | None) -> Any:
    """ASL-cased ``value`` -> the member names of ``shape``, recursively."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members_by_folded_name = {name.lower(): name for name in shape.members}
        converted: dict[str, Any] = {}
        for key, item in value.items():
            member = members_by_folded_name.get(key.lower())
            if member is None:
                converted[key] = item
            else:
                converted[member] = to_boto_parameters(item, shape.members[member])
        return converted
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto_parameters(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto_parameters(item, shape.value) for key, item in value.items()}
    return value


def to_sfn_response(value: Any, shape: Shape | None) -> Any:
    """boto3-cased ``value`` -> Step Functions' casing (first letter upper), recursively."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if key in shape.members:
                converted[key[:1].upper() + key[1:]] = to_sfn_response(item, shape.members[key])
            else:
                converted[key] = item
        return converted
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_sfn_response(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_sfn_response(item, shape.value) for key, item in value.items()}
    return value


def _replace_contents(target: dict, source: dict) -> None:
    target.clear()
    target.update(source)


def _normalise_parameters(
    self, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    _replace_contents(parameters, to_boto_parameters(parameters, operation.input_shape))


def _normalise_response(
    self, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    if not isinstance(response, dict):
        return
    operation = operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    _replace_contents(response, to_sfn_response(response, operation.output_shape))


def _latest_active_revision(original: Any) -> Any:
    from moto.ecs.exceptions import TaskDefinitionNotFoundException

    @functools.wraps(original)
    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        name = task_definition_str.split("/")[-1]
        if ":" in name:
            return original(self, task_definition_str)
        active = [td for td in self.task_definitions.get(name, {}).values() if td.status == "ACTIVE"]
        if not active:
            raise TaskDefinitionNotFoundException()
        return max(active, key=lambda td: td.revision)

    describe_task_definition.patched = True  # type: ignore[attr-defined]
    return describe_task_definition


def _tags_of_existing_only(original: Any) -> Any:
    from moto.stepfunctions.exceptions import ResourceNotFound

    @functools.wraps(original)
    def list_tags_for_resource(self: Any, arn: str) -> Any:
        resource = arn.split(":", 5)[-1]
        machine = resource.startswith("stateMachine:") and resource.count(":") == 1
        if machine and not any(found.arn == arn for found in self.state_machines):
            raise ResourceNotFound(arn)
        return original(self, arn)

    list_tags_for_resource.patched = True  # type: ignore[attr-defined]
    return list_tags_for_resource


# The service integrations whose `arn:aws:states:::<service>:` Resources the validation stand-in knows.
INTEGRATIONS = {
    "ecs",
    "sns",
    "sqs",
    "lambda",
    "states",
    "events",
    "dynamodb",
    "batch",
    "glue",
    "aws-sdk",
    "http",
}


def _versions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self._get_param("stateMachineArn")
    machine = self.stepfunction_backend.describe_state_machine(arn)
    listed = [
        {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date}
        for _number, version in sorted(machine.versions.items(), reverse=True)
    ]
    return ActionResult({"stateMachineVersions": listed})


def _delete_version(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import AWSError

    version_arn = self._get_param("stateMachineVersionArn")
    machine_arn, number = version_arn.rsplit(":", 1)
    machine = next((m for m in self.stepfunction_backend.state_machines if m.arn == machine_arn), None)
    if machine is not None and int(number) in machine.versions:
        routed = {
            r["stateMachineVersionArn"] for a in machine.aliases.values() for r in a.routing_configuration
        }
        if version_arn in routed:
            raise AWSError("Version is referenced by an alias.", "ConflictException", 409)
        del machine.versions[int(number)]
    return ActionResult({})


def _validate_definition(self: Any) -> Any:
    import json

    from moto.core.responses import ActionResult

    diagnostics = []
    try:
        document = json.loads(self._get_param("definition"))
    except ValueError:
        document = None
        diagnostics.append(
            {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": "Invalid JSON."}
        )
    for name, state in ((document or {}).get("States") or {}).items():
        resource = state.get("Resource") if isinstance(state, dict) else None
        if isinstance(resource, str) and resource.startswith("arn:aws:states:::"):
            service = resource.split(":::", 1)[1].split(":", 1)[0]
            if service not in INTEGRATIONS:
                diagnostics.append(
                    {
                        "severity": "ERROR",
                        "code": "INVALID_RESOURCE",
                        "message": f"The resource provided {resource} is not recognized. The value is not a "
                        "valid resource ARN, or the resource is not available in this region.",
                        "location": f"/States/{name}/Resource",
                    }
                )
    return ActionResult(
        {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}
    )


def _executions_of_versions_and_aliases(original: Any) -> Any:
    @functools.wraps(original)
    def start_execution(
        self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, *args: Any
    ) -> Any:
        parts = state_machine_arn.split(":")
        if len(parts) == 8:  # arn:aws:states:region:account:stateMachine:name:qualifier
            source = ":".join(parts[:7])
            machine = next((m for m in self.state_machines if m.arn == source), None)
            if machine is not None:
                qualifier = parts[7]
                if not qualifier.isdigit():
                    routing = machine.aliases[qualifier].routing_configuration
                    qualifier = routing[0]["stateMachineVersionArn"].rsplit(":", 1)[1]
                version = machine.versions[int(qualifier)]
                assert version.definition == machine.definition, "moto runs only the current definition"
                state_machine_arn = source
        return original(self, state_machine_arn, name, execution_input, *args)

    start_execution.patched = True  # type: ignore[attr-defined]
    return start_execution


_CHOSEN: dict[str, list[str]] = {"subnet": [], "security-group": []}


@contextlib.contextmanager
def chosen_ids(subnets: list[str], security_groups: list[str]) -> Iterator[None]:
    """Inside the block, the subnets and security groups moto (in process) creates take these
    ids, in order; then random ids again."""
    _CHOSEN["subnet"][:] = subnets
    _CHOSEN["security-group"][:] = security_groups
    try:
        yield
    finally:
        _CHOSEN["subnet"].clear()
        _CHOSEN["security-group"].clear()


def _chosen_or(kind: str, original: Any) -> Any:
    def next_id() -> str:
        return _CHOSEN[kind].pop(0) if _CHOSEN[kind] else str(original())

    next_id.patched = True  # type: ignore[attr-defined]
    return next_id


# moto loads some 2,600 public AMIs into every new EC2 backend (a third of a second per account);
# nothing here launches instances, so its EC2 starts empty, as a fresh account's own images are.
NO_DEFAULT_AMIS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def apply() -> None:
    """Install every patch. Idempotent."""
    for key, value in NO_DEFAULT_AMIS.items():
        os.environ.setdefault(key, value)
    from moto.ec2.models import security_groups, subnets

    for module, name, kind in (
        (subnets, "random_subnet_id", "subnet"),
        (security_groups, "random_security_group_id", "security-group"),
    ):
        if not getattr(getattr(module, name), "patched", False):
            setattr(module, name, _chosen_or(kind, getattr(module, name)))
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_ecs,
    )

    service_class = state_task_service_ecs.StateTaskServiceEcs
    service_class._normalise_parameters = _normalise_parameters
    service_class._normalise_response = _normalise_response
    run_task_members = operation_model("ecs", "run_task").input_shape.members
    state_task_service_ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"] |= {
        name[:1].upper() + name[1:] for name in run_task_members
    }
    if not getattr(EC2ContainerServiceBackend.describe_task_definition, "patched", False):
        EC2ContainerServiceBackend.describe_task_definition = _latest_active_revision(  # type: ignore[method-assign]
            EC2ContainerServiceBackend.describe_task_definition
        )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    for backend in (StepFunctionBackend, StepFunctionsParserBackend):
        if not getattr(backend.__dict__.get("start_execution"), "patched", False):
            backend.start_execution = _executions_of_versions_and_aliases(backend.start_execution)  # type: ignore[method-assign]

    StepFunctionResponse.list_state_machine_versions = _versions  # type: ignore[attr-defined]
    StepFunctionResponse.delete_state_machine_version = _delete_version  # type: ignore[attr-defined]
    StepFunctionResponse.validate_state_machine_definition = _validate_definition  # type: ignore[attr-defined]
    if not getattr(StepFunctionBackend.list_tags_for_resource, "patched", False):
        StepFunctionBackend.list_tags_for_resource = _tags_of_existing_only(  # type: ignore[method-assign]
            StepFunctionBackend.list_tags_for_resource
        )
