"""The four entity kinds and the request members that name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # "DataSource": the ResourceType, the log/console path part, the operation suffix
    id_member: str  # "DataSourceId"
    name_member: str  # "DataSourceName" in Create/Update requests


DATA_SOURCE = Kind("DataSource", "DataSourceId", "DataSourceName")
ML_MODEL = Kind("MLModel", "MLModelId", "MLModelName")
EVALUATION = Kind("Evaluation", "EvaluationId", "EvaluationName")
BATCH_PREDICTION = Kind("BatchPrediction", "BatchPredictionId", "BatchPredictionName")

KINDS = {kind.name: kind for kind in (DATA_SOURCE, ML_MODEL, EVALUATION, BATCH_PREDICTION)}
