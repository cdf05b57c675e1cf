"""Real-time prediction: a trained model loaded once, answering one record at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aml_provider.local.jobs.training import TrainedModel, load_trained_model
from aml_provider.local.learners import BINARY, MULTICLASS


class Predictor:
    """Turns a Predict request's Record into the `Prediction` object of the response."""

    def __init__(self, trained: TrainedModel) -> None:
        self.trained = trained
        self.model_type = trained.model_type
        self.inputs = set(trained.schema.names)
        self.details = {"PredictiveModelType": trained.model_type, "Algorithm": "SGD"}

    def predict(self, record: dict[str, str], score_threshold: float) -> dict[str, Any]:
        """BINARY: label by `score >= score_threshold`; MULTICLASS: arg-max class; REGRESSION: value."""
        columns = {
            name: np.array([value], dtype=object) for name, value in record.items() if name in self.inputs
        }
        outputs = self.trained.model.scores(self.trained.pipeline.transform(columns))
        if self.model_type == BINARY:
            score = float(outputs[0])
            label = "1" if score >= score_threshold else "0"
            return {"predictedLabel": label, "predictedScores": {label: score}, "details": dict(self.details)}
        if self.model_type == MULTICLASS:
            scores = outputs[0]
            classes = self.trained.classes
            return {
                "predictedLabel": classes[int(scores.argmax())],
                "predictedScores": {label: float(p) for label, p in zip(classes, scores, strict=True)},
                "details": dict(self.details),
            }
        return {"predictedValue": float(outputs[0]), "details": dict(self.details)}


def load_predictor(model_artifacts: Path) -> Predictor:
    """The predictor of the model whose training job wrote `model_artifacts`."""
    return Predictor(load_trained_model(model_artifacts))
