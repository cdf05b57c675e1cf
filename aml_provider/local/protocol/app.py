"""The HTTP face of the service: the Amazon ML JSON API at any path, plus logs, console pages and health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import parse_qs

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aml_provider.local.config import DEFAULT_MAX_BODY_BYTES, ServiceConfig
from aml_provider.local.errors import AmlError, ResourceNotFoundException
from aml_provider.local.faults import Faults
from aml_provider.local.protocol import console
from aml_provider.local.protocol.api import ApiCalls
from aml_provider.local.protocol.auth import Authenticator
from aml_provider.local.protocol.pages_auth import PageGuardMiddleware, is_page
from aml_provider.local.protocol.requests import RequestLog
from aml_provider.local.protocol.wire import read_body
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
) -> Service:
    """The ASGI app; its lifespan starts and stops `backend`.

    `config` sets the body limit and whether the pages need credentials (without one: the default limit,
    open pages). Console forms posted from another site are refused either way.
    """
    calls = ApiCalls(backend, authenticator, config.max_body_bytes if config else DEFAULT_MAX_BODY_BYTES)
    api = _Api(backend, authenticator)
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
        Route("/console/MLModel/{entity_id}/score-threshold", api.console_score_threshold, methods=["POST"]),
        # Other POSTs to page paths are API calls too (after the page guard).
        Route("/{path:path}", calls.endpoint, methods=["POST"]),
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
    pages = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(RequestLog), guard])
    return Service(calls, pages)


class Service:
    """The service's ASGI app: API calls (POSTs to any path but the pages') go straight to `ApiCalls`,
    without Starlette's middleware and router; the pages, /health and the lifespan to the Starlette app.
    Any path: botocore keeps the client's endpoint path when Predict switches host to PredictEndpoint."""

    def __init__(self, calls: ApiCalls, pages: Starlette) -> None:
        self.calls = calls
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not is_page(scope):
            await self.calls(scope, receive, send)
        else:
            await self.pages(scope, receive, send)


#: /health checks in a thread of its own, so a pool busy with API calls never delays the answer.
HEALTH_THREADS = 1
#: A console form holds one number.
MAX_FORM_BYTES = 4096
#: Decision reports are served as stored; they may style themselves but never run scripts or fetch.
REPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}


class _Api:
    """The pages and /health."""

    def __init__(self, backend: ServiceBackend, authenticator: Authenticator) -> None:
        self.backend = backend
        self.authenticator = authenticator
        self._health_checks: CapacityLimiter | None = None

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
            declared = request.headers.get("content-length")
            body = (await read_body(request.receive, declared, MAX_FORM_BYTES)).decode("utf-8", "replace")
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
