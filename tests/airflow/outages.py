"""Outages for the waiting tests: a local service that stops and restarts, and a proxy that answers errors.

Both come with an Airflow ``aws`` connection whose client makes a single attempt per call, so what the
tests see is what the provider's polling does, not botocore's own retries.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aml_provider.local import LocalAml
from aml_provider.local.server import BackgroundServer, bind_socket

SINGLE_ATTEMPT = {"retries": {"total_max_attempts": 1}}


def connection(conn_id: str, endpoint_url: str, login: str, password: str) -> str:
    """Define the Airflow connection `conn_id` (single-attempt client) and return its id."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
        {
            "conn_type": "aws",
            "login": login,
            "password": password,
            "extra": {
                "region_name": "us-east-1",
                "endpoint_url": endpoint_url,
                "config_kwargs": SINGLE_ATTEMPT,
            },
        }
    )
    return conn_id


class RestartableService:
    """A local service on a fixed port and data directory that can be stopped and started again."""

    def __init__(self, data_dir: Path, s3_endpoint_url: str) -> None:
        self.data_dir, self.s3_endpoint_url = data_dir, s3_endpoint_url
        self.service = LocalAml(data_dir=data_dir, s3_endpoint_url=s3_endpoint_url).__enter__()
        self.port = int(self.service.endpoint_url.rsplit(":", 1)[1])
        self.conn_id = connection(
            "aml_restarting",
            self.service.endpoint_url,
            self.service.access_key_id,
            self.service.secret_access_key,
        )

    def stop(self) -> None:
        self.service.__exit__(None, None, None)

    def start(self) -> None:
        self.service = LocalAml(
            data_dir=self.data_dir, s3_endpoint_url=self.s3_endpoint_url, port=self.port
        ).__enter__()

    def begin_outage(self, seconds: float) -> threading.Timer:
        """Stop the service now and start it again, on the same port and data, `seconds` later."""
        self.stop()
        self.restart = threading.Timer(seconds, self.start)
        self.restart.start()
        return self.restart

    @contextmanager
    def down_for(self, seconds: float) -> Iterator[None]:
        """The service is down for `seconds` from the start of the block; the block ends when it is up."""
        restart = self.begin_outage(seconds)
        try:
            yield
        finally:
            restart.join()

    def close(self) -> None:
        self.stop()
        os.environ.pop(f"AIRFLOW_CONN_{self.conn_id.upper()}", None)


class FlakyProxy:
    """Forwards requests to a service, but answers the next status checks (Get*) with an error.

    :meth:`fail` arms it: the next `times` Get* requests get `status` with the JSON error `code`.
    """

    def __init__(self, target_url: str) -> None:
        self.target_url = target_url
        self.lock = threading.Lock()
        self.pending = 0
        self.status, self.code = 500, "InternalServerException"
        self.answered: list[str] = []  # the error code of every request answered with an error
        self.forwarded = 0  # status checks passed through
        routes = [
            Route("/health", lambda request: Response("ok")),
            Route("/{path:path}", self.handle, methods=["GET", "POST"]),
        ]
        self.server = BackgroundServer(Starlette(routes=routes), bind_socket("127.0.0.1", 0))
        self.server.start()
        self.url = self.server.url
        self.conn_id = ""  # the Airflow connection to this proxy, once defined

    def fail(self, times: int, status: int = 500, code: str = "InternalServerException") -> None:
        with self.lock:
            self.pending, self.status, self.code = times, status, code
            self.answered.clear()
            self.forwarded = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        target = request.headers.get("x-amz-target", "")
        if ".Get" in target:
            with self.lock:
                failing = self.pending > 0
                self.pending -= failing
                self.forwarded += not failing
                if failing:
                    self.answered.append(self.code)
            if failing:
                error = json.dumps({"__type": self.code, "message": f"injected {self.code}"})
                return Response(error, self.status, media_type="application/x-amz-json-1.1")
        # The Host header stays as signed; httpx sets Content-Length itself.
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        async with httpx.AsyncClient() as client:
            answer = await client.request(
                request.method, f"{self.target_url}{request.url.path}", content=body, headers=headers
            )
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))

    def close(self) -> None:
        self.server.stop()
