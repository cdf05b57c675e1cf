"""The Amazon ML JSON API as a plain ASGI app: each POST is one call, answered without Starlette's request
and response objects, router or middleware (a real-time Predict costs less than those layers did together).

`ApiCalls` gives each call its request ID and log line itself (as `RequestLog` does for the pages) and
sends the response in two ASGI messages whose bytes are built once.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio.to_thread
from anyio import CapacityLimiter
from botocore.model import OperationModel, Shape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from aml_provider.local.errors import AmlError, InternalServerException
from aml_provider.local.faults import Faults, InjectedError
from aml_provider.local.logs import REQUEST_ID
from aml_provider.local.protocol.admin import admin_call, is_admin_target
from aml_provider.local.protocol.auth import Authenticator, SignedRequest
from aml_provider.local.protocol.requests import HEADER, log_request
from aml_provider.local.protocol.validation import normalise_s3_uris, service_model, validate_input
from aml_provider.local.protocol.wire import (
    CONTENT_TYPE,
    UnknownOperationException,
    error_body,
    parse_body,
    read_body,
    result_body,
)

logger = logging.getLogger(__name__)

#: Operations answered on the event loop when their body is small: in memory once the model is loaded
#: and well under a millisecond, so a hop to the thread pool would cost more than the work (it doubles
#: real-time Predict latency). Larger records (text takes time to tokenise) and every other operation
#: (SQLite, disk) run in threads, so the loop keeps answering.
EVENT_LOOP_OPERATIONS = frozenset({"Predict"})
EVENT_LOOP_MAX_BODY_BYTES = 4096
#: Threads for heavy Predict calls. Tokenising holds the GIL, so a second thread adds no throughput and
#: makes the event loop (/health, every other request) wait longer for the GIL.
HEAVY_PREDICT_THREADS = 1
_CONTENT_TYPE_HEADER = (b"content-type", CONTENT_TYPE.encode())
_REQUEST_ID_HEADER = HEADER.lower().encode()


class CallBackend(Protocol):
    """What an API call needs of the backend."""

    faults: Faults

    def call(self, operation: str, request: dict[str, Any], caller_arn: str) -> dict[str, Any]: ...


class ApiCalls:
    """ASGI app of the API calls: authenticate the headers, read the (bounded) body, verify its signature,
    route by X-Amz-Target, validate, run, answer.

    Admin calls (`AmlLocal.*`) are authenticated the same way; the fault plan may answer an error or end
    the process before an operation runs.
    """

    def __init__(self, backend: CallBackend, authenticator: Authenticator, max_body_bytes: int) -> None:
        self.backend = backend
        self.authenticator = authenticator
        self.max_body_bytes = max_body_bytes
        self._heavy_predicts: CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One call with a new request ID (x-amzn-RequestId, and on every line logged meanwhile) and its
        log line."""
        request_id = str(uuid.uuid4())
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        headers = _headers(scope)
        target = _first(headers, "x-amz-target")
        status, error = 500, None
        try:
            status, error, body = await self.answer(scope, receive, headers, target, request_id)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        _CONTENT_TYPE_HEADER,
                        (_REQUEST_ID_HEADER, request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            operation = target.partition(".")[2] or None
            duration_ms = (time.perf_counter() - started) * 1000
            log_request(scope["method"], scope["path"], operation, status, error, duration_ms)
            REQUEST_ID.reset(token)

    async def endpoint(self, request: Request) -> Response:
        """The call as a Starlette endpoint (POSTs to page paths the console has no form for), under
        `RequestLog`, which gave the request its ID and logs `operation` and `error` from its state."""
        request_id: str = request.state.request_id
        headers = _headers(request.scope)
        target = _first(headers, "x-amz-target")
        request.state.operation = target.partition(".")[2] or None
        status, request.state.error, body = await self.answer(
            request.scope, request.receive, headers, target, request_id
        )
        return Response(body, status, headers={HEADER: request_id}, media_type=CONTENT_TYPE)

    async def answer(
        self, scope: Scope, receive: Receive, headers: dict[str, list[str]], target: str, request_id: str
    ) -> tuple[int, str | None, bytes]:
        """The call's status, error code (None on success) and response body."""
        try:
            signed = self.authenticator.check_headers(
                scope["method"],
                (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                now=datetime.now(UTC),
            )
            declared = headers.get("content-length")
            body = await read_body(receive, declared[0] if declared else None, self.max_body_bytes)
            output_shape, result = await self._run(signed, target, body)
            return 200, None, result_body(output_shape, result)
        except AmlError as err:
            return err.status, err.code, error_body(err)
        except Exception:
            logger.exception("Internal error in request %s", request_id)
            internal = InternalServerException("An internal error occurred; please retry.")
            return internal.status, internal.code, error_body(internal)

    def _handle(self, signed: SignedRequest, target: str, body: bytes) -> tuple[Shape | None, dict[str, Any]]:
        """Verify the signature over the body, then run the admin call, or route by X-Amz-Target, let the
        fault plan answer or exit, validate and run the operation; answer the output shape and result."""
        caller_arn = signed.verify(body)
        if is_admin_target(target):
            return None, admin_call(self.backend.faults, target, parse_body(body))
        operation = _operation_model(target)
        self.backend.faults.reach(f"request:{operation.name}")
        injected = self.backend.faults.error_for(operation.name)
        if injected is not None:
            raise _injected_error(injected)
        params = parse_body(body)
        validate_input(operation.input_shape, params)
        normalise_s3_uris(operation.input_shape, params)
        return operation.output_shape, self.backend.call(operation.name, params, caller_arn)

    async def _run(
        self, signed: SignedRequest, target: str, body: bytes
    ) -> tuple[Shape | None, dict[str, Any]]:
        """`_handle` on the event loop for a small Predict, else in a thread: hashing, parsing and
        predicting a large body there keeps the loop answering; heavy Predicts share a small pool."""
        predict = target.rpartition(".")[2] in EVENT_LOOP_OPERATIONS
        if predict and len(body) <= EVENT_LOOP_MAX_BODY_BYTES:
            return self._handle(signed, target, body)
        if not predict:
            return await run_in_threadpool(self._handle, signed, target, body)
        if self._heavy_predicts is None:
            self._heavy_predicts = CapacityLimiter(HEAVY_PREDICT_THREADS)
        return await anyio.to_thread.run_sync(
            self._handle, signed, target, body, limiter=self._heavy_predicts
        )


def _headers(scope: Scope) -> dict[str, list[str]]:
    """Lower-case header names to all their values."""
    headers: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key in headers:
            headers[key].append(value.decode("latin-1"))
        else:
            headers[key] = [value.decode("latin-1")]
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _injected_error(injected: InjectedError) -> AmlError:
    error = AmlError(injected.message)
    error.code, error.status = injected.code, injected.status
    return error


def _operation_model(target: str) -> OperationModel:
    """The operation X-Amz-Target names (looked up once per target)."""
    operation = _OPERATIONS.get(target)
    if operation is not None:
        return operation
    model = service_model()
    prefix, _, name = target.partition(".")
    if prefix != model.metadata["targetPrefix"] or name not in model.operation_names:
        raise UnknownOperationException(
            f"Unknown operation '{target}': X-Amz-Target must be {model.metadata['targetPrefix']}.<Operation>, "
            "one of the Amazon ML API operations."
        )
    operation = _OPERATIONS[target] = model.operation_model(name)
    return operation


#: X-Amz-Target -> the operation's model, for the targets met (only valid ones are kept).
_OPERATIONS: dict[str, OperationModel] = {}
