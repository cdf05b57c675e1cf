"""The JSON 1.1 wire format: request bodies in, results and errors out, all mapped in this one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from starlette.responses import Response

from aml_provider.local.errors import AmlError

CONTENT_TYPE = "application/x-amz-json-1.1"


class SerializationException(AmlError):
    code = "SerializationException"
    status = 400


class UnknownOperationException(AmlError):
    code = "UnknownOperationException"
    status = 400


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's parameters: a JSON object (an empty body counts as `{}`)."""
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except ValueError as err:
        raise SerializationException(f"The request body is not valid JSON: {err}") from None
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object of the operation's parameters.")
    return params


def result_response(shape: Shape | None, result: dict[str, Any], request_id: str) -> Response:
    return _json_response(200, to_wire(shape, result), request_id)


def error_response(err: AmlError, request_id: str) -> Response:
    return _json_response(err.status, {"__type": err.code, "message": err.message}, request_id)


def to_wire(shape: Shape | None, value: Any) -> Any:
    """`value` ready for JSON: timestamps (datetimes or epoch floats) as epoch seconds to the millisecond."""
    if isinstance(value, dict):
        if isinstance(shape, StructureShape):
            return {name: to_wire(shape.members.get(name), item) for name, item in value.items()}
        item_shape = shape.value if isinstance(shape, MapShape) else None
        return {key: to_wire(item_shape, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        item_shape = shape.member if isinstance(shape, ListShape) else None
        return [to_wire(item_shape, item) for item in value]
    if shape is not None and shape.type_name == "timestamp" and value is not None:
        return round(_epoch_seconds(value), 3)
    return value


def _epoch_seconds(value: datetime | float) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _json_response(status: int, body: dict[str, Any], request_id: str) -> Response:
    content = json.dumps(body, default=_plain, separators=(",", ":")).encode()
    return Response(content, status, headers={"x-amzn-RequestId": request_id}, media_type=CONTENT_TYPE)


def _plain(value: Any) -> Any:
    """numpy scalars and datetimes outside any timestamp member, as plain JSON values."""
    if isinstance(value, datetime):
        return _epoch_seconds(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
