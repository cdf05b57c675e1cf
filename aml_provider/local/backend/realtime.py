"""The real-time operations: CreateRealtimeEndpoint, DeleteRealtimeEndpoint and Predict.

They check the request and the model, then hand over to the process's ``Endpoints``.
"""

from __future__ import annotations

from typing import Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.endpoints import MAX_RECORD_BYTES, MOUNTABLE
from aml_provider.local.backend.kinds import ML_MODEL
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException, ResourceNotFoundException
from aml_provider.local.store import StoredEntity


def create_realtime_endpoint(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    model = _existing_model(services, request["MLModelId"])
    if model.status not in MOUNTABLE:
        raise InvalidInputException(
            f"MLModel '{model.id}' is {model.status}; a real-time endpoint needs a model that is COMPLETED "
            "or still training: create a new model and its endpoint."
        )
    return {"MLModelId": model.id, "RealtimeEndpointInfo": services.endpoints.create(model.id)}


def delete_realtime_endpoint(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    model = _existing_model(services, request["MLModelId"])
    return {"MLModelId": model.id, "RealtimeEndpointInfo": services.endpoints.delete(model.id)}


def predict(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    record = request["Record"]
    size = record_bytes(record)
    if size > MAX_RECORD_BYTES:
        raise InvalidInputException(
            f"Record holds {size} bytes of names and values; an observation may have at most "
            f"{MAX_RECORD_BYTES} bytes (100 KB): send fewer or shorter values."
        )
    return services.endpoints.predict(request["MLModelId"], record, size)


def record_bytes(record: dict[str, str]) -> int:
    """Bytes of the record's names and values in UTF-8 (ASCII text, most records: its length)."""
    names, values = "".join(record), "".join(record.values())
    if names.isascii() and values.isascii():
        return len(names) + len(values)
    return sum(len(k.encode()) + len(v.encode()) for k, v in record.items())


def _existing_model(services: Services, model_id: str) -> StoredEntity:
    """The model, which must exist and not be DELETED (ResourceNotFoundException otherwise)."""
    model = entities.require(services, ML_MODEL, model_id)
    if model.status == "DELETED":
        raise ResourceNotFoundException(f"MLModel '{model_id}' is DELETED.")
    return model
