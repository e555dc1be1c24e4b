"""The upgrade suite: an account as a previous release left it, then this release's handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.account import Account, opened


@pytest.fixture
def account() -> Iterator[Account]:
    with opened(record_pauses=False) as opened_account:
        yield opened_account
