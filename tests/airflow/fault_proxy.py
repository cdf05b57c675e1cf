"""A proxy in front of Amazon ML and S3 that breaks one named request of a DAG run, and what follows it.

Every request is described as one line (``ml:CreateMLModel {json body}``, ``s3:PUT /bucket/key``) and
checked against the armed trigger: a sequence of patterns that must be seen in order. At the last one
the armed fault acts: it may run something before the request (set a fault plan), forward it or not,
replace its answer, run something after it (SIGKILL a task process, stop the service) and make the
next requests to the same service fail.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aml_provider.local.server import BackgroundServer, bind_socket

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"]
#: Request headers not passed on (httpx sets them itself, or they would change the exchange).
HOP_HEADERS = {"content-length", "transfer-encoding", "expect", "connection"}


@dataclass
class Fault:
    """What happens at the trigger; every part is optional."""

    before: Callable[[], object] | None = None  # run before the request is forwarded
    forward: bool = True  # pass the triggering request on (its effect happens)
    answer: Callable[[str], Response] | None = None  # the answer the client gets instead
    after: Callable[[], object] | None = None  # run once the request was handled
    fail_next: int = 0  # later requests to the same service answered with ``answer`` unforwarded


@dataclass
class Desk:
    """The armed trigger and fault, shared by the proxies; records what it saw and when it fired."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    fault: Fault | None = None
    failing: dict[str, int] = field(default_factory=dict)
    fired: str | None = None  # the description of the request the fault acted on

    def arm(self, patterns: Sequence[str], fault: Fault) -> None:
        with self.lock:
            self.patterns = [re.compile(pattern) for pattern in patterns]
            self.fault, self.fired, self.failing = fault, None, {}

    def disarm(self) -> None:
        with self.lock:
            self.patterns, self.fault, self.failing = [], None, {}

    def check(self, service: str, description: str) -> tuple[Fault | None, bool]:
        """(the fault if this request triggers it, whether this request must fail as a follower)."""
        with self.lock:
            if self.failing.get(service, 0) > 0:
                self.failing[service] -= 1
                return self.fault, True
            if not self.patterns or not self.patterns[0].search(description):
                return None, False
            self.patterns.pop(0)
            if self.patterns or self.fault is None:
                return None, False
            self.fired = description
            self.failing[service] = self.fault.fail_next
            return self.fault, False


class FaultProxy:
    """Forwards every request to `target_url` (the same path, query, headers and body) unless the desk says."""

    def __init__(self, service: str, target_url: str, desk: Desk) -> None:
        self.service, self.target_url, self.desk = service, target_url, desk
        self.client: httpx.AsyncClient | None = None
        routes = [Route("/{path:path}", self.handle, methods=METHODS)]
        self.server = BackgroundServer(Starlette(routes=routes), bind_socket("127.0.0.1", 0))
        self.server.thread.start()  # no /health of its own: the path belongs to the target
        self.url = self.server.url

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        description = describe(self.service, request, body)
        fault, follower = self.desk.check(self.service, description)
        if fault and follower and fault.answer:
            return fault.answer(self.service)
        if fault and fault.before:
            await run_in_threadpool(fault.before)
        answer = await self.forward(request, body) if fault is None or fault.forward else None
        if fault and fault.after:
            await run_in_threadpool(fault.after)
        if fault and fault.answer:
            return fault.answer(self.service)
        return answer or unavailable(self.service)

    async def forward(self, request: Request, body: bytes) -> Response:
        self.client = self.client or httpx.AsyncClient(timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        url = f"{self.target_url}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        try:
            sent = self.client.build_request(request.method, url, content=body, headers=headers)
            answer = await self.client.send(sent, stream=True)
            content = b"".join([chunk async for chunk in answer.aiter_raw()])
            await answer.aclose()
        except httpx.TransportError:
            return unavailable(self.service)  # the target is down: what a load balancer answers
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
        return Response(content, answer.status_code, headers=kept)

    def close(self) -> None:
        self.server.stop()


def describe(service: str, request: Request, body: bytes) -> str:
    """``ml:<Operation> <body as sorted JSON>`` or ``s3:<METHOD> <path>[ copy]``."""
    if service == "ml":
        operation = request.headers.get("x-amz-target", "").rpartition(".")[2]
        try:
            document = json.dumps(json.loads(body or b"{}"), sort_keys=True)
        except ValueError:
            document = ""
        return f"ml:{operation} {document}"
    copy = " copy" if "x-amz-copy-source" in request.headers else ""
    return f"s3:{request.method} {request.url.path}{copy}"


def error(service: str, status: int, code: str) -> Response:
    """An error answer in the service's own format (JSON for Amazon ML, XML for S3)."""
    message = f"injected {code}"
    if service == "ml":
        document = json.dumps({"__type": code, "message": message})
        return Response(document, status, media_type="application/x-amz-json-1.1")
    xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(xml, status, media_type="application/xml")


def unavailable(service: str) -> Response:
    return error(service, 503, "ServiceUnavailable")


def server_error(service: str) -> Response:
    return error(service, 500, "InternalServerException" if service == "ml" else "InternalError")


def refused(service: str) -> Response:
    """An error no client retries: the request was understood and refused."""
    return (
        error(service, 400, "InvalidInputException")
        if service == "ml"
        else error(service, 403, "AccessDenied")
    )
