"""Data schemas: which CSV column is which attribute, of what type, and which one is the target."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aml_provider.local.data.documents import json_object
from aml_provider.local.errors import InvalidInputException

ATTRIBUTE_TYPES = ("NUMERIC", "CATEGORICAL", "TEXT", "BINARY")
MAX_ATTRIBUTES = 1000

#: Alternate key spellings (as in the API reference) and the canonical key each one stands for.
_ALIASES = {
    "recordAnnotationFieldName": "rowId",
    "recordWeightFieldName": "rowWeight",
    "targetFieldName": "targetAttributeName",
    "variables": "attributes",
    "excludedVariableNames": "excludedAttributeNames",
}
_ATTRIBUTE_ALIASES = {"fieldName": "attributeName", "fieldType": "attributeType"}
_KEYS = (
    "version",
    "rowId",
    "rowWeight",
    "targetAttributeName",
    "dataFormat",
    "dataFileContainsHeader",
    "attributes",
    "excludedAttributeNames",
)


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str


@dataclass(frozen=True)
class Schema:
    """A parsed, validated data schema; attribute i describes CSV column i."""

    attributes: tuple[Attribute, ...]
    target: str | None = None
    row_id: str | None = None
    row_weight: str | None = None
    excluded: tuple[str, ...] = ()
    header: bool = False

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def type_of(self, name: str) -> str:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute.type
        raise KeyError(name)

    @property
    def feature_names(self) -> list[str]:
        """Attributes that are model inputs: all but the target, rowId, rowWeight and excluded ones."""
        special = {self.target, self.row_id, self.row_weight, *self.excluded}
        return [a.name for a in self.attributes if a.name not in special]

    def to_json(self) -> str:
        """The schema in the canonical key spelling."""
        document = {
            "version": "1.0",
            "rowId": self.row_id,
            "rowWeight": self.row_weight,
            "targetAttributeName": self.target,
            "dataFormat": "CSV",
            "dataFileContainsHeader": self.header,
            "attributes": [{"attributeName": a.name, "attributeType": a.type} for a in self.attributes],
            "excludedAttributeNames": list(self.excluded),
        }
        return json.dumps(document, indent=2)


def parse_schema(text: str) -> Schema:
    """Parse and validate a schema in either key spelling; InvalidInputException names the key at fault."""
    document = _canonical(json_object(text, "DataSchema", "with an 'attributes' list"))
    attributes = _attributes(document.get("attributes"))
    names = [a.name for a in attributes]
    schema = Schema(
        attributes=attributes,
        target=_attribute_name(document, "targetAttributeName", names),
        row_id=_attribute_name(document, "rowId", names),
        row_weight=_attribute_name(document, "rowWeight", names),
        excluded=_excluded(document.get("excludedAttributeNames"), names),
        header=_header(document.get("dataFileContainsHeader", False)),
    )
    _check_format(document)
    _check_roles(schema)
    return schema


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    """Map alternate key spellings to canonical ones; reject unknown and doubly-given keys."""
    result: dict[str, Any] = {}
    for key, value in document.items():
        canonical = _ALIASES.get(key, key)
        if canonical not in _KEYS:
            raise InvalidInputException(
                f"DataSchema has an unknown key '{key}'; allowed keys are {', '.join(_KEYS)}."
            )
        if canonical in result:
            raise InvalidInputException(f"DataSchema gives '{canonical}' twice (as '{key}'); give it once.")
        result[canonical] = value
    return result


def _attributes(value: Any) -> tuple[Attribute, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInputException("DataSchema 'attributes' must be a non-empty list of attributes.")
    if len(value) > MAX_ATTRIBUTES:
        raise InvalidInputException(
            f"DataSchema 'attributes' has {len(value)} attributes; at most {MAX_ATTRIBUTES} are allowed."
        )
    attributes = tuple(_attribute(i, item) for i, item in enumerate(value))
    seen: set[str] = set()
    for attribute in attributes:
        if attribute.name in seen:
            raise InvalidInputException(
                f"DataSchema 'attributes' names '{attribute.name}' twice; attribute names must be unique."
            )
        seen.add(attribute.name)
    return attributes


def _attribute(index: int, item: Any) -> Attribute:
    where = f"DataSchema 'attributes'[{index}]"
    if not isinstance(item, dict):
        raise InvalidInputException(f"{where} must be an object with 'attributeName' and 'attributeType'.")
    fields = {_ATTRIBUTE_ALIASES.get(k, k): v for k, v in item.items()}
    unknown = set(fields) - {"attributeName", "attributeType"}
    if unknown or len(fields) != len(item):
        raise InvalidInputException(
            f"{where} has unexpected keys {sorted(item)}; give only 'attributeName' and 'attributeType'."
        )
    name, kind = fields.get("attributeName"), fields.get("attributeType")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputException(f"{where} needs a non-empty string 'attributeName'.")
    if not isinstance(kind, str):
        raise InvalidInputException(f"{where} ('{name}') needs an 'attributeType', one of {ATTRIBUTE_TYPES}.")
    kind = kind.strip().upper()
    if kind.startswith("WEIGHTED_"):
        raise InvalidInputException(
            f"{where} ('{name}') has attributeType '{kind}', which is not supported; use TEXT instead."
        )
    if kind not in ATTRIBUTE_TYPES:
        raise InvalidInputException(
            f"{where} ('{name}') has unknown attributeType '{fields['attributeType']}'; "
            f"use one of {', '.join(ATTRIBUTE_TYPES)}."
        )
    return Attribute(name, kind)


def _attribute_name(document: dict[str, Any], key: str, names: list[str]) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInputException(f"DataSchema '{key}' must be an attribute name (a string) or null.")
    if value not in names:
        raise InvalidInputException(
            f"DataSchema '{key}' names '{value}', which is not in 'attributes'; add it or fix the name."
        )
    return value


def _excluded(value: Any, names: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputException("DataSchema 'excludedAttributeNames' must be a list of attribute names.")
    for name in value:
        if name not in names:
            raise InvalidInputException(
                f"DataSchema 'excludedAttributeNames' names '{name}', which is not in 'attributes'."
            )
    return tuple(dict.fromkeys(value))


def _header(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInputException("DataSchema 'dataFileContainsHeader' must be true or false.")


def _check_format(document: dict[str, Any]) -> None:
    data_format = document.get("dataFormat", "CSV")
    if not isinstance(data_format, str) or data_format.strip().upper() != "CSV":
        raise InvalidInputException(f"DataSchema 'dataFormat' is {data_format!r}; only \"CSV\" is supported.")
    version = document.get("version", "1.0")
    if not isinstance(version, str):
        raise InvalidInputException("DataSchema 'version' must be a string such as \"1.0\".")


def _check_roles(schema: Schema) -> None:
    """An attribute has at most one role; the row weight is numeric."""
    if schema.row_weight is not None and schema.type_of(schema.row_weight) != "NUMERIC":
        raise InvalidInputException(
            f"DataSchema 'rowWeight' names '{schema.row_weight}', which is "
            f"{schema.type_of(schema.row_weight)}; the row weight must be a NUMERIC attribute."
        )
    roles = {"targetAttributeName": schema.target, "rowId": schema.row_id, "rowWeight": schema.row_weight}
    named = [(key, name) for key, name in roles.items() if name is not None]
    for i, (key, name) in enumerate(named):
        for other_key, other in named[i + 1 :]:
            if name == other:
                raise InvalidInputException(
                    f"DataSchema '{key}' and '{other_key}' both name '{name}'; use different attributes."
                )
    if schema.target is not None and schema.target in schema.excluded:
        raise InvalidInputException(
            f"DataSchema 'targetAttributeName' names '{schema.target}', which is also in "
            "'excludedAttributeNames'; the target cannot be excluded."
        )
