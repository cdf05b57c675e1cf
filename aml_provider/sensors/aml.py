"""Sensors that wait for Amazon ML entities to finish and for real-time endpoints to be READY."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from aml_provider.hooks.aml import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    ML_MODEL,
    AmlError,
    AmlHook,
    EntityKind,
)
from aml_provider.triggers.aml import (
    AmlBatchPredictionCompletedTrigger,
    AmlDataSourceCompletedTrigger,
    AmlEntityCompletedTrigger,
    AmlEvaluationCompletedTrigger,
    AmlMLModelCompletedTrigger,
    AmlRealtimeEndpointReadyTrigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class AmlBaseSensor(AwsBaseSensor[AmlHook]):
    """
    Wait for one Amazon ML entity; fail with Amazon ML's Message and LogUri when it fails.

    :param deferrable: wait in the triggerer instead of a worker slot (needs aiobotocore).
    :param max_retries: status checks the trigger makes in deferrable mode
        (default: ``timeout / poke_interval``).
    :param aws_conn_id: The Airflow connection used for AWS credentials (``aws_default``); it may point
        at the local Amazon ML service. (templated)
    :param region_name: AWS region; None uses the connection's or boto3's default. (templated)
    :param verify: Whether to verify SSL certificates, or the path of a CA bundle. (templated)
    :param botocore_config: botocore client configuration as a dict. (templated)
    """

    aws_hook_class = AmlHook
    ui_color = "#ffd28a"
    kind: ClassVar[EntityKind]
    trigger_class: ClassVar[type[AmlEntityCompletedTrigger]]

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.max_retries = max_retries

    @property
    def entity_id(self) -> str:
        return getattr(self, self.kind.id_param)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        attempts = self.max_retries or max(1, math.ceil(self.timeout / self.poke_interval))
        trigger = self.trigger_class.for_task(
            self, self.entity_id, waiter_delay=self.poke_interval, waiter_max_attempts=attempts
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=self.timeout))
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Check the entity once more on the worker; the trigger's verdict alone is not trusted."""
        event = validate_execute_complete_event(event)
        if not self.poke(context):
            raise AmlError(event.get("message") or f"{self.kind.describe(self.entity_id)} did not finish")

    def poke(self, context: Context) -> bool:
        return self.hook.completed(self.kind, self.entity_id)


class AmlDataSourceCompletedSensor(AmlBaseSensor):
    """
    Wait until a data source is COMPLETED; fail when it ends FAILED or DELETED.

    :param data_source_id: the data source. (templated)
    Other arguments as for :class:`AmlBaseSensor`.
    """

    kind = DATA_SOURCE
    trigger_class = AmlDataSourceCompletedTrigger
    template_fields: Sequence[str] = aws_template_fields("data_source_id")

    def __init__(self, *, data_source_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_source_id = data_source_id


class AmlMLModelCompletedSensor(AmlBaseSensor):
    """
    Wait until an ML model is COMPLETED (trained); fail when it ends FAILED or DELETED.

    :param ml_model_id: the model. (templated)
    Other arguments as for :class:`AmlBaseSensor`.
    """

    kind = ML_MODEL
    trigger_class = AmlMLModelCompletedTrigger
    template_fields: Sequence[str] = aws_template_fields("ml_model_id")

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id


class AmlEvaluationCompletedSensor(AmlBaseSensor):
    """
    Wait until an evaluation is COMPLETED; fail when it ends FAILED or DELETED.

    :param evaluation_id: the evaluation. (templated)
    Other arguments as for :class:`AmlBaseSensor`.
    """

    kind = EVALUATION
    trigger_class = AmlEvaluationCompletedTrigger
    template_fields: Sequence[str] = aws_template_fields("evaluation_id")

    def __init__(self, *, evaluation_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluation_id = evaluation_id


class AmlBatchPredictionCompletedSensor(AmlBaseSensor):
    """
    Wait until a batch prediction is COMPLETED; fail when it ends FAILED or DELETED.

    :param batch_prediction_id: the batch prediction. (templated)
    Other arguments as for :class:`AmlBaseSensor`.
    """

    kind = BATCH_PREDICTION
    trigger_class = AmlBatchPredictionCompletedTrigger
    template_fields: Sequence[str] = aws_template_fields("batch_prediction_id")

    def __init__(self, *, batch_prediction_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch_prediction_id = batch_prediction_id


class AmlRealtimeEndpointReadySensor(AmlBaseSensor):
    """
    Wait until a model's real-time endpoint is READY, before real-time predictions.

    :param ml_model_id: the model. (templated)
    Other arguments as for :class:`AmlBaseSensor`.
    """

    kind = ML_MODEL
    trigger_class = AmlRealtimeEndpointReadyTrigger
    template_fields: Sequence[str] = aws_template_fields("ml_model_id")

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id

    def poke(self, context: Context) -> bool:
        def ready() -> bool:
            endpoint_status = self.hook.endpoint_status(self.ml_model_id)
            self.log.info("Real-time endpoint of Amazon ML model %s is %s", self.ml_model_id, endpoint_status)
            return endpoint_status == "READY"

        return self.hook.check_when_available(f"the endpoint of Amazon ML model {self.ml_model_id}", ready)
