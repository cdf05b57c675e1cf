"""AddTags, DeleteTags and DescribeTags.

Tags of a DELETED object cannot be changed: AddTags/DeleteTags on one are InvalidInputException (the
object still exists, it is its state that forbids the change); DescribeTags still answers.
"""

from __future__ import annotations

from typing import Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.kinds import KINDS, Kind
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException, InvalidTagException, TagLimitExceededException

MAX_TAGS = 50
RESERVED_PREFIX = "aws:"


def add_tags(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    kind, entity_id = _resource(request)
    for number, tag in enumerate(request["Tags"], start=1):
        if tag.get("Key") is None:
            raise InvalidTagException(
                f"Tags.{number} has no Key: every tag needs a Key (its Value may be left out)."
            )
    new_tags = {tag["Key"]: tag.get("Value") for tag in request["Tags"]}
    _check_keys(new_tags)
    entities.require_changeable(services, kind, entity_id)
    if not services.store.put_tags(kind.name, entity_id, new_tags, MAX_TAGS):
        raise TagLimitExceededException(
            f"{kind.name} '{entity_id}' can have at most {MAX_TAGS} tags; delete some before adding more."
        )
    return _answer(request)


def delete_tags(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    """Remove the named tags; keys the object does not have are ignored."""
    kind, entity_id = _resource(request)
    _check_keys(request["TagKeys"])
    entities.require_changeable(services, kind, entity_id)
    services.store.delete_tags(kind.name, entity_id, request["TagKeys"])
    return _answer(request)


def describe_tags(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    kind, entity_id = _resource(request)
    entities.require(services, kind, entity_id)
    found = services.store.get_tags(kind.name, entity_id)
    tag_list = [{"Key": key} if value is None else {"Key": key, "Value": value} for key, value in found]
    return _answer(request) | {"Tags": tag_list}


def _resource(request: dict[str, Any]) -> tuple[Kind, str]:
    kind = KINDS.get(request["ResourceType"])
    if kind is None:
        raise InvalidInputException(f"ResourceType must be one of {', '.join(KINDS)}.")
    return kind, request["ResourceId"]


def _check_keys(keys: Any) -> None:
    reserved = [key for key in keys if key.lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise InvalidTagException(
            f"Tag keys starting with '{RESERVED_PREFIX}' are reserved: {', '.join(reserved)}."
        )


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    return {"ResourceId": request["ResourceId"], "ResourceType": request["ResourceType"]}
