"""The HTTP face of the service: the Amazon ML JSON API at any path, plus logs, console pages and health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

import anyio.to_thread
from anyio import CapacityLimiter
from botocore.model import OperationModel, Shape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from aml_provider.local.config import DEFAULT_MAX_BODY_BYTES, ServiceConfig
from aml_provider.local.errors import AmlError, InternalServerException, ResourceNotFoundException
from aml_provider.local.faults import Faults, InjectedError
from aml_provider.local.protocol import console
from aml_provider.local.protocol.admin import admin_call, is_admin_target
from aml_provider.local.protocol.auth import Authenticator, SignedRequest
from aml_provider.local.protocol.pages_auth import PageGuardMiddleware, is_page
from aml_provider.local.protocol.requests import RequestLog
from aml_provider.local.protocol.validation import normalise_s3_uris, service_model, validate_input
from aml_provider.local.protocol.wire import (
    UnknownOperationException,
    error_response,
    parse_body,
    read_body,
    result_response,
)
from aml_provider.pages.families import FamilyReader

logger = logging.getLogger(__name__)


class ServiceBackend(Protocol):
    """What the HTTP layer needs of the backend."""

    faults: Faults

    def start(self) -> None: ...
    def health(self) -> dict[str, str | None]: ...
    def stop(self) -> None: ...
    def call(self, operation: str, request: dict[str, Any], caller_arn: str) -> dict[str, Any]: ...
    def log_document(self, kind: str, entity_id: str) -> tuple[str, bytes]: ...
    def entity_document(self, kind: str, entity_id: str) -> dict[str, Any]: ...
    def artifact(self, kind: str, entity_id: str, name: str) -> str | None: ...
    @property
    def families(self) -> FamilyReader: ...


def create_app(
    backend: ServiceBackend, authenticator: Authenticator, config: ServiceConfig | None = None
) -> Starlette:
    """The ASGI app; its lifespan starts and stops `backend`.

    `config` sets the body limit and whether the pages need credentials (without one: the default limit,
    open pages). Console forms posted from another site are refused either way.
    """
    api = _Api(backend, authenticator, config.max_body_bytes if config else DEFAULT_MAX_BODY_BYTES)
    guard = Middleware(
        PageGuardMiddleware,
        access_keys=authenticator.access_keys,
        token=config.console_token if config else None,
        require_credentials=config.pages_need_auth if config else False,
        public_url=config.public_url if config else None,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(backend.start)
        try:
            yield
        finally:
            await run_in_threadpool(backend.stop)

    routes = [
        # The API first: it is most of the traffic. Its catch-all path only ever matches POSTs.
        Route("/console/MLModel/{entity_id}/score-threshold", api.console_score_threshold, methods=["POST"]),
        # Any path: botocore keeps the client's endpoint path when Predict switches host to PredictEndpoint.
        Route("/{path:path}", api.operation, methods=["POST"]),
        Route("/health", api.health, methods=["GET"]),
        Route("/", lambda request: RedirectResponse("/console"), methods=["GET"]),
        Route("/console", api.console_index, methods=["GET"]),
        Route("/console/families", api.console_families, methods=["GET"]),
        Route("/console/families/{family}", api.console_family, methods=["GET"]),
        Route("/console/families/{family}/reports/{path:path}", api.console_family_report, methods=["GET"]),
        Route("/console/{kind}", api.console_kind, methods=["GET"]),
        Route("/console/{kind}/{entity_id}", api.console_entity, methods=["GET"]),
        Route("/logs/{kind}/{entity_id}", api.log, methods=["GET"]),
    ]
    # RequestLog outermost: refusals of the page guard get a request ID and a log line too.
    middleware = [Middleware(RequestLog), guard, Middleware(ApiCalls, api=api)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


class ApiCalls:
    """ASGI middleware: API calls (POSTs to any path but the pages', which the router would send to
    `_Api.operation` too) go straight to it, without route matching and Starlette's per-route wrappers,
    which cost as much as verifying a small Predict's signature."""

    def __init__(self, app: ASGIApp, api: _Api) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not is_page(scope):
            response = await self.api.operation(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


#: Operations answered on the event loop when their body is small: in memory once the model is loaded
#: and well under a millisecond, so a hop to the thread pool would cost more than the work (it doubles
#: real-time Predict latency). Larger records (text takes time to tokenise) and every other operation
#: (SQLite, disk) run in threads, so the loop keeps answering.
EVENT_LOOP_OPERATIONS = frozenset({"Predict"})
EVENT_LOOP_MAX_BODY_BYTES = 4096
#: Threads for heavy Predict calls. Tokenising holds the GIL, so a second thread adds no throughput and
#: makes the event loop (/health, every other request) wait longer for the GIL.
HEAVY_PREDICT_THREADS = 1
#: /health checks in a thread of its own, so a pool busy with API calls never delays the answer.
HEALTH_THREADS = 1
#: A console form holds one number.
MAX_FORM_BYTES = 4096
#: Decision reports are served as stored; they may style themselves but never run scripts or fetch.
REPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}


