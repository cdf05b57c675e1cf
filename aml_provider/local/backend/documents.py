"""Entity documents as the API returns them: Get* (with LogUri and Verbose extras) and Describe* results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aml_provider.local.backend.services import Services
from aml_provider.local.store import StoredEntity

_METADATA = ("RedshiftMetadata", "RDSMetadata")
#: An entity's job files the console may read: statistics, evaluation report, batch preview, log.
CONSOLE_ARTIFACTS = frozenset({"statistics.json", "report.json", "preview.json", "log.txt"})


def log_uri(services: Services, kind: str, entity_id: str) -> str:
    return f"{services.config.base_url}/logs/{kind}/{entity_id}"


def get_document(services: Services, entity: StoredEntity, verbose: bool = False) -> dict[str, Any]:
    """The entity as Get{Kind} returns it."""
    document = dict(entity.document) if verbose else _without_query(entity.document)
    document["LogUri"] = log_uri(services, entity.kind, entity.id)
    if verbose and entity.kind == "DataSource":
        _set_if(document, "DataSourceSchema", data_source_schema(services, entity))
    if verbose and entity.kind == "MLModel":
        artifacts = services.runner.artifacts_of("MLModel", entity.id)
        _set_if(document, "Recipe", _read(artifacts / "recipe.json") or entity.request.get("Recipe") or None)
        _set_if(document, "Schema", _read(artifacts / "schema.json") or _training_schema(services, entity))
    return document


def describe_document(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """A stored document as a Describe{Kinds} result."""
    result = _without_query(document)
    if kind == "MLModel":
        result["Algorithm"] = "sgd"
    return result


def data_source_schema(services: Services, entity: StoredEntity) -> str | None:
    """The schema the datasource job settled on, else the one given in the create request."""
    stored = _read(services.runner.artifacts_of("DataSource", entity.id) / "schema.json")
    spec = entity.request.get("DataSpec") or entity.request.get("RDSData") or {}
    return stored or spec.get("DataSchema") or None


def log_document(services: Services, entity: StoredEntity) -> tuple[str, bytes]:
    """The log served at LogUri: log.txt, or for an Evaluation with a report, the report with its log."""
    artifacts = services.runner.artifacts_of(entity.kind, entity.id)
    log = _read(artifacts / "log.txt") or ""
    report = _read(artifacts / "report.json")
    if entity.kind == "Evaluation" and report:
        body = {**json.loads(report), "log": log.splitlines()}
        return "application/json", json.dumps(body, indent=2).encode()
    return "text/plain; charset=utf-8", log.encode()


def console_artifact(services: Services, entity: StoredEntity, name: str) -> str | None:
    """The text of one of the entity's CONSOLE_ARTIFACTS, None if its job did not write it."""
    if name not in CONSOLE_ARTIFACTS:
        raise ValueError(f"{name!r} is not one of {sorted(CONSOLE_ARTIFACTS)}")
    return _read(services.runner.artifacts_of(entity.kind, entity.id) / name)


def _training_schema(services: Services, model: StoredEntity) -> str | None:
    data_source = services.store.get("DataSource", model.document["TrainingDataSourceId"])
    return data_source_schema(services, data_source) if data_source else None


def _without_query(document: dict[str, Any]) -> dict[str, Any]:
    """A copy without the SQL query of Redshift/RDS metadata, which only Verbose shows."""
    result = dict(document)
    for member in _METADATA:
        if member in result:
            result[member] = {k: v for k, v in result[member].items() if k != "SelectSqlQuery"}
    return result


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _set_if(document: dict[str, Any], member: str, value: str | None) -> None:
    if value:
        document[member] = value
