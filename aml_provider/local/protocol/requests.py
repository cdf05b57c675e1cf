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
            _log(scope, status, (time.perf_counter() - started) * 1000)
            REQUEST_ID.reset(token)


def _log(scope: Scope, status: int, duration_ms: float) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    state = scope["state"]
    operation, error = state.get("operation"), state.get("error")
    logger.info(
        "%s %s%s -> %d%s (%.1f ms)",
        scope["method"],
        scope["path"],
        f" {operation}" if operation else "",
        status,
        f" {error}" if error else "",
        duration_ms,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "operation": operation,
            "status": status,
            "error": error,
            "duration_ms": round(duration_ms, 1),
        },
    )