class _Api:
    def __init__(self, backend: ServiceBackend, authenticator: Authenticator, max_body_bytes: int) -> None:
        self.backend = backend
        self.authenticator = authenticator
        self.max_body_bytes = max_body_bytes
        self._heavy_predicts: CapacityLimiter | None = None
        self._health_checks: CapacityLimiter | None = None

    async def operation(self, request: Request) -> Response:
        """One Amazon ML API call: authenticate the headers, read the (bounded) body, then (`_handle`)
        verify its signature, route by X-Amz-Target, validate, run, answer.

        Admin calls (`AmlLocal.*`) are authenticated the same way; the fault plan may answer an error or
        end the process before an operation runs.
        """
        request_id: str = request.state.request_id
        target = request.headers.get("x-amz-target", "")
        request.state.operation = target.partition(".")[2] or None
        try:
            signed = self.authenticator.check_headers(
                request.method,
                (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1"),
                request.scope.get("query_string", b"").decode("latin-1"),
                _headers(request),
                now=datetime.now(UTC),
            )
            body = await read_body(request, self.max_body_bytes)
            output_shape, result = await self._run(signed, target, body)
            return result_response(output_shape, result, request_id)
        except AmlError as err:
            request.state.error = err.code
            return error_response(err, request_id)
        except Exception:
            logger.exception("Internal error in request %s", request_id)
            request.state.error = InternalServerException.code
            return error_response(
                InternalServerException("An internal error occurred; please retry."), request_id
            )

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

    async def health(self, request: Request) -> Response:
        """Readiness: 200 when the store is open and S3 answers, else 503; each check's problem in the body."""
        if self._health_checks is None:
            self._health_checks = CapacityLimiter(HEALTH_THREADS)
        problems = await anyio.to_thread.run_sync(self.backend.health, limiter=self._health_checks)
        ready = not any(problems.values())
        body = {
            "status": "ok" if ready else "unavailable",
            "service": "machinelearning",
            "checks": {name: problem or "ok" for name, problem in problems.items()},
        }
        return JSONResponse(body, 200 if ready else 503)

    async def log(self, request: Request) -> Response:
        kind, entity_id = request.path_params["kind"], request.path_params["entity_id"]
        try:
            content_type, content = await run_in_threadpool(self.backend.log_document, kind, entity_id)
        except ResourceNotFoundException as err:
            return Response(err.message, 404, media_type="text/plain")
        return Response(content, media_type=content_type)

    async def console_index(self, request: Request) -> Response:
        return _page(await run_in_threadpool(self._console().home))

    async def console_kind(self, request: Request) -> Response:
        number = request.query_params.get("page", "1")
        page = await run_in_threadpool(
            self._console().kind_index,
            request.path_params["kind"],
            int(number) if number.isdigit() else 1,
            request.query_params.get("status", ""),
        )
        return _page(page)

    async def console_entity(self, request: Request) -> Response:
        kind, entity_id = request.path_params["kind"], request.path_params["entity_id"]
        notice = "threshold-set" if request.query_params.get("threshold-set") else ""
        return _page(await run_in_threadpool(self._console().entity, kind, entity_id, notice))

    async def console_families(self, request: Request) -> Response:
        return _page(await run_in_threadpool(self._console().families))

    async def console_family(self, request: Request) -> Response:
        family, reports_uri = request.path_params["family"], request.query_params.get("reports_uri", "")
        return _page(await run_in_threadpool(self._console().family, family, reports_uri))

    async def console_family_report(self, request: Request) -> Response:
        family, path = request.path_params["family"], request.path_params["path"]
        reports_uri = request.query_params.get("reports_uri", "")
        report = await run_in_threadpool(self._console().family_report, family, path, reports_uri)
        if report is None:
            return Response(f"No decision report {path!r} of family {family!r}", 404, media_type="text/plain")
        return Response(report.body, media_type=report.content_type, headers=REPORT_HEADERS)

    async def console_score_threshold(self, request: Request) -> Response:
        """The evaluation page's form: UpdateMLModel(ScoreThreshold), validated like the API call."""
        try:
            body = (await read_body(request, MAX_FORM_BYTES)).decode("utf-8", "replace")
        except AmlError as err:
            return PlainTextResponse(err.message, err.status)
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        model_id = request.path_params["entity_id"]
        return _page(await run_in_threadpool(self._console().set_score_threshold, model_id, form))

    def _console(self) -> console.Console:
        return console.Console(self.backend, self.authenticator.caller_arn)


def _page(page: console.Page) -> Response:
    if page.redirect:
        return RedirectResponse(page.redirect, page.status)
    return HTMLResponse(page.html, page.status)


def _headers(request: Request) -> dict[str, list[str]]:
    """Lower-case header names to all their values."""
    headers: dict[str, list[str]] = {}
    for name, value in request.scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _injected_error(injected: InjectedError) -> AmlError:
    error = AmlError(injected.message)
    error.code, error.status = injected.code, injected.status
    return error


def _operation_model(target: str) -> OperationModel:
    model = service_model()
    prefix, _, name = target.partition(".")
    if prefix != model.metadata["targetPrefix"] or name not in model.operation_names:
        raise UnknownOperationException(
            f"Unknown operation '{target}': X-Amz-Target must be {model.metadata['targetPrefix']}.<Operation>, "
            "one of the Amazon ML API operations."
        )
    return model.operation_model(name)
