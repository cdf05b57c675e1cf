"""Describe{DataSources,MLModels,Evaluations,BatchPredictions}: filter, sort and page through entities.

Results include DELETED entities (waiters and sensors must see them). Time comparisons accept epoch
seconds or ISO-8601 text. NextToken is an opaque, URL-safe token holding where its page ended (so a page
costs the same at any depth), bound to the query it came from and signed by this process, so a forged or
altered token is refused (a token does not outlive a restart).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from aml_provider.local.backend.documents import describe_document
from aml_provider.local.backend.kinds import Kind
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException
from aml_provider.local.store import COMPARISONS, SortKey

_COMMON = {
    "CreatedAt": "created_at",
    "LastUpdatedAt": "last_updated_at",
    "Status": "status",
    "Name": "name",
    "IAMUser": "created_by",
}
_OF_DEPENDENT = {"MLModelId": "model_id", "DataSourceId": "data_source_id", "DataURI": "data_uri"}

#: FilterVariable -> store column, per kind.
FILTER_VARIABLES: dict[str, dict[str, str]] = {
    "DataSource": _COMMON | {"DataLocationS3": "data_uri"},
    "MLModel": _COMMON
    | {
        "TrainingDataSourceId": "data_source_id",
        "RealtimeEndpointStatus": "endpoint_status",
        "MLModelType": "model_type",
        "Algorithm": "algorithm",
        "TrainingDataURI": "data_uri",
    },
    "Evaluation": _COMMON | _OF_DEPENDENT,
    "BatchPrediction": _COMMON | _OF_DEPENDENT,
}
TIME_COLUMNS = frozenset({"created_at", "last_updated_at"})
DEFAULT_LIMIT = 100
_TOKEN_KEY = secrets.token_bytes(32)


def describe(services: Services, kind: Kind, request: dict[str, Any]) -> dict[str, Any]:
    variable = request.get("FilterVariable", "CreatedAt")
    column = FILTER_VARIABLES[kind.name].get(variable)
    if column is None:
        raise InvalidInputException(
            f"FilterVariable {variable!r} is not one of {', '.join(FILTER_VARIABLES[kind.name])}."
        )
    given = [op for op in COMPARISONS if request.get(op) is not None]
    if given and "FilterVariable" not in request:
        raise InvalidInputException(f"Set FilterVariable to say what {', '.join(given)} compares.")
    comparisons = {op: _value(variable, column, op, request[op]) for op in given}
    limit = request.get("Limit", DEFAULT_LIMIT)
    if not 1 <= limit <= DEFAULT_LIMIT:
        raise InvalidInputException(f"Limit must be between 1 and {DEFAULT_LIMIT}, got {limit}.")
    query = _query_key(kind, request)
    after = _after(request["NextToken"], query) if request.get("NextToken") else None
    descending = request.get("SortOrder") == "dsc"
    documents, last = services.store.describe(kind.name, column, comparisons, descending, limit, after)
    response: dict[str, Any] = {"Results": [describe_document(kind.name, d) for d in documents]}
    if last is not None:
        response["NextToken"] = _token(last, query)
    return response


def _value(variable: str, column: str, op: str, text: str) -> Any:
    if column not in TIME_COLUMNS:
        return text
    if op == "Prefix":
        raise InvalidInputException(
            f"Prefix compares text, but FilterVariable {variable} is a time; use GT, GE, LT, LE, EQ or NE "
            "with a time, or filter on a text variable such as Name."
        )
    return parse_time(op, text)


def parse_time(member: str, text: str) -> float:
    """Epoch seconds from epoch-seconds text or ISO-8601 (UTC unless it names a zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInputException(
            f"{member} {text!r} is not a time; give epoch seconds (1700000000.5) or ISO-8601 "
            "(2024-01-31T12:00:00Z)."
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _query_key(kind: Kind, request: dict[str, Any]) -> str:
    """A short digest of everything but the page position, so a token only continues its own query."""
    query = {k: v for k, v in request.items() if k not in ("NextToken", "Limit")}
    return hashlib.sha256(json.dumps([kind.name, query], sort_keys=True).encode()).hexdigest()[:16]


def _token(after: SortKey, query: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"after": after, "query": query}).encode()).decode()
    return f"{payload}.{_signature(payload)}"


def _signature(payload: str) -> str:
    return hmac.new(_TOKEN_KEY, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _after(token: str, query: str) -> SortKey:
    """The sort key of the last result before a token this process issued for this very query (the next
    page starts after it); InvalidInputException for any other token."""
    payload, _, signature = token.rpartition(".")
    after = None
    if hmac.compare_digest(signature.encode(), _signature(payload).encode()):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(payload.encode()))
            if decoded["query"] == query:
                after = decoded["after"]
        except (binascii.Error, ValueError, TypeError, KeyError):
            after = None
    if not isinstance(after, list) or not 2 <= len(after) <= 3 or not isinstance(after[-1], str):
        raise InvalidInputException(
            "NextToken is not one this query returned (tokens are bound to their query and to this run of "
            "the service); repeat the request without NextToken."
        )
    return tuple(after)
