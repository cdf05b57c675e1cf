"""The inputs that define each kind of Amazon ML entity, and how a reattach compares them.

A retried create reattaches to the entity with its ID only when every input it asks for is the one the
entity was created with, as Amazon ML's ``IdempotentParameterMismatchException`` would insist. Each table
row names one input: where the create request holds it, where ``Get<Kind>`` (Verbose) shows it, and how
the two are compared. Inputs ``Get<Kind>`` does not return (DataSchemaLocationS3, RecipeUri, an RDS
source's SubnetId and SecurityGroupIds, database passwords) cannot be compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath


def _text(value: Any) -> Any:
    return "" if value is None else str(value)


def _location(value: Any) -> Any:
    return _text(value).rstrip("/")


def _flag(value: Any) -> Any:
    return bool(value)


def _document(value: Any) -> Any:
    """A JSON document (text or parsed) without null or empty members, so defaults compare equal."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError:
            return value
    if isinstance(value, dict):
        members = {key: _document(item) for key, item in value.items()}
        return {key: item for key, item in members.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [_document(item) for item in value]
    return value


def _shown(value: Any, limit: int = 200) -> str:
    """The value as messages show it: its repr, cut short when long (schemas, recipes)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _sql(value: Any) -> Any:
    return " ".join(_text(value).split()).rstrip(";")


@dataclass(frozen=True)
class Input:
    """One input of a create request, where the entity shows it, and how the two compare.

    :param request: JMESPath of the input in the create request; it also names the input in messages.
    :param entity: JMESPath of the same value in the ``Get<Kind>`` (Verbose) response.
    :param normal: makes both sides comparable (trailing slashes, JSON formatting, defaults).
    :param only_if_asked: compared only when the request gives it (the service fills in a default).
    """

    request: str
    entity: str
    normal: Callable[[Any], Any] = _text
    only_if_asked: bool = False

    def difference(self, request: Mapping[str, Any], entity: Mapping[str, Any]) -> str | None:
        """``<input>: existing <value>, asked for <value>``, or None when they agree."""
        asked, found = jmespath.search(self.request, request), jmespath.search(self.entity, entity)
        if asked is None and self.only_if_asked:
            return None
        if self.same(asked, found):
            return None
        return f"{self.request}: existing {_shown(found)}, asked for {_shown(asked)}"

    def same(self, asked: Any, found: Any) -> bool:
        return bool(self.normal(asked) == self.normal(found))


@dataclass(frozen=True)
class Staging(Input):
    """An S3 staging prefix: the data source's DataLocationS3 is the prefix or lies under it."""

    def same(self, asked: Any, found: Any) -> bool:
        prefix, location = _location(asked), _location(found)
        return location == prefix or location.startswith(f"{prefix}/")


@dataclass(frozen=True)
class Parameters(Input):
    """Training parameters: each requested key against the model's TrainingParameters (with defaults)."""

    def difference(self, request: Mapping[str, Any], entity: Mapping[str, Any]) -> str | None:
        asked = jmespath.search(self.request, request) or {}
        found = jmespath.search(self.entity, entity) or {}
        differing = [
            f"{self.request}.{key}: existing {_shown(found.get(key))}, asked for {_shown(value)}"
            for key, value in asked.items()
            if _text(found.get(key)) != _text(value)
        ]
        return "; ".join(differing) or None


def _data_spec(location: Input) -> tuple[Input, ...]:
    """What every data source shares: its S3 data (or staging), schema, rearrangement and statistics."""
    spec = location.request.split(".")[0]
    return (
        location,
        Input(f"{spec}.DataSchema", "DataSourceSchema", _document, only_if_asked=True),
        Input(f"{spec}.DataRearrangement", "DataRearrangement", _document),
        Input("ComputeStatistics", "ComputeStatistics", _flag),
    )


def _database(spec: str, metadata: str, database: str, names: tuple[str, ...]) -> tuple[Input, ...]:
    """The inputs of a Redshift or RDS data source: its query, database, user and role."""
    return (
        *_data_spec(Staging(f"{spec}.S3StagingLocation", "DataLocationS3")),
        Input(f"{spec}.SelectSqlQuery", f"{metadata}.SelectSqlQuery", _sql),
        *(Input(f"{spec}.DatabaseInformation.{name}", f"{metadata}.{database}.{name}") for name in names),
        Input(f"{spec}.DatabaseCredentials.Username", f"{metadata}.DatabaseUserName"),
        Input("RoleARN", "RoleARN"),
    )


#: The inputs compared on reattach, per create operation.
INPUTS: dict[str, tuple[Input, ...]] = {
    "create_data_source_from_s3": _data_spec(Input("DataSpec.DataLocationS3", "DataLocationS3", _location)),
    "create_data_source_from_redshift": _database(
        "DataSpec", "RedshiftMetadata", "RedshiftDatabase", ("DatabaseName", "ClusterIdentifier")
    ),
    "create_data_source_from_rds": (
        *_database("RDSData", "RDSMetadata", "Database", ("DatabaseName", "InstanceIdentifier")),
        Input("RDSData.ResourceRole", "RDSMetadata.ResourceRole"),
        Input("RDSData.ServiceRole", "RDSMetadata.ServiceRole"),
    ),
    "create_ml_model": (
        Input("MLModelType", "MLModelType"),
        Input("TrainingDataSourceId", "TrainingDataSourceId"),
        Input("Recipe", "Recipe", _document, only_if_asked=True),
        Parameters("Parameters", "TrainingParameters"),
    ),
    "create_evaluation": (
        Input("MLModelId", "MLModelId"),
        Input("EvaluationDataSourceId", "EvaluationDataSourceId"),
    ),
    "create_batch_prediction": (
        Input("MLModelId", "MLModelId"),
        Input("BatchPredictionDataSourceId", "BatchPredictionDataSourceId"),
        Input("OutputUri", "OutputUri", _location),
    ),
}


def differences(operation: str, request: Mapping[str, Any], entity: Mapping[str, Any]) -> list[str]:
    """Every input of `request` (for `operation`) the existing `entity` was created with differently."""
    found = (row.difference(request, entity) for row in INPUTS[operation])
    return [difference for difference in found if difference]
