"""A real HTTPS endpoint on 127.0.0.1 standing in for CloudFormation's presigned ResponseURL.

A throwaway CA (tests/harness/tls.py) signs a certificate for 127.0.0.1; tests point SSL_CERT_FILE at the CA so the
provider's `ssl.create_default_context()` verifies the listener as it would verify S3. Each PUT is
recorded; `answers` says how the next attempts are answered (an HTTP status, or HANG to accept the
connection and never answer), then every later attempt gets 200.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HANG = "hang"


@dataclass
class Attempt:
    method: str
    path: str
    body: bytes
    answered: int | str


@dataclass
class Listener:
    cert_file: Path
    key_file: Path
    answers: deque[int | str] = field(default_factory=deque)
    attempts: list[Attempt] = field(default_factory=list)

    def start(self) -> Listener:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = listener.answers.popleft() if listener.answers else 200
                listener.attempts.append(Attempt("PUT", self.path, body, answer))
                if answer == HANG:
                    time.sleep(5)
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, query: str) -> str:
        return f"https://127.0.0.1:{self.port}/cloudformation-response/stack%7Cres%7Creq?{query}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def refusing_url(query: str) -> str:
    """An https URL on 127.0.0.1 where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}/cloudformation-response?{query}"
