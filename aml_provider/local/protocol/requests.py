"""Every HTTP request gets an ID (sent back as x-amzn-RequestId, as AWS does) and one log line."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aml_provider.local.logs import REQUEST_ID

logger = logging.getLogger("aml_provider.local.requests")
HEADER = "x-amzn-RequestId"
#: The request line: method, path, operation, status, error code, duration.
MESSAGE = "%s %s%s -> %d%s (%.1f ms)"


class RequestLog:
    """ASGI middleware: a request ID in `scope["state"]["request_id"]` and a log line when it is answered.

    Handlers may add `operation` and `error` (the error code) to `scope["state"]` for the log line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if HEADER.lower() not in headers:
                    headers.append(HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            log_request(
                scope["method"],
                scope["path"],
                state.get("operation"),
                status,
                state.get("error"),
                duration_ms,
            )
            REQUEST_ID.reset(token)


def log_request(
    method: str, path: str, operation: str | None, status: int, error: str | None, duration_ms: float
) -> None:
    """The request's INFO line, with its fields for JSON lines. The record is made directly: the caller's
    frame, which `Logger.info` looks up, is never shown, and the lookup cost as much as the formatting."""
    if not logger.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": method,
        "path": path,
        "operation": operation,
        "status": status,
        "error": error,
        "duration_ms": round(duration_ms, 1),
    }
    arguments = (
        method,
        path,
        f" {operation}" if operation else "",
        status,
        f" {error}" if error else "",
        duration_ms,
    )
    logger.handle(
        logger.makeRecord(
            logger.name, logging.INFO, __file__, 0, MESSAGE, arguments, None, "log_request", fields
        )
    )
