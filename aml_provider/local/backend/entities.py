"""Operations every entity kind shares: create (idempotent), get, rename and delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aml_provider.local.backend.documents import get_document
from aml_provider.local.backend.kinds import Kind
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import (
    IdempotentParameterMismatchException,
    InvalidInputException,
    ResourceNotFoundException,
)
from aml_provider.local.store import StoredEntity, now

#: Builds a new entity's document (validating the request) and any secrets its job needs.
Builder = Callable[[], tuple[dict[str, Any], dict[str, str]]]


def new_document(kind: Kind, request: dict[str, Any], caller_arn: str, **members: Any) -> dict[str, Any]:
    """The members every new entity starts with, in PENDING, followed by `members`."""
    created = now()
    document = {
        kind.id_member: request[kind.id_member],
        "CreatedByIamUser": caller_arn,
        "CreatedAt": created,
        "LastUpdatedAt": created,
        "Status": "PENDING",
    }
    if request.get(kind.name_member) is not None:
        document["Name"] = request[kind.name_member]
    return document | {name: value for name, value in members.items() if value is not None}


def create(services: Services, kind: Kind, request: dict[str, Any], build: Builder) -> dict[str, Any]:
    """Create the entity unless its ID exists.

    A repeat of the first request (passwords aside) is answered as the first was, even once the entity
    has been deleted; any other request with that ID is IdempotentParameterMismatchException.
    """
    entity_id = request[kind.id_member]
    stored_request = without_passwords(request)
    existing = services.store.get(kind.name, entity_id)
    if existing is None:
        document, secrets = build()
        if secrets:
            services.runner.keep_secrets(kind.name, entity_id, secrets)
        if services.store.insert(kind.name, entity_id, document, stored_request):
            services.runner.log(kind.name, entity_id, f"{kind.name} {entity_id}: created, PENDING")
            services.runner.wake()
            return {kind.id_member: entity_id}
        existing = services.store.get(kind.name, entity_id)
    if existing is None or _canonical(existing.request) != _canonical(stored_request):
        raise IdempotentParameterMismatchException(
            f"{kind.id_member} '{entity_id}' is already used by a {kind.name} created with other "
            "parameters; repeat the original request exactly or use a new ID."
        )
    return {kind.id_member: entity_id}


def require(services: Services, kind: Kind, entity_id: str) -> StoredEntity:
    """The entity, or ResourceNotFoundException."""
    entity = services.store.get(kind.name, entity_id)
    if entity is None:
        raise ResourceNotFoundException(f"No {kind.name} with {kind.id_member} '{entity_id}' exists.")
    return entity


def require_changeable(services: Services, kind: Kind, entity_id: str) -> StoredEntity:
    """The entity, which must not be DELETED (deleted entities and their tags cannot change)."""
    entity = require(services, kind, entity_id)
    if entity.status == "DELETED":
        raise InvalidInputException(
            f"{kind.name} '{entity_id}' is DELETED and can no longer be changed; create a new one."
        )
    return entity


def reference(services: Services, kind: Kind, entity_id: str, member: str) -> StoredEntity:
    """An entity named by a create request; InvalidInputException naming the member if it is unknown."""
    entity = services.store.get(kind.name, entity_id)
    if entity is None:
        raise InvalidInputException(
            f"{member} '{entity_id}' does not name an existing {kind.name}; create it first or fix the ID."
        )
    return entity


def get(services: Services, kind: Kind, request: dict[str, Any]) -> dict[str, Any]:
    entity = require(services, kind, request[kind.id_member])
    return get_document(services, entity, verbose=bool(request.get("Verbose")))


def rename(services: Services, kind: Kind, request: dict[str, Any]) -> dict[str, Any]:
    """Update{Kind}: set the name (Update on a DELETED entity is InvalidInputException)."""
    entity_id = request[kind.id_member]
    require_changeable(services, kind, entity_id)
    set_members(services, kind, entity_id, {"Name": request[kind.name_member]})
    return {kind.id_member: entity_id}


def set_members(services: Services, kind: Kind, entity_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Store changes of a not-DELETED entity (losing a race against a Delete is InvalidInputException)."""
    document = services.store.update(
        kind.name, entity_id, changes, when=lambda current: current["Status"] != "DELETED"
    )
    if document is None:
        require_changeable(services, kind, entity_id)
        raise ResourceNotFoundException(f"No {kind.name} with {kind.id_member} '{entity_id}' exists.")
    return document


def delete(services: Services, kind: Kind, request: dict[str, Any]) -> dict[str, Any]:
    """Delete{Kind}: status DELETED for good; Get still returns it.

    Deleting an entity that is already DELETED is ResourceNotFoundException: there is nothing left to
    delete. A job still running for the entity keeps running but its result is discarded.
    """
    entity_id = request[kind.id_member]
    changes: dict[str, Any] = {"Status": "DELETED"}
    if kind.name == "MLModel":
        changes["EndpointInfo"] = {"EndpointStatus": "NONE", "PeakRequestsPerSecond": 0}
    deleted = services.store.update(
        kind.name, entity_id, changes, when=lambda current: current["Status"] != "DELETED"
    )
    if deleted is None:
        require(services, kind, entity_id)
        raise ResourceNotFoundException(f"{kind.name} '{entity_id}' is already DELETED.")
    if kind.name == "MLModel":
        services.endpoints.unmount(entity_id)
    services.runner.log(kind.name, entity_id, f"{kind.name} {entity_id}: DELETED")
    services.runner.wake()
    return {kind.id_member: entity_id}


def without_passwords(request: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the request without any `Password` member."""
    return {
        name: without_passwords(value) if isinstance(value, dict) else value
        for name, value in request.items()
        if name != "Password"
    }


def _canonical(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True)
