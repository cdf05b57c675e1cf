"""Operators for Amazon ML models, evaluations, batch predictions, real-time endpoints and Predict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from aml_provider.hooks import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    ML_MODEL,
)
from aml_provider.links.aml import (
    AmlBatchPredictionLink,
    AmlEvaluationLink,
    AmlMLModelLink,
)
from aml_provider.operators.base import AmlBaseOperator, AmlCreateEntityOperator, AmlWaitingOperator
from aml_provider.triggers.aml import (
    AmlBatchPredictionCompletedTrigger,
    AmlEvaluationCompletedTrigger,
    AmlMLModelCompletedTrigger,
    AmlRealtimeEndpointDeletedTrigger,
    AmlRealtimeEndpointReadyTrigger,
)
from aml_provider.utils.documents import as_dict, json_document
from aml_provider.utils.lineage import s3_lineage

if TYPE_CHECKING:
    from airflow.sdk import Context


class AmlCreateMLModelOperator(AmlCreateEntityOperator):
    """
    Train an ML model on a data source (computed with statistics).

    :param ml_model_type: ``BINARY``, ``MULTICLASS`` or ``REGRESSION``. (templated)
    :param training_data_source_id: the training data source. (templated)
    :param recipe: the recipe as a dict, JSON text or a JSON file path; Amazon ML's suggested recipe
        when neither it nor ``recipe_uri`` is given. (templated)
    :param recipe_uri: S3 location of the recipe. (templated)
    :param parameters: training parameters such as ``{"sgd.maxPasses": 10}``. (templated)
    :param ml_model_id: the ID; derived from the task run when not given. (templated)
    :param ml_model_name: a display name. (templated)
    """

    kind = ML_MODEL
    trigger_class = AmlMLModelCompletedTrigger
    link = AmlMLModelLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "ml_model_id",
        "ml_model_name",
        "ml_model_type",
        "training_data_source_id",
        "recipe",
        "recipe_uri",
        "parameters",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"recipe": "json", "parameters": "json"}

    def __init__(
        self,
        *,
        ml_model_type: str,
        training_data_source_id: str,
        recipe: dict[str, Any] | str | None = None,
        recipe_uri: str | None = None,
        parameters: dict[str, Any] | None = None,
        ml_model_id: str | None = None,
        ml_model_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_type = ml_model_type
        self.training_data_source_id = training_data_source_id
        self.recipe = recipe
        self.recipe_uri = recipe_uri
        self.parameters = parameters
        self.ml_model_id = ml_model_id
        self.ml_model_name = ml_model_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_ml_model(
            entity_id,
            ml_model_type=self.ml_model_type,
            training_data_source_id=self.training_data_source_id,
            recipe=json_document(self.recipe, "recipe", self.document_dir()),
            recipe_uri=self.recipe_uri,
            parameters=as_dict(self.parameters, "parameters"),
            ml_model_name=self.ml_model_name,
        )


class AmlCreateEvaluationOperator(AmlCreateEntityOperator):
    """
    Evaluate an ML model on a data source.

    Returns ``{"evaluation_id", "ml_model_id", "metric_name", "metric_value", "higher_is_better"}``
    when it waits (BinaryAUC, MulticlassAvgFScore or RegressionRMSE), else the evaluation ID.

    :param ml_model_id: the model. (templated)
    :param evaluation_data_source_id: the data to evaluate on. (templated)
    :param evaluation_id: the ID; derived from the task run when not given. (templated)
    :param evaluation_name: a display name. (templated)
    """

    kind = EVALUATION
    trigger_class = AmlEvaluationCompletedTrigger
    link = AmlEvaluationLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "evaluation_id", "evaluation_name", "ml_model_id", "evaluation_data_source_id"
    )

    def __init__(
        self,
        *,
        ml_model_id: str,
        evaluation_data_source_id: str,
        evaluation_id: str | None = None,
        evaluation_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.evaluation_data_source_id = evaluation_data_source_id
        self.evaluation_id = evaluation_id
        self.evaluation_name = evaluation_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_evaluation(
            entity_id,
            ml_model_id=self.ml_model_id,
            evaluation_data_source_id=self.evaluation_data_source_id,
            evaluation_name=self.evaluation_name,
        )

    def link_arguments(self) -> dict[str, str]:
        return {"ml_model_id": self.ml_model_id}

    def result(self, entity_id: str) -> Any:
        return self.hook.evaluation_result(entity_id) if self.wait_for_completion else entity_id


class AmlCreateBatchPredictionOperator(AmlCreateEntityOperator):
    """
    Predict every record of a data source; results land under ``output_uri``.

    :param ml_model_id: the model. (templated)
    :param batch_prediction_data_source_id: the records to predict. (templated)
    :param output_uri: S3 prefix for the results. (templated)
    :param batch_prediction_id: the ID; derived from the task run when not given. (templated)
    :param batch_prediction_name: a display name. (templated)
    """

    kind = BATCH_PREDICTION
    trigger_class = AmlBatchPredictionCompletedTrigger
    link = AmlBatchPredictionLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "batch_prediction_id",
        "batch_prediction_name",
        "ml_model_id",
        "batch_prediction_data_source_id",
        "output_uri",
    )

    def __init__(
        self,
        *,
        ml_model_id: str,
        batch_prediction_data_source_id: str,
        output_uri: str,
        batch_prediction_id: str | None = None,
        batch_prediction_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.batch_prediction_data_source_id = batch_prediction_data_source_id
        self.output_uri = output_uri
        self.batch_prediction_id = batch_prediction_id
        self.batch_prediction_name = batch_prediction_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_batch_prediction(
            entity_id,
            ml_model_id=self.ml_model_id,
            batch_prediction_data_source_id=self.batch_prediction_data_source_id,
            output_uri=self.output_uri,
            batch_prediction_name=self.batch_prediction_name,
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the input data source's S3 data -> ``output_uri``; None without OpenLineage."""
        if not self.entity_id:
            return s3_lineage(inputs=[], outputs=[])
        batch = self.hook.get(BATCH_PREDICTION, self.entity_id)
        source = self.hook.get(DATA_SOURCE, batch["BatchPredictionDataSourceId"])
        location = source.get("DataLocationS3")
        return s3_lineage(inputs=[location] if location else [], outputs=[batch["OutputUri"]])


