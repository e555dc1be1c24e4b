"""moto as a separate process on a free loopback port, answering as AWS does where the provider
relies on it (`testkit.moto_patches`), with Step Functions executions switched on.

    python -m testkit.moto_server --port 50123    (the process; every other argument is moto's)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from testkit.moto_patches import NO_DEFAULT_AMIS

REPO_ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextlib.contextmanager
def isolated_from_aws_environment() -> Iterator[None]:
    """Hide the developer's AWS settings (AWS_PROFILE, ~/.aws/config, ...) while a client is made."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("AWS_")}
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    try:
        yield
    finally:
        for key in [key for key in os.environ if key.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(saved)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """``python -m testkit.moto_server`` on 127.0.0.1:<free port>.

    Step Functions executions are switched on (``/moto-api/config``) as soon as the server answers,
    before any state machine exists: moto keeps executable state machines in a separate backend.
    """

    def __init__(self, log_file: Path | None = None) -> None:
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log_file = log_file
        self._log_handle: Any = None
        self._clients: dict[str, Any] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        for _attempt in range(3):
            self.port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
            # The interpreter reaches the server's own services at localhost:$MOTO_PORT.
            env["MOTO_PORT"] = str(self.port)
            env.update(NO_DEFAULT_AMIS)
            env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
            env["AWS_DEFAULT_REGION"] = REGION
            self._log_handle = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
            self.process = subprocess.Popen(
                [sys.executable, "-m", "testkit.moto_server", "--port", str(self.port)],
                cwd=REPO_ROOT,
                env=env,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
            )
            if self._wait_until_ready(timeout):
                self.configure({"stepfunctions": {"execute_state_machine": True}})
                return self
            self.stop()
        raise RuntimeError("the moto server did not start (see its log)")

    def _wait_until_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/config", timeout=1) as response:
                    response.read()
                    return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log_handle not in (None, subprocess.DEVNULL):
            self._log_handle.close()
        self._log_handle = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _post(self, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(
            f"{self.endpoint_url}{path}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def configure(self, config: dict) -> Any:
        return self._post("/moto-api/config", config)

    def reset(self) -> None:
        """Forget every resource (the configuration stays)."""
        self._post("/moto-api/reset")

    def client(self, service: str) -> Any:
        """A boto3 client for this server, unaffected by the caller's AWS configuration."""
        key = f"{self.endpoint_url} {service}"
        if key not in self._clients:
            with isolated_from_aws_environment():
                self._clients[key] = boto3.session.Session().client(
                    service,
                    region_name=REGION,
                    endpoint_url=self.endpoint_url,
                    config=Config(retries={"max_attempts": 1}),
                    **CREDENTIALS,
                )
        return self._clients[key]


def main(argv: list[str] | None = None) -> None:
    """The server process: moto's own server on 127.0.0.1, with the kit's patches applied."""
    from testkit import moto_patches

    arguments = list(sys.argv[1:] if argv is None else argv)
    if not {"-H", "--host"} & set(arguments):
        arguments = ["--host", "127.0.0.1", *arguments]
    moto_patches.apply()

    from moto.server import main as moto_main

    moto_main(arguments)


if __name__ == "__main__":
    main()
