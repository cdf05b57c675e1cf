"""A check of responses against botocore's output shapes, written here and independent of the service.

The local service validates requests with its own walker over botocore's model; responses are checked
with this one, so a bug in the service's validator cannot hide a wrong response. boto3 drops members its
model does not know, so a response is checked on the raw JSON body the service sent when it is known
(`capture_raw_bodies`), and on boto3's parsed dict otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
import regex
from botocore import xform_name
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

#: Raw bodies of the latest responses, by request ID (see `capture_raw_bodies`).
_RAW_BODIES: OrderedDict[str, bytes] = OrderedDict()
_KEPT_BODIES = 512


@cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("machinelearning")


def output_shape(operation: str) -> StructureShape:
    """The output shape of `operation`, named as in the API ("GetMLModel") or as boto3 names it."""
    names = {xform_name(name): name for name in _model().operation_names}
    shape = _model().operation_model(names.get(operation, operation)).output_shape
    assert isinstance(shape, StructureShape), f"{operation} has no output shape"
    return shape


def capture_raw_bodies(client: Any) -> Any:
    """Keep the raw body of each response `client` receives, so `assert_valid_output` can check it."""

    def keep(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        request_id = parsed.get("ResponseMetadata", {}).get("RequestId")
        if request_id and http_response.status_code == 200:
            _RAW_BODIES[request_id] = http_response.content
            while len(_RAW_BODIES) > _KEPT_BODIES:
                _RAW_BODIES.popitem(last=False)

    client.meta.events.register("after-call.machine-learning", keep)
    return client


def assert_valid_output(operation: str, response: dict[str, Any]) -> None:
    """Fail, naming every problem, unless `response` (boto3's, or the raw JSON) fits the output shape."""
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    raw = _RAW_BODIES.get(request_id) if request_id else None
    body = json.loads(raw) if raw else {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = output_problems(operation, body)
    assert not problems, f"{operation} output does not fit its shape:\n  " + "\n  ".join(problems)


def output_problems(operation: str, body: Any) -> list[str]:
    """Every way `body` breaks the output shape of `operation`, each with the path of the member."""
    return list(_problems(output_shape(operation), body, operation))


def _problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    kind = shape.type_name
    if not _has_type(kind, value):
        yield f"{path}: expected {kind}, got {type(value).__name__} {value!r:.80}"
    elif isinstance(shape, StructureShape):
        yield from _structure_problems(shape, value, path)
    elif isinstance(shape, ListShape):
        yield from _length_problems(shape, value, path)
        for index, item in enumerate(value):
            yield from _problems(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        yield from _length_problems(shape, value, path)
        for key, item in value.items():
            yield from _problems(shape.key, key, f"{path} key {key!r}")
            yield from _problems(shape.value, item, f"{path}[{key!r}]")
    elif kind == "string":
        yield from _string_problems(shape, value, path)
    elif kind in ("integer", "long", "float", "double"):
        yield from _range_problems(shape, value, path)


def _has_type(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    expected: dict[str, tuple[type, ...]] = {
        "structure": (dict,),
        "list": (list,),
        "map": (dict,),
        "string": (str,),
        "blob": (str, bytes),
        "integer": (int,),
        "long": (int,),
        "float": (int, float),
        "double": (int, float),
        "timestamp": (int, float, datetime),  # epoch seconds on the wire, datetimes once boto3 parsed them
    }
    return isinstance(value, expected[kind])


def _structure_problems(shape: StructureShape, value: dict[str, Any], path: str) -> Iterator[str]:
    for name in sorted(set(value) - set(shape.members)):
        yield f"{path}: unknown member {name!r} (the model has {', '.join(shape.members)})"
    for name in shape.required_members:
        if name not in value:
            yield f"{path}: required member {name!r} is missing"
    for name, member in shape.members.items():
        if name in value:
            yield from _problems(member, value[name], f"{path}.{name}")


def _length_problems(shape: Shape, value: Any, path: str) -> Iterator[str]:
    meta = shape.metadata
    if "min" in meta and len(value) < meta["min"]:
        yield f"{path}: length {len(value)} below the minimum {meta['min']}"
    if "max" in meta and len(value) > meta["max"]:
        yield f"{path}: length {len(value)} above the maximum {meta['max']}"


def _range_problems(shape: Shape, value: float, path: str) -> Iterator[str]:
    meta = shape.metadata
    if "min" in meta and value < meta["min"]:
        yield f"{path}: {value} below the minimum {meta['min']}"
    if "max" in meta and value > meta["max"]:
        yield f"{path}: {value} above the maximum {meta['max']}"


def _string_problems(shape: Shape, value: str, path: str) -> Iterator[str]:
    meta = shape.metadata
    if "enum" in meta and value not in meta["enum"]:
        yield f"{path}: {value!r} is not one of {', '.join(meta['enum'])}"
    yield from _length_problems(shape, value, path)
    if (
        shape.name == "VipURL"
    ):  # the model allows only *.amazonaws.com; the local endpoint is the service's URL
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            yield f"{path}: {value!r} is not an http(s) URL"
    elif "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
        yield f"{path}: {value!r:.80} does not match the pattern {meta['pattern']}"


@cache
def _pattern(pattern: str) -> regex.Pattern[str]:
    """The model's patterns use Java classes such as \\p{L}, which `regex` knows and `re` does not."""
    return regex.compile(pattern)
