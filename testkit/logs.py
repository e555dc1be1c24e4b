"""Everything the provider and its libraries write while a test runs, as one text to search for
what must never be logged (the ResponseURL's signature, property values)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any


class Logs:
    def __init__(self, stream: io.StringIO, caplog: Any, capfd: Any) -> None:
        self._stream = stream
        self._caplog = caplog
        self._capfd = capfd
        self._fd_text = ""

    def structured(self) -> list[dict[str, Any]]:
        """The provider's JSON log lines (from powertools' handler), parsed."""
        return [json.loads(line) for line in self._stream.getvalue().splitlines() if line.strip()]

    def text(self) -> str:
        """All of it as one text: JSON lines, every log record with its extra fields, stdout/stderr."""
        out, err = self._capfd.readouterr()
        self._fd_text += out + err
        records = []
        for record in self._caplog.records:
            records.append(record.getMessage())
            records.append(repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}))
            if record.exc_info:
                records.append(logging.Formatter().formatException(record.exc_info))
        return "\n".join([self._stream.getvalue(), *records, self._fd_text])

    def outcomes(self) -> dict[str, list[dict[str, Any]]]:
        """The JSON lines that carry an outcome, by RequestId."""
        found: dict[str, list[dict[str, Any]]] = {}
        for line in self.structured():
            if "outcome" in line:
                found.setdefault(str(line.get("request_id")), []).append(line)
        return found


@contextlib.contextmanager
def captured(caplog: Any, capfd: Any) -> Iterator[Logs]:
    """Point the provider's log handler at a buffer for the block (pytest's caplog and capfd give
    the rest)."""
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
    try:
        yield Logs(stream, caplog, capfd)
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.stream = old if not getattr(old, "closed", False) else sys.__stdout__
