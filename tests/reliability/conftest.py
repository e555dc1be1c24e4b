"""Fixtures of the reliability suite: a shared moto world per module, log capture with a secret
scan on every test, and the run's figures printed at the end."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.tls import make_tls_material
from tests.reliability.listener import Listener
from tests.reliability.support import TALLY, Logs, World, open_world, secrets_in


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
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 (ca.pem, server.pem, server.key)."""
    tls = make_tls_material(tmp_path_factory.mktemp("tls"), hosts=("127.0.0.1",))
    return tls.ca_file, tls.cert_file, tls.key_file


@pytest.fixture
def listener(certificates: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Listener]:
    """A local HTTPS ResponseURL endpoint, trusted through SSL_CERT_FILE."""
    ca, cert, key = certificates
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    server = Listener(cert, key).start()
    monkeypatch.setenv("ALLOWED_RESPONSE_HOSTS", f"127.0.0.1:{server.port}")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    """Capture every log line (powertools' JSON stream, all logging records, stdout/stderr) and fail
    the test if a secret marker (ResponseURL signature, a Tags value, EnvironmentPath) shows up."""
    import app  # noqa: F401  (creates the service logger and its handler)

    stream = io.StringIO()
    handlers = [
        h for h in logging.getLogger("ecs-state-machine").handlers if isinstance(h, logging.StreamHandler)
    ]
    # Not setStream(): it flushes the old stream, which may be an earlier test's closed capture.
    # If the handler was made during this test (app first imported here), its stream is this
    # test's capture, closed soon: give it the process's stdout back instead.
    this_tests_stdout = sys.stdout
    previous = [sys.__stdout__ if h.stream is this_tests_stdout else h.stream for h in handlers]
    for handler in handlers:
        handler.stream = stream
    caplog.set_level(logging.INFO)
    captured = Logs(stream, caplog, capfd)
    try:
        yield captured
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.stream = old if not getattr(old, "closed", False) else sys.__stdout__
    leaked = secrets_in(captured.text())
    TALLY["log lines scanned"] += len(captured.structured())
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
