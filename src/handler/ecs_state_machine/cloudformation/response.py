"""Deliver the response to CloudFormation's pre-signed ResponseURL: an HTTPS PUT of a JSON body.

Unlike crhelper's own sender (which retries connection errors forever and takes any HTTP status,
500 included, as delivered), this one treats a status >= 400 or a connection error as a failed
attempt, retries a bounded number of times with jittered backoff, and gives up well inside the
function's time. The URL is a credential: it is never logged.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..base.log import child_logger

logger = child_logger()

BODY_LIMIT = 4096
ATTEMPTS = 5
ATTEMPT_TIMEOUT = 10.0
FIRST_DELAY = 0.5
MAX_DELAY = 4.0


# Attributes that can grow with the task definitions, dropped in this order when the body would
# pass CloudFormation's limit; Arn, Name and RoleArn always stay.
DROPPABLE = ("ContainerNames", "TaskDefinitionArns")


def encode(body: dict[str, Any]) -> bytes:
    """The JSON body, kept under CloudFormation's 4096-byte limit by dropping long attributes."""
    trimmed = dict(body, Reason=str(body.get("Reason", ""))[:256], Data=dict(body.get("Data", {})))
    data = json.dumps(trimmed).encode()
    for key in DROPPABLE:
        if len(data) <= BODY_LIMIT:
            break
        if trimmed["Data"].pop(key, None) is not None:
            logger.warning(
                "attribute left out of the response: over CloudFormation's 4096 bytes",
                extra={"attribute": key},
            )
        data = json.dumps(trimmed).encode()
    return data


# Default TLS contexts, one per CA location. Building one reads the whole CA bundle (tens of
# milliseconds), which a warm sandbox need not repeat for every response; SSL_CERT_FILE and
# SSL_CERT_DIR (which the default context honours) are part of the key, and so is the CA file's
# size and modification time, so a changed trust store is never answered from the cache.
_TLS: dict[tuple[Any, ...], ssl.SSLContext] = {}
_TLS_LOCK = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """ssl.create_default_context(), built once per CA location: verifies the ResponseURL's host."""
    ca_file, ca_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    try:
        stat = os.stat(ca_file) if ca_file else None
    except OSError:
        stat = None
    key = (ca_file, ca_dir, stat and (stat.st_size, stat.st_mtime_ns))
    with _TLS_LOCK:
        if key not in _TLS:
            _TLS[key] = ssl.create_default_context()
        return _TLS[key]


class _Attempt(threading.Thread):
    """One PUT, in a thread of its own so that the sender can stop waiting for it: a server that
    answers one byte a second never trips a socket timeout, which bounds each read, not the whole."""

    def __init__(self, host: str, port: int, path: str, data: bytes, timeout: float) -> None:
        super().__init__(daemon=True)
        self._args = (host, port, path, data, timeout)
        self._connection: http.client.HTTPSConnection | None = None
        self.status: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        host, port, path, data, timeout = self._args
        try:
            self._connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls_context())
            self._connection.request(
                "PUT", path, body=data, headers={"Content-Type": "", "Content-Length": str(len(data))}
            )
            self.status = self._connection.getresponse().status
        except (OSError, http.client.HTTPException) as err:
            self.error = err
        finally:
            if self._connection is not None:
                self._connection.close()

    def abort(self) -> None:
        """Cut the connection under the thread (it then ends at once, with an error)."""
        connection = self._connection
        sock = connection.sock if connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def send(
    url: str,
    body: dict[str, Any],
    *,
    attempts: int = ATTEMPTS,
    budget: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """PUT `body` to `url`. True once CloudFormation's endpoint accepted it. The whole send, every
    attempt and pause included, ends within `budget` seconds however slowly the server answers."""
    data = encode(body)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        logger.error("response not sent: the ResponseURL is not an https URL")
        return False
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    started = clock()
    for attempt_number in range(1, attempts + 1):
        left = budget - (clock() - started)
        if left <= 0:
            break
        attempt = _Attempt(
            parts.hostname, parts.port or 443, path, data, max(0.5, min(ATTEMPT_TIMEOUT, left))
        )
        attempt.start()
        attempt.join(left)
        if attempt.is_alive():
            attempt.abort()
            logger.warning("response not delivered: out of time", extra={"attempt": attempt_number})
            break
        if attempt.status is not None and attempt.status < 400:
            logger.info(
                "response delivered",
                extra={
                    "status": body.get("Status"),
                    "http_status": attempt.status,
                    "attempt": attempt_number,
                },
            )
            return True
        if attempt.status is not None:
            logger.warning(
                "response refused", extra={"http_status": attempt.status, "attempt": attempt_number}
            )
        else:
            logger.warning(
                "response not delivered",
                extra={"error": type(attempt.error).__name__, "attempt": attempt_number},
            )
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt_number - 1)) * random.uniform(0.5, 1.0)
        if attempt_number == attempts or clock() - started + delay > budget:
            break
        sleep(delay)
    logger.error(
        "response lost: CloudFormation will wait for its timeout", extra={"status": body.get("Status")}
    )
    return False
