"""CreateEvaluation: measure a model on a datasource."""

from __future__ import annotations

from typing import Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.kinds import DATA_SOURCE, EVALUATION, ML_MODEL
from aml_provider.local.backend.services import Services


def create_evaluation(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        model = entities.reference(services, ML_MODEL, request["MLModelId"], "MLModelId")
        data_source = entities.reference(
            services, DATA_SOURCE, request["EvaluationDataSourceId"], "EvaluationDataSourceId"
        )
        document = entities.new_document(
            EVALUATION,
            request,
            caller_arn,
            MLModelId=model.id,
            EvaluationDataSourceId=data_source.id,
            InputDataLocationS3=data_source.document.get("DataLocationS3"),
        )
        return document, {}

    return entities.create(services, EVALUATION, request, build)
