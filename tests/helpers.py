"""Helpers shared by the tests: unique names, S3 uploads, waiting for entities, raw HTTP posts."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import time
import urllib.parse
import uuid
from typing import Any, NoReturn

import pytest
from botocore import xform_name

TERMINAL_STATUSES = ("COMPLETED", "FAILED", "DELETED")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_id(prefix: str) -> str:
    """A fresh entity ID (or name) starting with `prefix`."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def schema_text(target: str | None = "y", **attributes: str) -> str:
    """A CSV schema with a header line, the attributes in order (name=TYPE) and the target."""
    schema: dict[str, Any] = {
        "version": "1.0",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "attributes": [{"attributeName": name, "attributeType": kind} for name, kind in attributes.items()],
    }
    if target:
        schema["targetAttributeName"] = target
    return json.dumps(schema)


def put_text(s3: Any, bucket: str, key: str, text: str) -> str:
    """Store `text` at s3://bucket/key and answer that URI."""
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    return f"s3://{bucket}/{key}"


def wait_for(ml: Any, kind: str, entity_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll Get{kind} until the entity is COMPLETED, FAILED or DELETED; answer that last Get response."""
    get = getattr(ml, xform_name(f"Get{kind}"))
    deadline = time.monotonic() + timeout
    while True:
        entity: dict[str, Any] = get(**{f"{kind}Id": entity_id})
        if entity["Status"] in TERMINAL_STATUSES:
            return entity
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} {entity_id} still {entity['Status']} after {timeout} s")
        time.sleep(0.05)


def http_post(url: str, headers: dict[str, str], body: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """POST `body` and answer the status and body of the response, also when the server answers (and
    closes the connection) before the whole body is sent, as it does for a body over its limit."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=timeout)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the answer is on its way
            connection.request("POST", parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def service_unavailable(reason: str) -> NoReturn:
    """Skip a test whose database or broker is not running, or fail it where CI requires them all
    (``AML_REQUIRE_SERVICES=1``, which ``.ci/run`` sets)."""
    if os.environ.get("AML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (AML_REQUIRE_SERVICES=1 requires PostgreSQL, MariaDB and Redis)")
    pytest.skip(reason)
