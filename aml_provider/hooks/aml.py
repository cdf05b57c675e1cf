"""Hook for Amazon Machine Learning (boto3 ``machinelearning``), in AWS or at the local service."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError, WaiterTerminalFailure
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.providers.common.compat.sdk import AirflowException
from botocore.exceptions import ClientError

from aml_provider.hooks.inputs import differences
from aml_provider.hooks.kinds import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    FAILED_STATES,
    ML_MODEL,
    EntityKind,
    failure_message,
)
from aml_provider.hooks.waiting import PatientWaiter, is_transient
from aml_provider.utils.ids import MAX_ATTEMPTS, attempt_ids

if TYPE_CHECKING:
    from mypy_boto3_machinelearning import MachineLearningClient
    from mypy_boto3_machinelearning.type_defs import TagTypeDef

WAITERS_PATH = Path(__file__).parents[1] / "waiters" / "machinelearning.json"
AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
ENDPOINT_WAITER = "realtime_endpoint_ready"
#: The waiter for each EndpointStatus an endpoint operation waits for (mounted, removed).
ENDPOINT_WAITERS = {"READY": ENDPOINT_WAITER, "NONE": "realtime_endpoint_deleted"}
#: Evaluation metric names and whether a larger value is better.
METRICS = {"BinaryAUC": True, "MulticlassAvgFScore": True, "RegressionRMSE": False}


class AmlError(AirflowException):
    """An Amazon ML entity failed, or a request cannot be carried out as asked."""


def _without_none(request: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in request.items() if value is not None}


class AmlHook(AwsBaseHook):
    """
    Interact with Amazon Machine Learning through the ``aws`` connection.

    Point the connection's ``extra.service_config.machinelearning.endpoint_url`` at the local service to
    use it instead of AWS; nothing else changes. Additional arguments (such as ``aws_conn_id``) are
    passed down to :class:`~airflow.providers.amazon.aws.hooks.base_aws.AwsBaseHook`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "machinelearning"
        super().__init__(*args, **kwargs)

    @cached_property
    def waiter_path(self) -> Path:  # type: ignore[override]
        """This provider's custom waiters (the base class would look inside the amazon provider)."""
        return WAITERS_PATH

    def get_waiter(
        self,
        waiter_name: str,
        parameters: dict[str, str] | None = None,
        config_overrides: dict[str, Any] | None = None,
        deferrable: bool = False,
        client: Any = None,
    ) -> Any:
        """The named waiter; its polls outlast connection errors, throttling and 5xx (see hooks.waiting)."""
        waiter = super().get_waiter(waiter_name, parameters, config_overrides, deferrable, client)
        return PatientWaiter(waiter, deferrable=deferrable)

    @property
    def client(self) -> MachineLearningClient:
        """The boto3 ``machinelearning`` client (``conn``, typed)."""
        return cast("MachineLearningClient", self.conn)

    @property
    def local_service_url(self) -> str | None:
        """The endpoint URL when the connection points at a local Amazon ML service, None for AWS."""
        url = self.client.meta.endpoint_url.rstrip("/")
        host = urlsplit(url).hostname or ""
        return None if host.endswith(AWS_DOMAINS) else url

    def public_service_url(self, kind: EntityKind, entity_id: str) -> str | None:
        """The local service's address as a browser reaches it (its ``--public-url``, read from the
        entity's LogUri), which differs from the connection's when workers reach it by another name."""
        if self.local_service_url is None:
            return None
        entity = self.find(kind, entity_id) or {}
        log_uri = str(entity.get("LogUri") or "")
        return log_uri.split("/logs/", 1)[0] if "/logs/" in log_uri else self.local_service_url

    # Reading

    def get(self, kind: EntityKind, entity_id: str, *, verbose: bool = False) -> dict[str, Any]:
        """Return the entity as Get<Kind> does (Verbose adds schema and recipe to data sources and models)."""
        request: dict[str, Any] = {kind.id_key: entity_id}
        if verbose and kind in (DATA_SOURCE, ML_MODEL):
            request["Verbose"] = True
        response = getattr(self.client, f"get_{kind.snake}")(**request)
        response.pop("ResponseMetadata", None)
        return response

    def find(self, kind: EntityKind, entity_id: str, *, verbose: bool = False) -> dict[str, Any] | None:
        """Return the entity, or None when Amazon ML has no entity with this ID."""
        try:
            return self.get(kind, entity_id, verbose=verbose)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def status(self, kind: EntityKind, entity_id: str) -> str:
        return self.get(kind, entity_id)["Status"]

    def completed(self, kind: EntityKind, entity_id: str) -> bool:
        """True when the entity is COMPLETED; raise AmlError with Amazon ML's explanation when it failed.

        False (with a warning) while the service cannot answer: connection error, throttling or 5xx.
        """

        def check() -> bool:
            entity = self.get(kind, entity_id)
            self.check_not_failed(kind, entity)
            self.log.info("%s is %s", kind.describe(entity_id), entity["Status"])
            return entity["Status"] == "COMPLETED"

        return self.check_when_available(kind.describe(entity_id), check)

    def check_when_available(self, subject: str, check: Callable[[], bool]) -> bool:
        """`check()`, or False with a warning when the service cannot answer now (so a poll tries again)."""
        try:
            return check()
        except Exception as error:
            if not is_transient(error):
                raise
            self.log.warning("Cannot check %s now (%s); checking again later", subject, error)
            return False

    def describe(self, kind: EntityKind, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield the entities Describe<Kinds> finds for the filters, across all pages."""
        paginator = cast("Any", self.client).get_paginator(f"describe_{kind.snake}s")
        for page in paginator.paginate(**filters):
            yield from page.get("Results", [])

    def check_not_failed(self, kind: EntityKind, entity: Mapping[str, Any]) -> None:
        """Raise AmlError with Amazon ML's explanation when the entity ended FAILED or DELETED."""
        if entity.get("Status") in FAILED_STATES:
            raise AmlError(failure_message(kind, entity))

    # Creating: every create first looks for an entity with the same ID, so retries reattach; past a
    # FAILED or DELETED one it moves on to <id>-a2, <id>-a3, ... Each returns the ID of the live entity.

    def create_data_source_from_s3(
        self,
        data_source_id: str,
        *,
        data_location_s3: str,
        data_schema: str | None = None,
        data_schema_location_s3: str | None = None,
        data_rearrangement: str | None = None,
        data_source_name: str | None = None,
        compute_statistics: bool = True,
    ) -> str:
        data_spec = _without_none(
            {
                "DataLocationS3": data_location_s3,
                "DataSchema": data_schema,
                "DataSchemaLocationS3": data_schema_location_s3,
                "DataRearrangement": data_rearrangement,
            }
        )
        request = {
            "DataSpec": data_spec,
            "DataSourceName": data_source_name,
            "ComputeStatistics": compute_statistics,
        }
        return self._create_or_reuse(DATA_SOURCE, data_source_id, "create_data_source_from_s3", request)

    def create_data_source_from_redshift(
        self,
        data_source_id: str,
        *,
        data_spec: dict[str, Any],
        role_arn: str,
        data_source_name: str | None = None,
        compute_statistics: bool = True,
    ) -> str:
        request = {
            "DataSpec": _without_none(data_spec),
            "RoleARN": role_arn,
            "DataSourceName": data_source_name,
            "ComputeStatistics": compute_statistics,
        }
        return self._create_or_reuse(DATA_SOURCE, data_source_id, "create_data_source_from_redshift", request)

    def create_data_source_from_rds(
        self,
        data_source_id: str,
        *,
        rds_data: dict[str, Any],
        role_arn: str,
        data_source_name: str | None = None,
        compute_statistics: bool = True,
    ) -> str:
        request = {
            "RDSData": _without_none(rds_data),
            "RoleARN": role_arn,
            "DataSourceName": data_source_name,
            "ComputeStatistics": compute_statistics,
        }
        return self._create_or_reuse(DATA_SOURCE, data_source_id, "create_data_source_from_rds", request)

    def create_ml_model(
        self,
        ml_model_id: str,
        *,
        ml_model_type: str,
        training_data_source_id: str,
        recipe: str | None = None,
        recipe_uri: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        ml_model_name: str | None = None,
    ) -> str:
        request = {
            "MLModelType": ml_model_type,
            "TrainingDataSourceId": training_data_source_id,
            "Recipe": recipe,
            "RecipeUri": recipe_uri,
            "Parameters": {key: str(value) for key, value in parameters.items()} if parameters else None,
            "MLModelName": ml_model_name,
        }
        return self._create_or_reuse(ML_MODEL, ml_model_id, "create_ml_model", request)

    def create_evaluation(
        self,
        evaluation_id: str,
        *,
        ml_model_id: str,
        evaluation_data_source_id: str,
        evaluation_name: str | None = None,
    ) -> str:
        request = {
            "MLModelId": ml_model_id,
            "EvaluationDataSourceId": evaluation_data_source_id,
            "EvaluationName": evaluation_name,
        }
        return self._create_or_reuse(EVALUATION, evaluation_id, "create_evaluation", request)

    def create_batch_prediction(
        self,
        batch_prediction_id: str,
        *,
        ml_model_id: str,
        batch_prediction_data_source_id: str,
        output_uri: str,
        batch_prediction_name: str | None = None,
    ) -> str:
        request = {
            "MLModelId": ml_model_id,
            "BatchPredictionDataSourceId": batch_prediction_data_source_id,
            "OutputUri": output_uri,
            "BatchPredictionName": batch_prediction_name,
        }
        return self._create_or_reuse(
            BATCH_PREDICTION, batch_prediction_id, "create_batch_prediction", request
        )

    def _create_or_reuse(
        self, kind: EntityKind, entity_id: str, operation: str, request: Mapping[str, Any]
    ) -> str:
        """Reattach to the live entity of this ID's attempt chain (if its inputs match), or create one.

        The chain is the ID, then ``<ID>-a2``, ``<ID>-a3``, ...: an attempt that ended FAILED or DELETED is
        passed over (its failure logged), the first ID that is free or live wins. Return that ID.
        """
        for candidate in attempt_ids(entity_id):
            existing = self.find(kind, candidate, verbose=True)
            if existing is None:
                return self._create(kind, candidate, operation, request)
            if existing.get("Status") in FAILED_STATES:
                self.log.warning("%s; creating a fresh one instead", failure_message(kind, existing))
                continue
            mismatches = differences(operation, request, existing)
            if mismatches:
                raise AmlError(self._mismatch_message(kind, candidate, "; ".join(mismatches)))
            self.log.info("Reattaching to %s (%s)", kind.describe(candidate), existing.get("Status"))
            return candidate
        raise AmlError(
            f"All {MAX_ATTEMPTS} attempts of {kind.describe(entity_id)} ended FAILED or DELETED; "
            f"fix the cause (see their messages) and pass a new {kind.id_param}"
        )

    def _create(self, kind: EntityKind, entity_id: str, operation: str, request: Mapping[str, Any]) -> str:
        try:
            getattr(self.client, operation)(**{kind.id_key: entity_id}, **_without_none(request))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "IdempotentParameterMismatchException":
                raise AmlError(self._mismatch_message(kind, entity_id, str(error))) from error
            raise
        self.log.info("Created %s", kind.describe(entity_id))
        return entity_id

    @staticmethod
    def _mismatch_message(kind: EntityKind, entity_id: str, detail: str) -> str:
        return (
            f"Amazon ML already has a {kind.label} with the same ID {entity_id} but different parameters "
            f"({detail}). Pass a new {kind.id_param}, or the parameters the existing one was created with."
        )

    # Waiting

    def wait_for_completion(
        self, kind: EntityKind, entity_id: str, *, waiter_delay: float, waiter_max_attempts: int
    ) -> dict[str, Any]:
        """Poll until the entity is COMPLETED and return it; raise AmlError with its Message if it fails."""
        self._wait(kind.waiter, kind, entity_id, {kind.id_key: entity_id}, waiter_delay, waiter_max_attempts)
        return self.get(kind, entity_id)

    def wait_for_endpoint(
        self, ml_model_id: str, *, status: str = "READY", waiter_delay: float, waiter_max_attempts: int
    ) -> None:
        """Poll until the model's real-time endpoint is READY (or NONE: removed); raise AmlError if it fails."""
        self._wait(
            ENDPOINT_WAITERS[status],
            ML_MODEL,
            ml_model_id,
            {"MLModelId": ml_model_id},
            waiter_delay,
            waiter_max_attempts,
        )

    def _wait(
        self,
        waiter_name: str,
        kind: EntityKind,
        entity_id: str,
        args: dict[str, str],
        waiter_delay: float,
        waiter_max_attempts: int,
    ) -> None:
        try:
            wait(
                waiter=self.get_waiter(waiter_name),
                waiter_delay=waiter_delay,  # type: ignore[arg-type]
                waiter_max_attempts=waiter_max_attempts,
                args=args,
                failure_message=f"{kind.describe(entity_id)} failed",
                status_message=f"{kind.describe(entity_id)} is",
                status_args=["Status", "EndpointInfo.EndpointStatus"] if kind is ML_MODEL else ["Status"],
            )
        except WaiterTerminalFailure as error:
            if waiter_name in ENDPOINT_WAITERS.values():
                self.endpoint_status(entity_id)
            else:
                self.check_not_failed(kind, self.get(kind, entity_id))
            raise AmlError(f"{kind.describe(entity_id)} failed: {error}") from error
        except WaiterMaxAttemptsError as error:
            raise AmlError(
                f"{kind.describe(entity_id)} did not finish within {waiter_max_attempts} checks "
                f"{waiter_delay} s apart; raise waiter_max_attempts or waiter_delay to wait longer"
            ) from error

    # Changing

    def update_name(self, kind: EntityKind, entity_id: str, name: str) -> None:
        getattr(self.client, f"update_{kind.snake}")(**{kind.id_key: entity_id, kind.name_key: name})

    def update_score_threshold(self, ml_model_id: str, score_threshold: float) -> None:
        self.client.update_ml_model(MLModelId=ml_model_id, ScoreThreshold=float(score_threshold))

    def delete(self, kind: EntityKind, entity_id: str) -> bool:
        """Delete the entity; False when it was already DELETED (so retries succeed)."""
        if self.status(kind, entity_id) == "DELETED":
            self.log.info("%s is already deleted", kind.describe(entity_id))
            return False
        getattr(self.client, f"delete_{kind.snake}")(**{kind.id_key: entity_id})
        return True

    # Tags

    def add_tags(self, kind: EntityKind, entity_id: str, tags: Mapping[str, str]) -> None:
        tag_list: list[TagTypeDef] = [{"Key": key, "Value": str(value)} for key, value in tags.items()]
        self.client.add_tags(ResourceId=entity_id, ResourceType=kind.name, Tags=tag_list)

    def describe_tags(self, kind: EntityKind, entity_id: str) -> dict[str, str | None]:
        response = self.client.describe_tags(ResourceId=entity_id, ResourceType=kind.name)
        return {tag["Key"]: tag.get("Value") for tag in response.get("Tags", [])}

    def delete_tags(self, kind: EntityKind, entity_id: str, tag_keys: list[str]) -> None:
        self.client.delete_tags(ResourceId=entity_id, ResourceType=kind.name, TagKeys=list(tag_keys))

    # Real-time endpoints and predictions

    def endpoint_info(self, ml_model_id: str) -> dict[str, Any]:
        return self.get(ML_MODEL, ml_model_id).get("EndpointInfo", {})

    def endpoint_status(self, ml_model_id: str) -> str:
        """The model's EndpointStatus; raise AmlError when the model or its endpoint failed."""
        model = self.get(ML_MODEL, ml_model_id)
        self.check_not_failed(ML_MODEL, model)
        status = model.get("EndpointInfo", {}).get("EndpointStatus", "NONE")
        if status == "FAILED":
            raise AmlError(f"The real-time endpoint of Amazon ML model {ml_model_id} ended FAILED")
        return status

    def create_realtime_endpoint(self, ml_model_id: str) -> dict[str, Any]:
        """Create the model's endpoint unless it is already READY or UPDATING; return its EndpointInfo."""
        info = self.endpoint_info(ml_model_id)
        if info.get("EndpointStatus") in ("READY", "UPDATING"):
            self.log.info(
                "Amazon ML model %s already has an endpoint (%s)", ml_model_id, info["EndpointStatus"]
            )
            return info
        return dict(self.client.create_realtime_endpoint(MLModelId=ml_model_id)["RealtimeEndpointInfo"])

    def delete_realtime_endpoint(self, ml_model_id: str) -> dict[str, Any]:
        """Delete the model's endpoint unless it has none; return its EndpointInfo."""
        info = self.endpoint_info(ml_model_id)
        if info.get("EndpointStatus", "NONE") == "NONE":
            self.log.info("Amazon ML model %s has no real-time endpoint", ml_model_id)
            return info
        return dict(self.client.delete_realtime_endpoint(MLModelId=ml_model_id)["RealtimeEndpointInfo"])

    def predict(self, ml_model_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Predict one record at the model's READY endpoint (its EndpointUrl is the PredictEndpoint)."""
        info = self.endpoint_info(ml_model_id)
        if info.get("EndpointStatus") != "READY":
            raise AmlError(
                f"Amazon ML model {ml_model_id} has no READY real-time endpoint "
                f"(status {info.get('EndpointStatus', 'NONE')}); create one first"
            )
        response = self.client.predict(
            MLModelId=ml_model_id,
            Record={key: str(value) for key, value in record.items()},
            PredictEndpoint=info["EndpointUrl"],
        )
        return dict(response["Prediction"])

    # Results

    def evaluation_result(self, evaluation_id: str) -> dict[str, Any]:
        """The evaluation's metric as a small JSON-friendly dict."""
        evaluation = self.get(EVALUATION, evaluation_id)
        properties = evaluation.get("PerformanceMetrics", {}).get("Properties", {})
        metric_name = next((name for name in METRICS if name in properties), None)
        if metric_name is None:
            raise AmlError(f"Amazon ML evaluation {evaluation_id} reports no known metric: {properties}")
        return {
            "evaluation_id": evaluation_id,
            "ml_model_id": evaluation["MLModelId"],
            "metric_name": metric_name,
            "metric_value": float(properties[metric_name]),
            "higher_is_better": METRICS[metric_name],
        }
