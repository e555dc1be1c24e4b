"""The handler process: loads ``$_HANDLER`` and runs invocations like the AWS Lambda Python runtime.

Started by ``testkit.lambda_runner`` as ``python -I lambda_bootstrap.py <in-fd> <out-fd>`` with
the working directory and ``sys.path[0]`` set to ``$LAMBDA_TASK_ROOT`` (the function's code, as in
/var/task). The runner writes one JSON line per invocation on ``<in-fd>``
(``{"event", "request_id", "invoked_function_arn", "timeout_ms"}``) and reads two JSON lines back on
``<out-fd>``: ``{"started_ms"}`` when the handler is called (the runner kills the process at the
deadline), then ``{"result"}``, or ``{"errorType", "errorMessage", "stackTrace"}`` as Lambda reports
a function error. The handler's stdout and stderr are the function's logs.

What the runtime does and this file copies:
- the handler module is imported once (the init phase); a process serves invocations until the
  runner discards it (after a timeout or a crash, like a Lambda sandbox);
- ``context`` has the runtime's attributes, with ``memory_limit_in_mb`` a string as the runtime reads
  it from the environment, and ``get_remaining_time_in_millis()`` counts down to a deadline fixed when
  the invocation starts;
- the root logger has one handler writing ``[LEVEL]\\t<UTC time>\\t<request id>\\t<message>``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

_current_request_id = ""


class LambdaContext:
    """The attributes of ``awslambdaric.lambda_context.LambdaContext``."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.tenant_id = None
        self.client_context = None
        self.identity = None
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def _install_runtime_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        logging.getLogger().setLevel(level.upper())


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def main() -> None:
    global _current_request_id
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, task_root)
    _install_runtime_logging()

    requests = os.fdopen(in_fd, "r", encoding="utf-8")
    replies = os.fdopen(out_fd, "w", encoding="utf-8", buffering=1)

    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except Exception as exc:  # the runtime reports Runtime.ImportModuleError on every invocation
        handler, init_error = None, _error(exc)
        traceback.print_exc()

    for line in requests:
        request = json.loads(line)
        _current_request_id = request["request_id"]
        started_ms = int(time.time() * 1000)
        print(
            f"START RequestId: {_current_request_id} Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')}"
        )
        replies.write(json.dumps({"started_ms": started_ms}) + "\n")
        if init_error is not None:
            reply = init_error
        else:
            context = LambdaContext(
                _current_request_id, request["invoked_function_arn"], started_ms + request["timeout_ms"]
            )
            try:
                reply = {"result": handler(request["event"], context)}
                json.dumps(reply)
            except Exception as exc:
                reply = _error(exc)
                print(json.dumps({k: reply[k] for k in ("errorType", "errorMessage")}), file=sys.stderr)
        print(f"END RequestId: {_current_request_id}")
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
