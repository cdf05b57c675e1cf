"""The JSON 1.1 wire format: request bodies in, results and errors out, all mapped in this one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn

from botocore.model import ListShape, MapShape, Shape, StructureShape
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from aml_provider.local.errors import AmlError

CONTENT_TYPE = "application/x-amz-json-1.1"
#: Deepest nesting of arrays and objects accepted in a request body; Amazon ML's deepest input is 3 levels.
MAX_JSON_DEPTH = 20


class SerializationException(AmlError):
    code = "SerializationException"
    status = 400


class UnknownOperationException(AmlError):
    code = "UnknownOperationException"
    status = 400


class RequestEntityTooLargeException(AmlError):
    code = "RequestEntityTooLargeException"
    status = 413


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body from ASGI `receive`, refused as soon as it is known to exceed `limit` bytes (by its
    Content-Length, `declared`, or as it arrives: before it is all read)."""
    if declared is not None:
        if not declared.strip().isdigit():
            raise SerializationException(f"Content-Length must be a number of bytes, not {declared[:40]!r}.")
        if int(declared) > limit:
            _too_large(f"{int(declared)} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            _too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: str, limit: int) -> NoReturn:
    raise RequestEntityTooLargeException(
        f"The request body is {size}; this service accepts at most {limit} bytes "
        "(raise it with --max-body-bytes or AML_LOCAL_MAX_BODY_BYTES)."
    )


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's parameters: a JSON object in UTF-8 (an empty body counts as `{}`)."""
    if not body.strip():
        return {}
    params = _json(_utf8(body))
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object of the operation's parameters.")
    if _may_nest_deeper(body) and _depth(params) > MAX_JSON_DEPTH:
        _too_deep()
    return params


def _may_nest_deeper(body: bytes) -> bool:
    """Whether the body has enough brackets and braces to nest deeper than MAX_JSON_DEPTH (counting them
    is much cheaper than walking the parsed value, and few bodies have that many)."""
    return body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH


def _utf8(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SerializationException(
            f"The request body is not UTF-8 text (byte {err.start} cannot be decoded); send JSON encoded as "
            "UTF-8, as AWS SDKs do."
        ) from None
    if "\x00" in text:
        raise SerializationException(
            "The request body holds NUL characters, so it is not UTF-8 JSON (UTF-16, perhaps); send UTF-8."
        )
    if text.startswith("\ufeff"):
        raise SerializationException(
            "The request body starts with a byte-order mark; send UTF-8 JSON without one."
        )
    return text


def _json(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except RecursionError:
        _too_deep()
    except ValueError as err:
        raise SerializationException(f"The request body is not valid JSON: {err}") from None


def _no_constant(name: str) -> NoReturn:
    raise SerializationException(f"The request body is not valid JSON: {name} is not a JSON number.")


#: `json.loads(text, parse_constant=...)`, without building a decoder per request.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _too_deep() -> NoReturn:
    raise SerializationException(
        f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels; "
        "Amazon ML requests are at most a few levels deep."
    )


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), without recursion."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def result_body(shape: Shape | None, result: dict[str, Any]) -> bytes:
    """A successful call's response body: `result` as JSON, timestamps of the output shape as numbers."""
    return _encoded(to_wire(shape, result) if _has_timestamps(shape) else result)


def error_body(err: AmlError) -> bytes:
    """An error's response body, as AWS JSON services send it."""
    return _encoded({"__type": err.code, "message": err.message})


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


def _has_timestamps(shape: Shape | None) -> bool:
    """Whether any member of `shape`, however deep, is a timestamp (otherwise `to_wire` changes nothing)."""
    if shape is None:
        return False
    found = _TIMESTAMPS.get(shape.name)
    if found is None:
        found = _TIMESTAMPS[shape.name] = _timestamp_in(shape, set())
    return found


def _timestamp_in(shape: Shape, seen: set[str]) -> bool:
    if shape.type_name == "timestamp":
        return True
    if shape.name in seen:
        return False
    seen.add(shape.name)
    if isinstance(shape, StructureShape):
        return any(_timestamp_in(member, seen) for member in shape.members.values())
    if isinstance(shape, MapShape):
        return _timestamp_in(shape.key, seen) or _timestamp_in(shape.value, seen)
    return isinstance(shape, ListShape) and _timestamp_in(shape.member, seen)


#: Output shape name -> whether it holds a timestamp member (`_has_timestamps`).
_TIMESTAMPS: dict[str, bool] = {}


def _epoch_seconds(value: datetime | float) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _encoded(body: dict[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode()


def _plain(value: Any) -> Any:
    """numpy scalars and datetimes outside any timestamp member, as plain JSON values."""
    if isinstance(value, datetime):
        return _epoch_seconds(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


#: `json.dumps(body, default=_plain, separators=(",", ":"))`, without building an encoder per response.
_ENCODER = json.JSONEncoder(default=_plain, separators=(",", ":"))