class AmlRealtimeEndpointOperator(AmlWaitingOperator):
    """
    Base of the operators that mount or remove a model's real-time endpoint and wait for the change.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("ml_model_id")
    operator_extra_links = (AmlMLModelLink(),)
    #: The EndpointStatus the change ends in.
    target_status: ClassVar[str]

    def __init__(
        self, *, ml_model_id: str, waiter_delay: float = 10, waiter_max_attempts: int = 60, **kwargs: Any
    ):
        super().__init__(waiter_delay=waiter_delay, waiter_max_attempts=waiter_max_attempts, **kwargs)
        self.ml_model_id = ml_model_id

    def execute(self, context: Context) -> Any:
        self.change(self.ml_model_id)
        url = AmlMLModelLink.persist_entity(context, self, self.hook, self.ml_model_id)
        self.log.info(
            "Real-time endpoint of Amazon ML model %s going to %s: %s",
            self.ml_model_id,
            self.target_status,
            url,
        )
        return self.finish(self.ml_model_id)

    def change(self, ml_model_id: str) -> None:
        """Ask Amazon ML for the change (AmlHook's endpoint methods skip what is already done)."""
        raise NotImplementedError

    def is_done(self, entity_id: str) -> bool:
        return self.hook.check_when_available(
            f"the endpoint of Amazon ML model {entity_id}",
            lambda: self.hook.endpoint_status(entity_id) == self.target_status,
        )

    def wait(self, entity_id: str) -> None:
        self.hook.wait_for_endpoint(
            entity_id,
            status=self.target_status,
            waiter_delay=self.waiter_delay,
            waiter_max_attempts=self.waiter_max_attempts,
        )


class AmlCreateRealtimeEndpointOperator(AmlRealtimeEndpointOperator):
    """
    Create a model's real-time endpoint (reusing one that exists) and wait until it is READY.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    target_status = "READY"
    trigger_class = AmlRealtimeEndpointReadyTrigger

    def change(self, ml_model_id: str) -> None:
        self.hook.create_realtime_endpoint(ml_model_id)


class AmlDeleteRealtimeEndpointOperator(AmlRealtimeEndpointOperator):
    """
    Delete a model's real-time endpoint (nothing to do if it has none) and wait until it is gone.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    target_status = "NONE"
    trigger_class = AmlRealtimeEndpointDeletedTrigger

    def change(self, ml_model_id: str) -> None:
        self.hook.delete_realtime_endpoint(ml_model_id)

    def is_done(self, entity_id: str) -> bool:
        """Gone is gone, even when the model itself has failed or was deleted."""
        return self.hook.check_when_available(
            f"the endpoint of Amazon ML model {entity_id}",
            lambda: self.hook.endpoint_info(entity_id).get("EndpointStatus", "NONE") == "NONE",
        )


class AmlPredictOperator(AmlBaseOperator):
    """
    Predict one record at a model's READY real-time endpoint; return Amazon ML's ``Prediction``.

    :param ml_model_id: the model. (templated)
    :param record: attribute name -> value (values are sent as strings). (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("ml_model_id", "record")
    template_fields_renderers: ClassVar[dict[str, str]] = {"record": "json"}

    def __init__(self, *, ml_model_id: str, record: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.record = record

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.predict(self.ml_model_id, as_dict(self.record, "record") or {})
