"""Where the benchmark runs the code under test: one moto server (its own process, on a free loopback
port), one HTTPS response listener, and handler processes started the way AWS Lambda starts them.

Built from the test kit (``testkit``): ``MotoServer``, ``Listener`` with a throwaway certificate
authority, CloudFormation's record, and ``LambdaFunction`` (the handler in its own process, reaching
AWS only through ``AWS_ENDPOINT_URL``). The function's task root is a copy of the handler directory
(``BENCH_HANDLER_DIR``, default ``src/handler``) plus ``bench_shim``, ``bench_minimal`` and the
kit's fault injector (``testkit``), which the shim uses to count calls and inject throttling.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit import stacks
from testkit.cloudformation import Player, new_stack_id
from testkit.lambda_runner import LambdaFunction
from testkit.listener import Listener
from testkit.moto_server import REPO_ROOT, MotoServer
from testkit.tls import make_tls_material
from testkit.transports import InFunction

BENCH_DIR = Path(__file__).resolve().parent


def handler_dir() -> Path:
    """The code under test: src/handler, or a copy named by BENCH_HANDLER_DIR."""
    return Path(os.environ.get("BENCH_HANDLER_DIR") or REPO_ROOT / "src" / "handler").resolve()


class BenchError(RuntimeError):
    pass


@dataclass
class Outcome:
    """One invocation as the benchmark sees it: what the shim measured and the response sent."""

    request: dict
    result: dict
    response: dict

    @property
    def wall_s(self) -> float:
        return float(self.result["wall_s"])

    @property
    def calls(self) -> list[str]:
        return list(self.result["calls"])

    @property
    def physical_id(self) -> str:
        return str(self.response["PhysicalResourceId"])

    @property
    def status(self) -> str:
        return str(self.response["Status"])

    def documents(self) -> dict[str, dict[str, Any]]:
        """The parameters of the calls recorded with ``record=True``, by ``service.Operation``."""
        return {operation: params for operation, params in self.result.get("params", [])}


class Bench:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.task_root = workdir / "task"
        self.moto = MotoServer(log_file=workdir / "moto.log")
        self.tls = make_tls_material(workdir / "tls")
        self.listener = Listener(self.tls)
        self.functions: list[LambdaFunction] = []
        self._requests: InFunction | None = None

    def __enter__(self) -> Bench:
        shutil.copytree(handler_dir(), self.task_root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy(BENCH_DIR / "shim.py", self.task_root / "bench_shim.py")
        shutil.copy(BENCH_DIR / "minimal.py", self.task_root / "bench_minimal.py")
        kit = self.task_root / "testkit"
        kit.mkdir()
        for module in ("__init__.py", "faults.py"):
            shutil.copy(REPO_ROOT / "testkit" / module, kit / module)
        self.moto.start()
        self.listener.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for function in self.functions:
            function.close()
        self.listener.stop()
        self.moto.stop()

    def function(self, target: str = "provider", name: str | None = None) -> LambdaFunction:
        """A function whose handler process runs ``target`` ("provider", "follower" or "minimal") under
        the shim."""
        label = name or f"{target}-{len(self.functions)}"
        function = LambdaFunction(
            endpoint_url=self.moto.endpoint_url,
            ca_file=self.tls.ca_file,
            log_file=self.workdir / f"{label}.log",
            environment={
                "_HANDLER": "bench_shim.handler",
                "BENCH_TARGET": target,
                **stacks.provider_environment(self.listener.host_and_port),
            },
            task_root=self.task_root,
        )
        self.functions.append(function)
        return function

    def warm(self, functions: Iterable[LambdaFunction], wave: int = 4) -> None:
        """Start the handler processes (the init phase), a few at a time so that each stays within
        Lambda's 10-second init limit on a small, possibly busy machine; a process that still misses
        it gets one more try."""
        pending = list(functions)
        for attempt in (1, 2):
            failed = []
            for start in range(0, len(pending), wave):
                batch = pending[start : start + wave]
                with ThreadPoolExecutor(len(batch)) as pool:
                    invocations = list(pool.map(lambda f: f.invoke({"bench": {"noop": True}}), batch))
                failed += [(f, i) for f, i in zip(batch, invocations, strict=True) if i.failed]
            if not failed:
                return
            if attempt == 2:
                _function, invocation = failed[0]
                raise BenchError(
                    f"handler process did not start: {invocation.error}\n{invocation.logs[-3000:]}"
                )
            pending = [f for f, _ in failed]

    def stack(self, name: str) -> str:
        """A new stack's id (requests name it; CloudFormation's record keeps it)."""
        if self._requests is None:
            self._requests = InFunction(self.function("provider", "requests"), self.listener)
        return new_stack_id(name)

    def request(
        self,
        stack: str,
        request_type: str,
        logical_id: str,
        properties: dict,
        *,
        physical_id: str | None = None,
        old_properties: dict | None = None,
    ) -> dict:
        assert self._requests is not None
        extra: dict[str, Any] = {}
        if physical_id is not None:
            extra["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            extra["OldResourceProperties"] = old_properties
        return Player(self._requests, stack, logical_id).event(request_type, properties, **extra)

    def deliver(self, function: LambdaFunction, request: dict, **control: Any) -> tuple[Any, list[dict]]:
        """Run one request whatever happens: the invocation and every response body sent for it."""
        stacks.shared().waiting(request)
        invocation = function.invoke({"bench": control, "event": request})
        attempts = self.listener.wait_for(request["RequestId"], 1, timeout=5.0)
        bodies = [json.loads(a.body) for a in attempts]
        stacks.shared().heard(request, bodies[0] if bodies else None)
        return invocation, bodies

    def invoke(self, function: LambdaFunction, request: dict, **control: Any) -> Outcome:
        """Run one request; raise unless it ran to completion and answered exactly once."""
        stacks.shared().waiting(request)
        invocation = function.invoke({"bench": control, "event": request})
        if invocation.failed or not isinstance(invocation.result, dict):
            raise BenchError(
                f"{request['RequestType']} failed to run: {invocation.error}\n{invocation.logs[-3000:]}"
            )
        attempts = self.listener.wait_for(request["RequestId"], 1, timeout=5.0)
        if len(attempts) != 1:
            raise BenchError(
                f"{request['RequestType']} answered {len(attempts)} times\n{invocation.logs[-3000:]}"
            )
        response = json.loads(attempts[0].body)
        stacks.shared().heard(request, response)
        return Outcome(request, invocation.result, response)


def scratch_dir(prefix: str = "ecs-state-machine-bench-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
