"""Operators that rename, delete and tag existing Amazon ML entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from aml_provider.hooks import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    ML_MODEL,
    EntityKind,
    entity_kind,
)
from aml_provider.operators.base import AmlBaseOperator
from aml_provider.utils.documents import as_dict, as_list

if TYPE_CHECKING:
    from airflow.sdk import Context


class AmlEntityOperator(AmlBaseOperator):
    """Base of the operators that act on one existing entity, named by its kind's ID argument."""

    kind: ClassVar[EntityKind]

    @property
    def entity_id(self) -> str:
        return getattr(self, self.kind.id_param)


class AmlUpdateNameOperator(AmlEntityOperator):
    """Rename an entity; returns its ID."""

    def __init__(self, *, name: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context: Context) -> str:
        if self.name is not None:
            self.hook.update_name(self.kind, self.entity_id, self.name)
        return self.entity_id


class AmlUpdateDataSourceOperator(AmlUpdateNameOperator):
    """
    Rename a data source; returns its ID.

    :param data_source_id: the data source. (templated)
    :param data_source_name: its new name. (templated)
    """

    kind = DATA_SOURCE
    template_fields: Sequence[str] = aws_template_fields("data_source_id", "name")

    def __init__(self, *, data_source_id: str, data_source_name: str, **kwargs: Any) -> None:
        super().__init__(name=data_source_name, **kwargs)
        self.data_source_id = data_source_id


class AmlUpdateEvaluationOperator(AmlUpdateNameOperator):
    """
    Rename an evaluation; returns its ID.

    :param evaluation_id: the evaluation. (templated)
    :param evaluation_name: its new name. (templated)
    """

    kind = EVALUATION
    template_fields: Sequence[str] = aws_template_fields("evaluation_id", "name")

    def __init__(self, *, evaluation_id: str, evaluation_name: str, **kwargs: Any) -> None:
        super().__init__(name=evaluation_name, **kwargs)
        self.evaluation_id = evaluation_id


class AmlUpdateBatchPredictionOperator(AmlUpdateNameOperator):
    """
    Rename a batch prediction; returns its ID.

    :param batch_prediction_id: the batch prediction. (templated)
    :param batch_prediction_name: its new name. (templated)
    """

    kind = BATCH_PREDICTION
    template_fields: Sequence[str] = aws_template_fields("batch_prediction_id", "name")

    def __init__(self, *, batch_prediction_id: str, batch_prediction_name: str, **kwargs: Any) -> None:
        super().__init__(name=batch_prediction_name, **kwargs)
        self.batch_prediction_id = batch_prediction_id


class AmlUpdateMLModelOperator(AmlUpdateNameOperator):
    """
    Rename an ML model and/or set its score threshold (BINARY models; the model must be COMPLETED).

    :param ml_model_id: the model. (templated)
    :param ml_model_name: its new name. (templated)
    :param score_threshold: between 0 and 1; records scoring at least this are predicted 1. (templated)
    """

    kind = ML_MODEL
    template_fields: Sequence[str] = aws_template_fields("ml_model_id", "name", "score_threshold")

    def __init__(
        self,
        *,
        ml_model_id: str,
        ml_model_name: str | None = None,
        score_threshold: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        if ml_model_name is None and score_threshold is None:
            raise ValueError("AmlUpdateMLModelOperator needs ml_model_name, score_threshold or both")
        super().__init__(name=ml_model_name, **kwargs)
        self.ml_model_id = ml_model_id
        self.score_threshold = score_threshold

    def execute(self, context: Context) -> str:
        super().execute(context)
        if self.score_threshold is not None:
            self.hook.update_score_threshold(self.ml_model_id, float(self.score_threshold))
        return self.ml_model_id


class AmlDeleteEntityOperator(AmlEntityOperator):
    """Delete an entity (Status becomes DELETED; already deleted is fine); returns its ID."""

    def execute(self, context: Context) -> str:
        self.hook.delete(self.kind, self.entity_id)
        return self.entity_id


class AmlDeleteDataSourceOperator(AmlDeleteEntityOperator):
    """
    Delete a data source (already deleted is fine); returns its ID.

    :param data_source_id: the data source. (templated)
    """

    kind = DATA_SOURCE
    template_fields: Sequence[str] = aws_template_fields("data_source_id")

    def __init__(self, *, data_source_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_source_id = data_source_id


class AmlDeleteMLModelOperator(AmlDeleteEntityOperator):
    """
    Delete an ML model (already deleted is fine); returns its ID.

    :param ml_model_id: the model. (templated)
    """

    kind = ML_MODEL
    template_fields: Sequence[str] = aws_template_fields("ml_model_id")

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id


class AmlDeleteEvaluationOperator(AmlDeleteEntityOperator):
    """
    Delete an evaluation (already deleted is fine); returns its ID.

    :param evaluation_id: the evaluation. (templated)
    """

    kind = EVALUATION
    template_fields: Sequence[str] = aws_template_fields("evaluation_id")

    def __init__(self, *, evaluation_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluation_id = evaluation_id


class AmlDeleteBatchPredictionOperator(AmlDeleteEntityOperator):
    """
    Delete a batch prediction (already deleted is fine); returns its ID.

    :param batch_prediction_id: the batch prediction. (templated)
    """

    kind = BATCH_PREDICTION
    template_fields: Sequence[str] = aws_template_fields("batch_prediction_id")

    def __init__(self, *, batch_prediction_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch_prediction_id = batch_prediction_id


class AmlAddTagsOperator(AmlBaseOperator):
    """
    Add tags to an entity (an existing key gets the new value); returns the entity ID.

    :param resource_type: ``DataSource``, ``MLModel``, ``Evaluation`` or ``BatchPrediction``.
    :param resource_id: the entity. (templated)
    :param tags: key -> value. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("resource_id", "tags")
    template_fields_renderers: ClassVar[dict[str, str]] = {"tags": "json"}

    def __init__(self, *, resource_type: str, resource_id: str, tags: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_type = entity_kind(resource_type).name
        self.resource_id = resource_id
        self.tags = tags

    def execute(self, context: Context) -> str:
        self.hook.add_tags(
            entity_kind(self.resource_type), self.resource_id, as_dict(self.tags, "tags") or {}
        )
        return self.resource_id


class AmlRemoveTagsOperator(AmlBaseOperator):
    """
    Remove tags from an entity (unknown keys are ignored); returns the entity ID.

    :param resource_type: ``DataSource``, ``MLModel``, ``Evaluation`` or ``BatchPrediction``.
    :param resource_id: the entity. (templated)
    :param tag_keys: keys to remove. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("resource_id", "tag_keys")

    def __init__(self, *, resource_type: str, resource_id: str, tag_keys: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_type = entity_kind(resource_type).name
        self.resource_id = resource_id
        self.tag_keys = tag_keys

    def execute(self, context: Context) -> str:
        tag_keys = as_list(self.tag_keys, "tag_keys") or []
        self.hook.delete_tags(entity_kind(self.resource_type), self.resource_id, tag_keys)
        return self.resource_id
