"""Extra links to an Amazon ML entity: the AWS console, or the local service's own page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink

from aml_provider.hooks.kinds import entity_kind

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from aml_provider.hooks.aml import AmlHook

_AML_CONSOLE = BASE_AWS_CONSOLE_LINK + "/machinelearning/home?region={region_name}#/"


class AmlLink(BaseAwsLink):
    """Link to one entity; `format_str` is the AWS console page, `kind` names the local service's page."""

    kind: ClassVar[str]

    def format_link(self, **kwargs: Any) -> str:
        local_url = kwargs.get("local_service_url")
        if local_url:
            return f"{local_url}/console/{self.kind}/{quote(kwargs['entity_id'], safe='')}"
        return super().format_link(**kwargs)

    @classmethod
    def persist_entity(
        cls, context: Context, operator: BaseOperator, hook: AmlHook, entity_id: str, **kwargs: str
    ) -> str:
        """Save the link's parameters in XCom (before any deferral) and return the URL for the task log."""
        params = {
            "local_service_url": hook.public_service_url(entity_kind(cls.kind), entity_id),
            "entity_id": entity_id,
            **{key: quote(value, safe="") for key, value in kwargs.items()},
        }
        cls.persist(
            context=context,
            operator=operator,
            region_name=hook.conn_region_name,
            aws_partition=hook.conn_partition,
            **params,
        )
        return cls().format_link(
            region_name=hook.conn_region_name, aws_domain=cls.get_aws_domain(hook.conn_partition), **params
        )


class AmlDataSourceLink(AmlLink):
    """Link to a data source's page."""

    name = "Amazon ML Data Source"
    key = "aml_data_source"
    kind = "DataSource"
    format_str = _AML_CONSOLE + "insights/{entity_id}/summary"


class AmlMLModelLink(AmlLink):
    """Link to a model's page."""

    name = "Amazon ML Model"
    key = "aml_ml_model"
    kind = "MLModel"
    format_str = _AML_CONSOLE + "predictor-insight/{entity_id}?tabId=summary"


class AmlEvaluationLink(AmlLink):
    """Link to an evaluation's page (in the console, under its model)."""

    name = "Amazon ML Evaluation"
    key = "aml_evaluation"
    kind = "Evaluation"
    format_str = (
        _AML_CONSOLE
        + "predictor-insight/{ml_model_id}?tabId=evaluations&evaluationId={entity_id}&viewId=summary"
    )


class AmlBatchPredictionLink(AmlLink):
    """Link to a batch prediction's page."""

    name = "Amazon ML Batch Prediction"
    key = "aml_batch_prediction"
    kind = "BatchPrediction"
    format_str = _AML_CONSOLE + "batch-prediction-insight/{entity_id}"
