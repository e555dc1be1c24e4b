"""The security suite: the provider tried the way an attacker with a stack author's permissions
would try it, and CloudFormation's own sequences checked to still work.

Requests go through the real handler in process (`testkit.account`), AWS is moto, and
CloudFormation's record is the stand-in (`testkit.stacks`) that the provider reads over HTTP. The
provider's retry pauses are recorded, not slept. Every test that attacks counts itself in TALLY,
and the figures are printed at the end of the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.account import Account, opened
from testkit.logs import Logs, captured

TALLY: Counter[str] = Counter()


@pytest.fixture
def account() -> Iterator[Account]:
    with opened() as opened_account:
        yield opened_account


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    with captured(caplog, capfd) as found:
        yield found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("security figures")
    write(
        f"attacks tried: {TALLY['attacks']}, refused: {TALLY['refused']}, answered only at CloudFormation's "
        f"hosts: {TALLY['attacks'] - TALLY['answered elsewhere']}/{TALLY['attacks']}; resources changed by an "
        f"attack: {TALLY['changed']}"
    )
    write(
        f"legitimate CloudFormation sequences: {TALLY['sequences']}, succeeded: {TALLY['sequences ok']}; "
        f"log scans for secrets: {TALLY['log scans']}, secrets found: {TALLY['secrets logged']}"
    )
