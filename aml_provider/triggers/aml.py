"""Triggers that wait, in the triggerer, for Amazon ML entities to finish and endpoints to be READY."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger

from aml_provider.hooks.aml import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    ENDPOINT_WAITERS,
    EVALUATION,
    ML_MODEL,
    AmlHook,
    EntityKind,
)


class AmlEntityCompletedTrigger(AwsBaseWaiterTrigger):
    """
    Wait until an entity is COMPLETED; yield ``{"status": "error", "message": ...}`` if it fails.

    The message carries Amazon ML's Status, Message and LogUri. Checks that meet a connection error,
    throttling or a 5xx answer are retried within ``waiter_max_attempts`` (AmlHook's waiters do that).
    Subclasses fix the kind and name the ID argument after it, so that ``serialize()`` round-trips
    through their constructor.

    :param entity_id: the entity (subclasses take it as ``data_source_id``, ``ml_model_id``, ...).
    :param waiter_delay: seconds between status checks.
    :param waiter_max_attempts: status checks before giving up.
    :param aws_conn_id: the Airflow ``aws`` connection.
    :param region_name: AWS region (serialized only when set).
    :param verify: SSL verification, or a CA bundle path (serialized only when set).
    :param botocore_config: botocore client configuration (serialized only when set).
    """

    aws_hook_class = AmlHook
    kind: ClassVar[EntityKind]
    #: The waiter in waiters/machinelearning.json; by default the kind's ``<kind>_completed``.
    waiter: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        entity_id: str,
        waiter_delay: int = 30,
        waiter_max_attempts: int = 120,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict | None = None,
    ) -> None:
        kind = self.kind
        super().__init__(
            serialized_fields={kind.id_param: entity_id},
            waiter_name=self.waiter or kind.waiter,
            waiter_args={kind.id_key: entity_id},
            failure_message=f"{kind.describe(entity_id)} failed",
            status_message=f"{kind.describe(entity_id)} is",
            status_queries=["Status", "Message", "LogUri"],
            return_key=kind.id_param,
            return_value=entity_id,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
        )

    @classmethod
    def for_entity(cls, entity_id: str, **kwargs: Any) -> AmlEntityCompletedTrigger:
        """Build the trigger from a plain entity ID (callers need not know the ID argument's name)."""
        arguments: dict[str, Any] = {cls.kind.id_param: entity_id, **kwargs}
        return cls(**arguments)

    @classmethod
    def for_task(
        cls, task: Any, entity_id: str, *, waiter_delay: float, waiter_max_attempts: int
    ) -> AmlEntityCompletedTrigger:
        """Build the trigger for an operator or sensor, with its connection, region, verify and botocore_config."""
        return cls.for_entity(
            entity_id,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            aws_conn_id=task.aws_conn_id,
            region_name=task.region_name,
            verify=task.verify,
            botocore_config=task.botocore_config,
        )

    @classmethod
    def entity_id_of(cls, event: dict[str, Any]) -> str:
        """The entity ID in this trigger's events."""
        return event[cls.kind.id_param]


class AmlDataSourceCompletedTrigger(AmlEntityCompletedTrigger):
    """Wait until a data source is COMPLETED."""

    kind = DATA_SOURCE

    def __init__(self, *, data_source_id: str, **kwargs: Any) -> None:
        super().__init__(entity_id=data_source_id, **kwargs)


class AmlMLModelCompletedTrigger(AmlEntityCompletedTrigger):
    """Wait until an ML model is COMPLETED (trained)."""

    kind = ML_MODEL

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(entity_id=ml_model_id, **kwargs)


class AmlEvaluationCompletedTrigger(AmlEntityCompletedTrigger):
    """Wait until an evaluation is COMPLETED."""

    kind = EVALUATION

    def __init__(self, *, evaluation_id: str, **kwargs: Any) -> None:
        super().__init__(entity_id=evaluation_id, **kwargs)


class AmlBatchPredictionCompletedTrigger(AmlEntityCompletedTrigger):
    """Wait until a batch prediction is COMPLETED."""

    kind = BATCH_PREDICTION

    def __init__(self, *, batch_prediction_id: str, **kwargs: Any) -> None:
        super().__init__(entity_id=batch_prediction_id, **kwargs)


class AmlRealtimeEndpointTrigger(AmlEntityCompletedTrigger):
    """Base of the triggers that wait for a model's real-time endpoint to reach an EndpointStatus."""

    kind = ML_MODEL

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(entity_id=ml_model_id, **kwargs)
        self.status_queries = ["Status", "EndpointInfo.EndpointStatus", "Message", "LogUri"]
        self.failure_message = f"The real-time endpoint of Amazon ML model {ml_model_id} failed"


class AmlRealtimeEndpointReadyTrigger(AmlRealtimeEndpointTrigger):
    """Wait until a model's real-time endpoint is READY; fail when it (or the model) fails."""

    waiter = ENDPOINT_WAITERS["READY"]


class AmlRealtimeEndpointDeletedTrigger(AmlRealtimeEndpointTrigger):
    """Wait until a model's real-time endpoint is gone (EndpointStatus NONE); fail when it fails."""

    waiter = ENDPOINT_WAITERS["NONE"]
