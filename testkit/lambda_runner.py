"""The provider function in its own process, invoked the way AWS Lambda invokes it.

``LambdaFunction.invoke(event)`` hands the event to a handler process (``lambda_bootstrap``) that
imported ``$_HANDLER`` from ``src/handler`` and calls it with a Lambda-like context. The process gets
the environment Lambda would give it (function settings read from ``template.yaml`` when it exists),
plus the standard ``AWS_ENDPOINT_URL`` for moto and ``SSL_CERT_FILE`` for the test authority, and
nothing from the test process's own environment. Like a Lambda sandbox, a process serves further
invocations (warm starts) until an invocation times out or the process dies; ``cold=True`` starts
every invocation in a fresh process.

The runner enforces the function timeout: an invocation still running at its deadline is killed and
reported as timed out.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit.moto_server import ACCOUNT_ID, REGION, REPO_ROOT

TASK_ROOT = REPO_ROOT / "src" / "handler"
TEMPLATE = REPO_ROOT / "template.yaml"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
FUNCTION_NAME = "ecs-state-machine-provider"
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for the init phase


def function_arn(function_name: str = FUNCTION_NAME) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"


@dataclass
class FunctionSettings:
    handler: str = "app.lambda_handler"
    timeout_seconds: float = 300.0
    memory_mb: int = 256
    environment: dict[str, str] = field(default_factory=dict)


def _template_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Intrinsic functions (!Ref, !Sub, ...) cannot be resolved here: they load as None.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return Loader


def read_function_settings(
    template: Path = TEMPLATE, handler: str = "app.lambda_handler"
) -> FunctionSettings:
    """Handler, Timeout, MemorySize and literal environment variables of the function whose
    handler is `handler` (the provider's by default; ``follower_app.lambda_handler`` for the
    follower).

    Reads the SAM template's ``Globals.Function`` and that function (else the one whose ``CodeUri``
    is ``src/handler``); falls back to defaults when there is no template.
    """
    settings = FunctionSettings()
    if not template.exists():
        return settings
    import yaml

    document = yaml.load(template.read_text(), Loader=_template_loader()) or {}
    functions = [
        resource.get("Properties") or {}
        for resource in (document.get("Resources") or {}).values()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function"
    ]
    chosen = next(
        (p for p in functions if p.get("Handler") == handler),
        next(
            (
                p
                for p in functions
                if str(p.get("CodeUri") or "").rstrip("/") in ("src/handler", "./src/handler")
            ),
            functions[0] if len(functions) == 1 else None,
        ),
    )
    if chosen is None:
        return settings
    merged: dict[str, Any] = {}
    for source in ((document.get("Globals") or {}).get("Function") or {}, chosen):
        for key, value in source.items():
            if key == "Environment" and isinstance(value, dict):
                variables = merged.setdefault("Environment", {})
                variables.update((value.get("Variables") or {}) if isinstance(value, dict) else {})
            elif value is not None:
                merged[key] = value
    if isinstance(merged.get("Handler"), str):
        settings.handler = merged["Handler"]
    if isinstance(merged.get("Timeout"), int | float):
        settings.timeout_seconds = float(merged["Timeout"])
    if isinstance(merged.get("MemorySize"), int):
        settings.memory_mb = merged["MemorySize"]
    settings.environment = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in (merged.get("Environment") or {}).items()
        if isinstance(value, str | int | float | bool)
    }
    return settings


@dataclass
class Invocation:
    """The outcome of one invocation, as Lambda would report it."""

    request_id: str
    event: dict
    cold: bool
    result: Any = None
    error: dict | None = None  # {"errorType", "errorMessage", "stackTrace"}
    timed_out: bool = False
    exit_code: int | None = None  # set when the process died during the invocation
    duration_ms: float = 0.0
    logs: str = ""

    @property
    def failed(self) -> bool:
        """A function error: Lambda retries such an asynchronous invocation."""
        return self.error is not None or self.timed_out or self.exit_code is not None


class _Sandbox:
    """One handler process and its two pipes."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, task_root: Path) -> None:
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [*command, str(requests_read), str(replies_write)],
            cwd=task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(requests_read, replies_write),
        )
        os.close(requests_read)
        os.close(replies_write)
        self._buffer = b""
        self.invocations = 0

    def send(self, message: dict) -> None:
        os.write(self._requests, (json.dumps(message) + "\n").encode())

    def receive(self, deadline: float) -> dict | None:
        """Next reply line, or None if the deadline (monotonic) passed or the process ended."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._replies], [], [], min(remaining, 0.2))
            if ready:
                chunk = os.read(self._replies, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
            elif self.process.poll() is not None:
                return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def log_size(self) -> int:
        self._log.flush()
        return self.log_path.stat().st_size

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()


class LambdaFunction:
    def __init__(
        self,
        *,
        endpoint_url: str,
        ca_file: Path,
        log_file: Path,
        function_name: str = FUNCTION_NAME,
        settings: FunctionSettings | None = None,
        timeout_seconds: float | None = None,
        environment: dict[str, str] | None = None,
        cold: bool = False,
        task_root: Path = TASK_ROOT,
    ) -> None:
        self.settings = settings or read_function_settings()
        self.task_root = task_root
        self.function_name = function_name
        self.arn = function_arn(function_name)
        self.timeout_seconds = timeout_seconds or self.settings.timeout_seconds
        self.cold = cold
        self.log_file = log_file
        self._endpoint_url = endpoint_url
        self._ca_file = ca_file
        self._extra_environment = dict(environment or {})
        self._sandbox: _Sandbox | None = None
        self.invocations: list[Invocation] = []

    def environment(self) -> dict[str, str]:
        """What the handler process sees: Lambda's variables, the function's, and the test endpoints."""
        log_stream = time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + secrets.token_hex(16)
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "_HANDLER": self.settings.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.settings.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # A Lambda sandbox has no ~/.aws: keep the machine's files out of the handler's view.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        env.update(self.settings.environment)
        env.update(
            {
                "AWS_ENDPOINT_URL": self._endpoint_url,
                "SSL_CERT_FILE": str(self._ca_file),
            }
        )
        env.update(self._extra_environment)
        env.pop("AWS_SAM_LOCAL", None)
        return env

    def _start_sandbox(self) -> _Sandbox:
        return _Sandbox(
            [sys.executable, "-I", str(BOOTSTRAP)], self.environment(), self.log_file, self.task_root
        )

    def invoke(self, event: dict) -> Invocation:
        """Run one invocation to its end (return, error, timeout or crash)."""
        cold = self._sandbox is None or self.cold or self._sandbox.process.poll() is not None
        if cold:
            self.discard()
            self._sandbox = self._start_sandbox()
        sandbox = self._sandbox
        assert sandbox is not None
        invocation = Invocation(request_id=str(uuid.uuid4()), event=event, cold=cold)
        log_start = sandbox.log_size()
        began = time.monotonic()
        sandbox.send(
            {
                "event": event,
                "request_id": invocation.request_id,
                "invoked_function_arn": self.arn,
                "timeout_ms": int(self.timeout_seconds * 1000),
            }
        )
        started = sandbox.receive(began + (INIT_TIMEOUT_SECONDS if cold else 2.0))
        reply = None
        if started is not None:
            # The deadline counts from the start of the invocation (after the init phase).
            reply = sandbox.receive(time.monotonic() + self.timeout_seconds + 0.25)
        invocation.duration_ms = (time.monotonic() - began) * 1000
        if reply is not None:
            if "result" in reply:
                invocation.result = reply["result"]
            else:
                invocation.error = reply
        else:
            exit_code = sandbox.process.poll()
            if exit_code is None:
                invocation.timed_out = True
                invocation.error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {self.timeout_seconds:.2f} seconds",
                }
            else:
                invocation.exit_code = exit_code
                invocation.error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited "
                    f"with error: exit status {exit_code}",
                }
            self.discard()
        if self._sandbox is not None:
            sandbox.invocations += 1
            end = sandbox.log_size()
        else:
            end = self.log_file.stat().st_size
        with open(self.log_file, "rb") as log:
            log.seek(log_start)
            invocation.logs = log.read(end - log_start).decode(errors="replace")
        if self.cold:
            self.discard()
        self.invocations.append(invocation)
        return invocation

    def discard(self) -> None:
        """End the current handler process (the next invocation starts cold)."""
        if self._sandbox is not None:
            self._sandbox.close()
        self._sandbox = None

    def close(self) -> None:
        self.discard()
