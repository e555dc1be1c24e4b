"""`make demo`: the provider's story, end to end, on a private moto server.

A team has an ECS task family, a cluster and a network. CloudFormation adds a
Custom::EcsStateMachine to their stack: the provider (in its own process, called as Lambda calls
it) resolves the task definition, makes a role and a state machine, and answers CloudFormation over
HTTPS. The state machine runs the task with a command; a new revision is rolled out by an update
(a new RefreshToken); a mistake is refused with the Reason CloudFormation shows, and rolled back;
with FollowRevisions the next revision reaches it through the follower alone, with no stack update;
the stack is deleted and nothing is left.

Run with ``python -m demo`` from the repository root (``make demo``). Exits non-zero if a step fails.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testkit import cloudtrail, readback, review, stacks
from testkit.cloudformation import Delivery as Step
from testkit.cloudformation import Operation, Player, new_stack_id
from testkit.estate import (
    FOLLOW_TABLE,
    PROVIDER_ROLE_PATH,
    Estate,
    build_estate,
    load_event,
    provider_leftovers,
    substitute,
)
from testkit.lambda_runner import LambdaFunction, read_function_settings
from testkit.listener import Listener
from testkit.moto_server import MotoServer
from testkit.tls import make_tls_material
from testkit.transports import InFunction

BOLD, GREEN, RED, RESET = ("\033[1m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


class DemoFailure(Exception):
    pass


def say(text: str = "", indent: int = 3) -> None:
    print(textwrap.indent(text, " " * indent) if text else "")


def show_json(title: str, value: Any) -> None:
    say(f"{title}:")
    say(json.dumps(value, indent=2, default=str, ensure_ascii=False), indent=6)


def expect(condition: bool, message: str, step: Step | Operation | None = None) -> None:
    if not condition:
        raise DemoFailure(message + ("\n" + step.describe() if step is not None else ""))


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def request_summary(step: Step) -> None:
    request = dict(step.request)
    scheme, _, rest = request["ResponseURL"].partition("://")
    request["ResponseURL"] = f"{scheme}://{rest.split('/', 1)[0]}/… (presigned URL, a credential: not shown)"
    keep = ("RequestType", "LogicalResourceId", "PhysicalResourceId", "ResponseURL", "ResourceProperties")
    show_json("request (CloudFormation -> provider)", {k: request[k] for k in keep if k in request})


def response_summary(step: Step) -> None:
    response = step.response or {}
    say(
        f"response (provider -> ResponseURL): {GREEN if step.succeeded else RED}{response.get('Status')}{RESET}"
        f"  PhysicalResourceId {response.get('PhysicalResourceId')}"
        + (f"\n   Reason: {response['Reason']}" if response.get("Reason") else "")
    )


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.moto: MotoServer | None = None
        self.listener: Listener | None = None
        self.function: LambdaFunction | None = None
        self.follower: LambdaFunction | None = None
        self.world: Estate | None = None
        self.resource: Player | None = None
        self.execution_seconds = 0.0
        self.new_revision = ""
        self.template = workdir / "my-batch-stack.json"

    def start_services(self) -> None:
        tls = make_tls_material(self.workdir / "tls")
        self.moto = MotoServer(log_file=self.workdir / "moto.log").start()
        self.listener = Listener(tls).start()
        self.function = LambdaFunction(
            endpoint_url=self.moto.endpoint_url,
            ca_file=tls.ca_file,
            log_file=self.workdir / "provider.log",
            environment=stacks.provider_environment(self.listener.host_and_port),
        )
        say(f"moto (AWS)               {self.moto.endpoint_url}  (Step Functions executions on)")
        say(
            f"ResponseURL endpoint     https://127.0.0.1:{self.listener.port}  (certificate from a throwaway CA)"
        )
        self.follower = LambdaFunction(
            endpoint_url=self.moto.endpoint_url,
            ca_file=tls.ca_file,
            log_file=self.workdir / "follower.log",
            function_name="ecs-state-machine-follower",
            settings=read_function_settings(handler="follower_app.lambda_handler"),
            environment={"FOLLOW_TABLE": FOLLOW_TABLE},
        )
        say(f"provider function        {self.function.arn}")
        say(
            f"                         src/handler/{self.function.settings.handler}, "
            f"timeout {self.function.settings.timeout_seconds:.0f} s, own process, SSL_CERT_FILE = that CA"
        )
        say(f"follower function        {self.follower.arn}  (src/handler/{self.follower.settings.handler})")

    def existing_workload(self) -> None:
        assert self.moto is not None
        self.world = world = build_estate(self.moto)
        say(f"cluster                  {world.cluster_name}")
        say(
            f"network                  {world.vpc_id}, subnets {', '.join(world.subnets)}, "
            f"security group {world.security_groups[0]}"
        )
        say(
            f"roles                    task {short(world.task_role_arn)}, execution {short(world.execution_role_arn)}"
        )
        ecs = self.moto.client("ecs")
        for arn in world.revisions:
            definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            containers = ", ".join(
                f"{c['name']} ({c['image'].rsplit('/', 1)[-1]})" for c in definition["containerDefinitions"]
            )
            say(f"task definition          {short(arn)}: {containers}")

    def review_first(self) -> None:
        assert self.function and self.listener and self.world and self.moto
        create_event = load_event("create")
        self.resource = Player(
            InFunction(self.function, self.listener),
            new_stack_id("my-batch-stack"),
            create_event["LogicalResourceId"],
        )
        review.provider_stack()
        self.write_template(substitute(create_event["ResourceProperties"], self.world.replacements()))
        self.command(2, "plan", str(self.template), "--stack", "my-batch-stack")

    def write_template(self, properties: dict[str, Any]) -> None:
        """The consumer stack's template: the Custom::EcsStateMachine with these properties."""
        resource = {"Type": "Custom::EcsStateMachine", "Properties": properties}
        resource["Properties"]["ServiceToken"] = {"Fn::ImportValue": review.EXPORT}
        assert self.resource
        self.template.write_text(json.dumps({"Resources": {self.resource.logical_id: resource}}, indent=2))

    def command(self, code: int, *args: str) -> None:
        """Run `ecs-state-machine ARGS` as a user does, show its report (documents left out)."""
        assert self.moto
        say(f"$ ecs-state-machine {' '.join(a if '/' not in a else Path(a).name for a in args)}")
        done = review.run_command(self.moto.endpoint_url, *args)
        documents = ('"', "{", "}", "[", "]", "definition:", "trust policy:")
        say("\n".join(x for x in done.stdout.splitlines() if not x.strip().startswith(documents)), indent=6)
        expect(done.returncode == code, f"exit code {done.returncode}, expected {code}: {done.stderr}")
        say(f"exit code {done.returncode}")

    def create(self) -> None:
        assert self.function and self.listener and self.world and self.moto and self.resource
        create_event = load_event("create")
        properties = substitute(create_event["ResourceProperties"], self.world.replacements())
        properties.pop("ServiceToken")
        say(
            "events/create.json, with this stack's ids, the real subnets and a ResponseURL on the local endpoint"
        )
        operation = self.resource.create_operation(properties)
        request_summary(operation.first)
        response_summary(operation.first)
        expect(operation.outcome == "CREATE_COMPLETE", "the Create failed", operation)
        data = operation.first.data
        say(
            f"resolved revision        {data['TaskDefinitionArn']} (revision {data['TaskDefinitionRevision']}, "
            f"container {data['ContainerName']} of {data['ContainerNames']})"
        )
        machine = readback.state_machine(self.moto, operation.first.physical_id)
        show_json("state machine definition (describe_state_machine)", machine["definition"])
        role = readback.role(self.moto, machine["roleArn"])
        say(f"role                     {role['Arn']}  (path {role['Path']})")
        for name, document in role["policies"].items():
            show_json(
                f"role policy {name} (iam get_role_policy)",
                json.loads(document) if isinstance(document, str) else document,
            )
        expect(role["Path"] == PROVIDER_ROLE_PATH, f"the role is not under {PROVIDER_ROLE_PATH}")
        stacks.shared().deployed(self.resource.stack_id, self.template.read_text())

    def run(self) -> None:
        assert self.moto and self.resource and self.world
        payload = {"command": ["echo", "hello"]}
        say(f"start_execution with input {json.dumps(payload)}")
        started = time.monotonic()
        execution = readback.run_execution(self.moto, self.resource.physical_id or "", payload)
        self.execution_seconds = time.monotonic() - started
        status = execution["status"]
        say(
            f"execution                {GREEN if status == 'SUCCEEDED' else RED}{status}{RESET} "
            f"after {self.execution_seconds:.1f} s"
        )
        expect(status == "SUCCEEDED", readback.execution_failure(self.moto, execution["executionArn"]))
        tasks = readback.tasks(self.moto, self.world.cluster_name)
        expect(len(tasks) == 1, f"ECS recorded {len(tasks)} tasks")
        task = tasks[0]
        say(f"ECS task                 {short(task['taskArn'])} on {self.world.cluster_name}")
        say(f"  task definition        {task['taskDefinitionArn']}")
        say(
            f"  launch type            {task.get('launchType')}, started by {task.get('startedBy') or '-'}, "
            f"last status {task.get('lastStatus')}"
        )
        for override in task["overrides"]["containerOverrides"]:
            say(f"  container override     {override['name']}: command {json.dumps(override.get('command'))}")
        hoge = [o for o in task["overrides"]["containerOverrides"] if o["name"] == "hoge"]
        expect(
            bool(hoge) and hoge[0].get("command") == payload["command"], "the command override is not on hoge"
        )

    def review_update(self) -> None:
        assert self.world
        self.new_revision = self.world.register_revision("v3")
        say(f"registered               {short(self.new_revision)}")
        say("events/update.json's properties: TimeoutSeconds 3600 -> 7200")
        self.write_template(substitute(load_event("update")["ResourceProperties"], self.world.replacements()))
        self.command(2, "plan", str(self.template), "--stack", "my-batch-stack")

    def update(self) -> None:
        assert self.moto and self.resource and self.world
        before = self.resource.physical_id
        new_revision = self.new_revision
        properties = substitute(load_event("update")["ResourceProperties"], self.world.replacements())
        properties.pop("ServiceToken")
        say("events/update.json: the same resource with a new RefreshToken (a pipeline's build number),")
        say("which makes CloudFormation send an Update, and the Update resolves the latest ACTIVE revision")
        operation = self.resource.update_operation(properties)
        response_summary(operation.first)
        expect(operation.outcome == "UPDATE_COMPLETE", "the Update failed", operation)
        expect(operation.first.physical_id == before, "the Update replaced the state machine")
        machine = readback.state_machine(self.moto, operation.first.physical_id or "")
        parameters = readback.run_task_states(machine["definition"])[0]["Parameters"]
        say(f"state machine now runs   {parameters['TaskDefinition']} (same ARN, updated in place)")
        expect(
            operation.first.data.get("TaskDefinitionArn") == new_revision, "the state machine did not move"
        )
        stacks.shared().deployed(self.resource.stack_id, self.template.read_text())

    def refuse(self) -> None:
        assert self.moto and self.resource and self.resource.properties
        arn = self.resource.physical_id or ""
        before = readback.state_machine(self.moto, arn)["definition"]
        mistake = {**self.resource.properties, "ContainerName": "web"}
        say("an Update with a mistake: ContainerName web, which the task definition does not have")
        operation = self.resource.update_operation(mistake)
        response_summary(operation.first)
        expect(not operation.first.succeeded, "the mistake was deployed", operation)
        reason = (operation.first.response or {}).get("Reason", "")
        expect(reason.startswith("ContainerName"), f"the Reason does not name the property: {reason}")
        say(
            f"then rolls back          {GREEN if operation.outcome == 'UPDATE_ROLLBACK_COMPLETE' else RED}"
            f"{operation.outcome}{RESET}"
        )
        expect(operation.outcome == "UPDATE_ROLLBACK_COMPLETE", "the rollback failed", operation)
        after = readback.state_machine(self.moto, arn)["definition"]
        say("the state machine        unchanged: " + ("yes" if after == before else "NO"))
        expect(after == before, "the refused Update changed the state machine")

    def drift(self) -> None:
        assert self.moto and self.resource
        iam = self.moto.client("iam")
        role = readback.state_machine(self.moto, self.resource.physical_id or "")["roleArn"].rsplit("/", 1)[1]
        policy = iam.get_role_policy(RoleName=role, PolicyName="ecs-state-machine")["PolicyDocument"]
        policy["Statement"].append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
        iam.put_role_policy(RoleName=role, PolicyName="ecs-state-machine", PolicyDocument=json.dumps(policy))
        say(
            f"someone adds s3:GetObject to role {role} by hand (CloudFormation's drift detection cannot see it)"
        )
        self.command(2, "drift", "--stack", "my-batch-stack")
        say("the next deploy writes the role's policy again (the FollowRevisions Update below does)")

    def follow(self) -> None:
        assert self.moto and self.resource and self.world and self.follower and self.resource.properties
        arn = self.resource.physical_id or ""
        operation = self.resource.update_operation({**self.resource.properties, "FollowRevisions": "true"})
        say("CloudFormation turns FollowRevisions on (one Update); then no stack update at all:")
        expect(
            operation.outcome == "UPDATE_COMPLETE",
            "the Update that turns FollowRevisions on failed",
            operation,
        )
        revision = self.world.register_revision("v4")
        say(f"a pipeline registers     {short(revision)}")
        say("EventBridge delivers ECS's RegisterTaskDefinition (a CloudTrail event) to the follower")
        invocation = self.follower.invoke(cloudtrail.registered(revision))
        expect(not invocation.failed, f"the follower failed: {invocation.error}")
        say(f"follower                 {json.dumps(invocation.result)}")
        expect(invocation.result.get("moved") == 1, "the follower did not move the state machine")
        machine = readback.state_machine(self.moto, arn)
        parameters = readback.run_task_states(machine["definition"])[0]["Parameters"]
        passed = readback.allowed_resources(
            readback.role(self.moto, machine["roleArn"])["policies"], "ecs:RunTask"
        )
        say(
            f"state machine now runs   {parameters['TaskDefinition']}; its role may run {', '.join(sorted(passed))}"
        )
        expect(parameters["TaskDefinition"] == revision, "the definition did not follow")
        execution = readback.run_execution(self.moto, arn, {"command": ["echo", "followed"]})
        expect(
            execution["status"] == "SUCCEEDED",
            readback.execution_failure(self.moto, execution["executionArn"]),
        )
        latest = [
            t
            for t in readback.tasks(self.moto, self.world.cluster_name)
            if t["taskDefinitionArn"] == revision
        ]
        say(
            f"execution                {GREEN}SUCCEEDED{RESET}: ECS ran {short(revision)} ({len(latest)} task)"
        )
        expect(len(latest) == 1, "the execution did not run the new revision")

    def delete(self) -> None:
        assert self.resource
        say("events/delete.json")
        operation = self.resource.delete_operation()
        response_summary(operation.first)
        expect(operation.outcome == "DELETE_COMPLETE", "the Delete failed", operation)

    def nothing_left(self) -> None:
        assert self.moto
        left = provider_leftovers(self.moto)
        say(f"roles (path {PROVIDER_ROLE_PATH})  {', '.join(left['roles']) or 'none'}")
        say(f"state machines                  {', '.join(left['state_machines']) or 'none'}")
        followed = self.moto.client("dynamodb").scan(TableName=FOLLOW_TABLE)["Count"]
        say(f"follower records                {followed or 'none'}")
        expect(left == {"roles": [], "state_machines": []}, "the provider left resources behind")
        expect(followed == 0, "the follower's records of the resource were left behind")

    def close(self) -> None:
        if self.function:
            self.function.close()
        if self.follower:
            self.follower.close()
        if self.listener:
            self.listener.stop()
        if self.moto:
            self.moto.stop()


