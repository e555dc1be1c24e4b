"""Fixtures of the reliability suite: a shared moto world per module, log capture with a secret
scan on every test, and the run's figures printed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.listener import Listener
from testkit.logs import Logs, captured
from testkit.tls import TlsMaterial, make_tls_material
from tests.reliability.support import TALLY, World, open_world, secrets_in


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with open_world() as opened:
        yield opened


@pytest.fixture
def fresh(world: World) -> Iterator[World]:
    """The module's world, emptied of faults and provider resources before and after the test."""
    world.reset()
    if world.leftovers() != ([], []):
        world.sweep()
    yield world
    world.reset()
    world.sweep()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A throwaway CA and a certificate for 127.0.0.1."""
    return make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def listener(tls: TlsMaterial, monkeypatch: pytest.MonkeyPatch) -> Iterator[Listener]:
    """A local HTTPS ResponseURL endpoint, trusted through SSL_CERT_FILE and allowed to be answered."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    with Listener(tls) as server:
        monkeypatch.setenv("ALLOWED_RESPONSE_HOSTS", server.host_and_port)
        yield server


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    """Capture every log line (powertools' JSON stream, all logging records, stdout/stderr) and fail
    the test if a secret marker (ResponseURL signature, a Tags value, EnvironmentPath) shows up."""
    with captured(caplog, capfd) as found:
        yield found
    leaked = secrets_in(found.text())
    TALLY["log lines scanned"] += len(found.structured())
    if leaked:
        TALLY["secrets leaked into logs"] += 1
        pytest.fail(f"secret markers {leaked} appear in the log output", pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures")
    if TALLY["fault cases"]:
        write(
            f"fault cases tried: {TALLY['fault cases']}, SUCCESS after retry: {TALLY['fault success']}, "
            f"FAILED cleanly: {TALLY['fault failed cleanly']}, resources leaked: {TALLY['fault leaks']}"
        )
    if TALLY["follow fault cases"]:
        write(
            f"FollowRevisions DynamoDB faults tried: {TALLY['follow fault cases']}, answered: "
            f"{TALLY['follow fault answered']}, records left to the next sweep: "
            f"{TALLY['follow fault records left to the sweep']}, leaked: {TALLY['follow fault leaks']}"
        )
    if TALLY["bad inputs"]:
        write(
            f"bad inputs tried: {TALLY['bad inputs']} (FAILED cleanly: {TALLY['bad failed']}, "
            f"SUCCESS without harm: {TALLY['bad succeeded']}, ignored without a response: "
            f"{TALLY['bad ignored']}), resources leaked: {TALLY['bad leaks']}"
        )
    write(
        f"log lines scanned: {TALLY['log lines scanned']}, secrets leaked into logs: "
        f"{TALLY['secrets leaked into logs']}"
    )
