"""crhelper's request lifecycle, with the parts this provider must not inherit replaced.

`CfnResource.__init__` builds three boto3 clients for polling (unused here) and reconfigures the
root logger; its sender retries forever and takes HTTP 500 as delivered; it sleeps two minutes
before answering a Delete; and its timeout guard answers with an empty PhysicalResourceId.
`Provider` keeps crhelper's dispatch (create/update/delete decorators, physical id handling) and
replaces those four behaviours.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from crhelper import CfnResource

from ..base.errors import ProviderError, show
from ..base.log import child_logger
from ..base.names import failed_create_id
from ..base.settings import Settings
from . import response
from .authenticity import response_host, response_url_problem

logger = child_logger()
# crhelper logs whole events at DEBUG, ResponseURL (a credential) included: keep it quiet.
logging.getLogger("crhelper").setLevel(logging.WARNING)

REQUIRED_EVENT_KEYS = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")
TIMEOUT_REASON = (
    "The provider ran out of time before finishing; anything it made is removed when CloudFormation "
    "sends the follow-up Delete. Raise ServiceTimeout or retry the deployment."
)


class Provider(CfnResource):
    def __init__(self, sender: Callable[[str, dict[str, Any]], bool] = response.send) -> None:
        # Deliberately not calling CfnResource.__init__: see the module docstring.
        self._sender = sender
        self._sleep_on_delete = 0
        self._create_func = self._update_func = self._delete_func = None
        self._poll_create_func = self._poll_update_func = self._poll_delete_func = None
        self._timer: threading.Timer | None = None
        self._init_failed = None
        self._json_logging = False
        self._send_response = False
        self._polling_interval = 0
        self._ssl_verify = None
        self._sam_local = None
        self.Status = ""
        self.Reason = ""
        self.PhysicalResourceId = ""
        self.StackId = self.RequestId = self.LogicalResourceId = ""
        self.Data: dict[str, Any] = {}
        self.NoEcho = False
        self._event: dict[str, Any] = {}
        self._context: Any = None
        self._response_url = ""
        self._lock = threading.Lock()
        self._answered = False
        self._deadline = float("inf")
        self._timed_out = threading.Event()

    def __call__(self, event: Any, context: Any) -> None:
        if not isinstance(event, dict) or any(not isinstance(event.get(k), str) for k in REQUIRED_EVENT_KEYS):
            # Without these there is no one to answer: this is not a CloudFormation request.
            logger.error("not a CloudFormation custom resource request; ignored")
            return
        problem = response_url_problem(event["ResponseURL"], Settings.from_environment(os.environ))
        if problem:
            # Answering would send a request wherever the event says: nothing is answered or done.
            logger.error(
                f"request ignored: {problem}", extra={"response_host": response_host(event["ResponseURL"])}
            )
            return
        self._answered = False
        self._timed_out.clear()
        super().__call__(event, context)

    def _log_setup(self, event: Any, context: Any) -> None:
        """Logging is set up once by the entry module (structured JSON, no event dumps)."""

    def _wait_for_cwlogs(self, sleep: Any = None) -> None:
        """No pause before answering a Delete: this provider has no log stream to wait for."""

    def _get_func(self) -> Any:
        """The function for the event's RequestType. Unlike crhelper, no event key (CrHelperPoll)
        can pick a polling function instead, and an unknown RequestType gets a Reason that says so."""
        request_type = self._event.get("RequestType")
        funcs = {"Create": self._create_func, "Update": self._update_func, "Delete": self._delete_func}
        if request_type in funcs:
            return funcs[request_type]
        reason = f"RequestType {show(request_type)} is not Create, Update or Delete; nothing was done."
        logger.warning("request failed", extra={"outcome": "FAILED", "reason": reason})

        def refuse(event: Any, context: Any) -> None:
            raise ProviderError(reason)

        return refuse

    def _wrap_function(self, func: Any) -> None:
        """Run the request's function; a failure becomes FAILED with its message as the Reason
        (the entry module has already logged it, as structured JSON)."""
        self.Data = {}  # never crhelper's CrHelperData from the event
        try:
            self.PhysicalResourceId = func(self._event, self._context) if func else ""
        except Exception as err:
            self.Reason = str(err)
            self.Status = "FAILED"

    def _poll_enabled(self) -> bool:
        return False

    def report_id(self, physical_id: str) -> None:
        """The id to report if the request fails or times out from now on."""
        self.PhysicalResourceId = physical_id

    def timed_out(self) -> bool:
        """True once the timeout guard has answered FAILED: the request must make nothing more."""
        return self._timed_out.is_set()

    def _set_timeout(self) -> None:
        """Answer before whichever comes first: the Lambda deadline, or CloudFormation giving up.

        CloudFormation waits `ServiceTimeout` seconds (when the template sets it) from the time it
        invoked the function; past that it fails the resource itself and never hears the answer,
        so the guard, and every retry budget, work to the earlier of the two.
        """
        remaining = self._context.get_remaining_time_in_millis() / 1000.0
        limit = service_timeout(self._event)
        if limit is not None:
            remaining = min(remaining, limit - SERVICE_TIMEOUT_MARGIN)
        self._deadline = time.monotonic() + remaining
        self._timer = threading.Timer(max(remaining - 0.5, 0.0), self._timeout)
        self._timer.daemon = True
        self._timer.start()

    def remaining_ms(self) -> int:
        """Milliseconds left before the guard answers for this request."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def _timeout(self) -> None:
        logger.error("about to run out of time; answering FAILED")
        self._timed_out.set()
        self._send("FAILED", TIMEOUT_REASON)

    def _send(self, status: str | None = None, reason: str = "", send_response: Any = None) -> None:
        with self._lock:
            if self._answered:
                logger.warning("a response was already sent for this request; not sending another")
                return
            self._answered = True
        physical_id = str(
            self.PhysicalResourceId or self._event.get("PhysicalResourceId") or self._fallback_id()
        )
        body = {
            "Status": status or self.Status,
            "Reason": (reason if status else str(self.Reason))[:256],
            "PhysicalResourceId": physical_id,
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
            "NoEcho": False,
            "Data": {k: str(v) for k, v in self.Data.items()} if (status or self.Status) == "SUCCESS" else {},
        }
        if not body["Reason"] and body["Status"] == "FAILED":
            body["Reason"] = "The provider failed without a reason; see its log."
        self._sender(self._response_url, body)

    def _fallback_id(self) -> str:
        return (
            self.generate_physical_id(self._event) if self._event.get("StackId", "").count("/") else "failed"
        )

    def generate_physical_id(self, event: dict[str, Any]) -> str:
        """A stable id for a Create that failed before a state machine name existed (never an ARN)."""
        return failed_create_id(
            str(event.get("StackId", "")),
            str(event.get("LogicalResourceId", "")),
            str(event.get("RequestId", "")),
        )


SERVICE_TIMEOUT_MARGIN = 2.0  # seconds kept for the answer to reach CloudFormation in time


def service_timeout(event: dict[str, Any]) -> float | None:
    """The resource's ServiceTimeout (1-3600 s, a string as CloudFormation sends it), if set."""
    properties = event.get("ResourceProperties")
    raw = properties.get("ServiceTimeout") if isinstance(properties, dict) else None
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return value if 1 <= value <= 3600 else None
