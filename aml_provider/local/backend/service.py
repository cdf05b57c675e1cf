"""The Backend: the 28 Amazon ML operations over the entity store, the job runner and the endpoints."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import cached_property
from typing import Any

from aml_provider.local.backend import datasources, endpoints, entities, models, realtime, tags
from aml_provider.local.backend.batch_predictions import create_batch_prediction
from aml_provider.local.backend.describe import describe
from aml_provider.local.backend.documents import console_artifact, get_document, log_document
from aml_provider.local.backend.evaluations import create_evaluation
from aml_provider.local.backend.kinds import KINDS, Kind
from aml_provider.local.backend.services import Services
from aml_provider.local.config import ServiceConfig
from aml_provider.local.data.s3 import S3Probe, S3Store
from aml_provider.local.errors import (
    AmlError,
    InternalServerException,
    InvalidInputException,
    ResourceNotFoundException,
)
from aml_provider.local.faults import Faults
from aml_provider.local.jobs.recovery import recover
from aml_provider.local.jobs.runner import JobRunner
from aml_provider.local.store import EntityStore, StoredEntity
from aml_provider.pages.families import FamilyReader

logger = logging.getLogger(__name__)

Handler = Callable[[Services, dict[str, Any], str], dict[str, Any]]


def _for_kind(operation: Callable[[Services, Kind, dict[str, Any]], dict[str, Any]], kind: Kind) -> Handler:
    """A handler of a kind-generic operation (Get, Update, Delete, Describe) for one kind."""

    def handler(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
        return operation(services, kind, request)

    return functools.update_wrapper(handler, operation)


def _operations() -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "CreateDataSourceFromS3": datasources.create_from_s3,
        "CreateDataSourceFromRedshift": datasources.create_from_redshift,
        "CreateDataSourceFromRDS": datasources.create_from_rds,
        "CreateMLModel": models.create_ml_model,
        "CreateEvaluation": create_evaluation,
        "CreateBatchPrediction": create_batch_prediction,
        "UpdateMLModel": models.update_ml_model,
        "CreateRealtimeEndpoint": realtime.create_realtime_endpoint,
        "DeleteRealtimeEndpoint": realtime.delete_realtime_endpoint,
        "Predict": realtime.predict,
        "AddTags": tags.add_tags,
        "DeleteTags": tags.delete_tags,
        "DescribeTags": tags.describe_tags,
    }
    for kind in KINDS.values():
        table[f"Get{kind.name}"] = _for_kind(entities.get, kind)
        table[f"Delete{kind.name}"] = _for_kind(entities.delete, kind)
        table[f"Describe{kind.name}s"] = _for_kind(describe, kind)
        if kind.name != "MLModel":
            table[f"Update{kind.name}"] = _for_kind(entities.rename, kind)
    return table


OPERATIONS = _operations()


class Backend:
    """What the protocol layer calls: `call(operation, request, caller_arn)` plus the log and console views."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.faults = Faults(config.faults)
        self._services: Services | None = None
        self._s3_probe = S3Probe(config)

    def start(self) -> None:
        """Open the store, clean up after the previous process, end jobs it left in progress, start the runner."""
        store = EntityStore(self.config.data_dir / "state.db")
        recover(self.config, store)
        runner = JobRunner(self.config, store, self._entity_for_job, self.faults)
        self._services = Services(self.config, store, runner, endpoints.Endpoints(self.config, store))
        runner.start()
        self._services.endpoints.start()

    def stop(self) -> None:
        """Stop the endpoints and the runner (which waits up to `shutdown_timeout` for jobs), close the store."""
        if self._services is not None:
            self._services.endpoints.stop()
            self._services.runner.stop()
            self._services.store.close()
            self._services = None

    def health(self) -> dict[str, str | None]:
        """Readiness: what is wrong with the store and with S3 (None for each part that is fine)."""
        store_problem: str | None = "the entity store is not open"
        if self._services is not None:
            try:
                self._services.store.ping()
                store_problem = None
            except Exception as error:
                store_problem = f"the entity store does not answer: {error}"
        return {"store": store_problem, "s3": self._s3_probe.problem()}

    @property
    def services(self) -> Services:
        if self._services is None:
            raise InternalServerException("The local Amazon ML service is not running.")
        return self._services

    def call(self, operation: str, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
        """Run one operation; raises AmlError (unexpected errors become InternalServerException)."""
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise InvalidInputException(f"Unknown operation {operation!r}.")
        try:
            return handler(self.services, request, caller_arn)
        except AmlError:
            raise
        except Exception as error:
            logger.exception("%s failed", operation)
            raise InternalServerException(f"{operation} failed: {error}") from error

    def log_document(self, kind: str, entity_id: str) -> tuple[str, bytes]:
        """Content type and body of the log served at an entity's LogUri."""
        return log_document(self.services, self._entity(kind, entity_id))

    def entity_document(self, kind: str, entity_id: str) -> dict[str, Any]:
        """The entity as Get{Kind} returns it with Verbose, for the console page."""
        return get_document(self.services, self._entity(kind, entity_id), verbose=True)

    def artifact(self, kind: str, entity_id: str, name: str) -> str | None:
        """One of the files the entity's job wrote for the console (statistics.json, report.json,
        preview.json, log.txt), None if there is none."""
        return console_artifact(self.services, self._entity(kind, entity_id), name)

    @cached_property
    def families(self) -> FamilyReader:
        """The model families under the configured families URIs, read with the service's S3 client."""
        client = S3Store.from_config(self.config).client
        return FamilyReader(client, self.config.families_uris, "--families-uri / AML_LOCAL_FAMILIES_URI")

    def _entity(self, kind: str, entity_id: str) -> StoredEntity:
        if kind not in KINDS:
            raise ResourceNotFoundException(f"There are no entities of kind {kind!r}.")
        return entities.require(self.services, KINDS[kind], entity_id)

    def _entity_for_job(self, kind: str, entity_id: str) -> dict[str, Any]:
        return self.entity_document(kind, entity_id)
