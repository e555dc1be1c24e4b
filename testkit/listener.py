"""The HTTPS endpoint behind ``ResponseURL``: what CloudFormation's presigned S3 URL would be.

Runs in the test process on 127.0.0.1 with a certificate from ``testkit.tls``. Every attempt (every
PUT, and anything else that arrives) is recorded with the answer it got. By default each attempt is
answered 200, like S3; ``program([500, 500, 200])`` makes the next attempts get those answers in
order, then 200 again. Besides HTTP statuses an answer may be:

- ``DROP``: close the connection without an HTTP response;
- ``HANG``: read the request and answer nothing for five seconds;
- ``TRICKLE``: answer 200, one byte a second.
"""

from __future__ import annotations

import http.server
import json
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from testkit.tls import TlsMaterial

DROP = "drop"
HANG = "hang"
TRICKLE = "trickle"


@dataclass(frozen=True)
class Attempt:
    """One request that reached the listener."""

    method: str
    path: str  # raw path, percent-encoded as sent
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    answered: int | str  # HTTP status, or DROP / HANG / TRICKLE
    raw_query: str = ""  # the query string exactly as sent
    received_at: float = field(default_factory=time.time)

    @property
    def request_id(self) -> str | None:
        """The CloudFormation RequestId the URL was made for (its last ``|`` field)."""
        return urllib.parse.unquote(self.path.rsplit("/", 1)[-1]).rsplit("|", 1)[-1] or None

    def json(self) -> Any:
        return json.loads(self.body)


class Listener:
    def __init__(self, tls: TlsMaterial, host: str = "127.0.0.1") -> None:
        self._tls = tls
        self._host = host
        self._lock = threading.Condition()
        self._attempts: list[Attempt] = []
        self._programme: deque[int | str] = deque()
        self._server: http.server.ThreadingHTTPServer | None = None

    # lifecycle
    def start(self) -> Listener:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._tls.cert_file, self._tls.key_file)
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "AmazonS3"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = listener._next_answer()
                split = urllib.parse.urlsplit(self.path)
                listener._record(
                    Attempt(
                        method=self.command,
                        path=split.path,
                        query=dict(urllib.parse.parse_qsl(split.query)),
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        answered=answer,
                        raw_query=split.query,
                    )
                )
                listener._answer(self, answer)

            do_PUT = do_POST = do_GET = _handle

        self._server = http.server.ThreadingHTTPServer((self._host, 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        threading.Thread(target=self._server.serve_forever, name="response-listener", daemon=True).start()
        return self

    @staticmethod
    def _answer(handler: http.server.BaseHTTPRequestHandler, answer: int | str) -> None:
        if answer == DROP:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer == HANG:
            time.sleep(5)
            return
        if answer == TRICKLE:
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 100:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(1.0)
            except OSError:
                pass
            return
        handler.send_response(int(answer))
        handler.send_header("x-amz-request-id", secrets.token_hex(8).upper())
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._server = None

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "listener not started"
        return int(self._server.server_address[1])

    # URLs
    @property
    def host_and_port(self) -> str:
        """What the provider must be told to answer (ALLOWED_RESPONSE_HOSTS)."""
        return f"{self._host}:{self.port}"

    def url(self, query: str = "", path: str = "/cloudformation-response") -> str:
        return f"https://{self._host}:{self.port}{path}" + (f"?{query}" if query else "")

    def response_url(self, stack_id: str, logical_id: str, request_id: str) -> str:
        """A URL shaped like CloudFormation's presigned S3 PUT, pointing at this listener."""
        key = urllib.parse.quote(f"{stack_id}|{logical_id}|{request_id}", safe="/")
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        query = urllib.parse.urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": amz_date,
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Expires": "7200",
                "X-Amz-Credential": f"AKIA6EXAMPLE0E2ETEST/{amz_date[:8]}/us-east-1/s3/aws4_request",
                "X-Amz-Signature": secrets.token_hex(32),
            }
        )
        return self.url(query, f"/{key}")

    # answers and records
    def program(self, answers: list[int | str]) -> None:
        """Answer the next attempts with ``answers`` in order (then 200 again)."""
        with self._lock:
            self._programme.extend(answers)

    def _next_answer(self) -> int | str:
        with self._lock:
            return self._programme.popleft() if self._programme else 200

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.append(attempt)
            self._lock.notify_all()

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def attempts_for(self, request_id: str) -> list[Attempt]:
        return [a for a in self.attempts if a.request_id == request_id]

    def wait_for(self, request_id: str, count: int = 1, timeout: float = 10.0) -> list[Attempt]:
        """Wait until ``count`` attempts for ``request_id`` arrived; return those that did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [a for a in self._attempts if a.request_id == request_id]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(remaining)

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._programme.clear()


def refusing_url(query: str = "") -> str:
    """An https URL on 127.0.0.1 where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}/cloudformation-response" + (f"?{query}" if query else "")