def main() -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ecs-state-machine-demo-"))
    demo = Demo(workdir)
    steps: list[tuple[str, Callable[[], None]]] = [
        (
            "Start a private AWS (moto) and the endpoint behind CloudFormation's ResponseURL",
            demo.start_services,
        ),
        ("The existing workload: task family, cluster, network", demo.existing_workload),
        ("Review before the first deploy: ecs-state-machine plan", demo.review_first),
        ("CloudFormation creates the Custom::EcsStateMachine", demo.create),
        ("Run it: an execution with a command", demo.run),
        ("A new revision is registered; ecs-state-machine plan shows the update", demo.review_update),
        ("A new RefreshToken moves the resource to the new revision", demo.update),
        ("A mistake is refused with a Reason, and the stack rolls back", demo.refuse),
        ("A hand edit of the role; ecs-state-machine drift names it", demo.drift),
        ("FollowRevisions: the next revision arrives without a stack update", demo.follow),
        ("CloudFormation deletes the resource", demo.delete),
        ("Nothing is left", demo.nothing_left),
    ]
    print(
        f"{BOLD}Custom::EcsStateMachine demo{RESET}: a CloudFormation custom resource that runs an existing ECS"
    )
    print("task definition from Step Functions. AWS is moto; the provider runs as Lambda would run it.")
    passed = 0
    failure = ""
    try:
        for number, (title, action) in enumerate(steps, start=1):
            print(f"\n{BOLD}[{number}/{len(steps)}] {title}{RESET}")
            try:
                action()
            except Exception as err:
                failure = (
                    f"step {number} ({title}): {str(err).splitlines()[0] if str(err) else type(err).__name__}"
                )
                print(f"{RED}   FAILED{RESET}")
                detail = str(err) if isinstance(err, DemoFailure) else traceback.format_exc()
                say(detail)
                break
            passed += 1
    finally:
        demo.close()
    elapsed = time.monotonic() - started
    print()
    if failure:
        print(
            f"{RED}{BOLD}FAIL{RESET}: {passed}/{len(steps)} steps passed in {elapsed:.1f} s; {failure}. "
            f"Logs: {workdir}"
        )
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"{GREEN}{BOLD}PASS{RESET}: {passed}/{len(steps)} steps in {elapsed:.1f} s: created, ran "
        f"(task in {demo.execution_seconds:.1f} s), reviewed, updated, refused a mistake, found a hand edit, "
        "followed a new revision and deleted a "
        "Custom::EcsStateMachine, nothing left."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
