"""A pass-through HTTP proxy in front of the local service that can hold one kind of request: a network
fault that a test can aim, e.g. "the first status check after CreateMLModel hangs"."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class HoldingProxy:
    """Forwards every request to `upstream` ("host:port"); while armed, GetMLModel for a model that was
    created through the proxy waits until `release()` (its client sees no answer)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.armed = threading.Event()
        self.released = threading.Event()
        self.holding = threading.Event()
        self.created: list[str] = []
        self.operations: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                proxy.operations.append(operation)
                if proxy.should_hold(operation, body):
                    proxy.holding.set()
                    proxy.released.wait()
                    self.close_connection = True
                    return
                status, headers, answer = proxy.forward(self.command, self.path, dict(self.headers), body)
                if operation == "CreateMLModel" and status == 200:
                    proxy.created.append(json.loads(body)["MLModelId"])
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def should_hold(self, operation: str, body: bytes) -> bool:
        if not self.armed.is_set() or self.released.is_set() or operation != "GetMLModel":
            return False
        return json.loads(body).get("MLModelId") in self.created

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        connection = http.client.HTTPConnection(self.upstream, timeout=120)
        try:
            connection.request(method, path, body, headers)  # Host stays the proxy's: SigV4 signed it
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def release(self) -> None:
        self.released.set()

    @contextmanager
    def running(self) -> Iterator[HoldingProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release()
            self.server.shutdown()
            self.server.server_close()
