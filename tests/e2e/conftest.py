"""Session-wide machinery for the end-to-end tests: one moto server, one response listener, one
provider function (its process stays warm between invocations, as a Lambda sandbox does). Each test
starts from an empty moto with a fresh estate and an empty CloudFormation record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import stacks
from testkit.cloudformation import Player, new_stack_id
from testkit.estate import Estate, build_estate
from testkit.lambda_runner import LambdaFunction, read_function_settings
from testkit.listener import Listener
from testkit.moto_server import MotoServer
from testkit.tls import TlsMaterial, make_tls_material
from testkit.transports import InFunction


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def tls(workdir: Path) -> TlsMaterial:
    return make_tls_material(workdir / "tls")


@pytest.fixture(scope="session")
def moto(workdir: Path) -> Iterator[MotoServer]:
    with MotoServer(log_file=workdir / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def listener(tls: TlsMaterial) -> Iterator[Listener]:
    with Listener(tls) as running:
        yield running


@pytest.fixture(scope="session")
def provider(
    moto: MotoServer, tls: TlsMaterial, workdir: Path, listener: Listener
) -> Iterator[LambdaFunction]:
    function = LambdaFunction(
        endpoint_url=moto.endpoint_url,
        ca_file=tls.ca_file,
        log_file=workdir / "provider.log",
        environment=stacks.provider_environment(listener.host_and_port),
    )
    yield function
    function.close()


@pytest.fixture(scope="session")
def follower(moto: MotoServer, tls: TlsMaterial, workdir: Path) -> Iterator[LambdaFunction]:
    """The follower function (FollowRevisions), in its own Lambda-like process."""
    from testkit.estate import FOLLOW_TABLE

    function = LambdaFunction(
        endpoint_url=moto.endpoint_url,
        ca_file=tls.ca_file,
        log_file=workdir / "follower.log",
        function_name="ecs-state-machine-follower",
        settings=read_function_settings(handler="follower_app.lambda_handler"),
        environment={"FOLLOW_TABLE": FOLLOW_TABLE},
    )
    yield function
    function.close()


@pytest.fixture
def world(moto: MotoServer) -> Estate:
    moto.reset()
    return build_estate(moto)


@pytest.fixture
def cloudformation(provider: LambdaFunction, listener: Listener, world: Estate) -> InFunction:
    listener.clear()
    stacks.shared().clear()
    return InFunction(provider, listener)


@pytest.fixture
def one_response_per_request(provider: LambdaFunction, listener: Listener) -> Iterator[None]:
    """After the test: the provider never failed an invocation (Lambda would retry it) and answered
    every request exactly once."""
    first_invocation = len(provider.invocations)
    yield
    failed = [i for i in provider.invocations[first_invocation:] if i.failed]
    assert not failed, "function errors: " + "; ".join(f"{i.error} {i.logs[-2000:]}" for i in failed)
    per_request: dict[str | None, int] = {}
    for attempt in listener.attempts:
        per_request[attempt.request_id] = per_request.get(attempt.request_id, 0) + 1
    assert all(count == 1 for count in per_request.values()), f"responses per RequestId: {per_request}"


@pytest.fixture
def resource(cloudformation: InFunction) -> Player:
    return Player(cloudformation, new_stack_id("my-batch-stack"), "NightlyBatch")
