"""Real-time prediction: a trained model loaded once, answering one record at a time.

Heavy records (long text takes milliseconds to tokenise) are predicted in a worker process
(`predict_in_worker`), which keeps its own predictors, so the service's event loop never waits for them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
        inputs = {name: value for name, value in record.items() if name in self.inputs}
        outputs = self.trained.model.row_scores(*self.trained.pipeline.record_features(inputs))
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


#: The predictors a heavy-predict worker process has loaded: artifacts directory -> (model file mtime, predictor).
_loaded: dict[Path, tuple[int, Predictor]] = {}
#: Predictors a worker keeps loaded at most (the least recently loaded goes first).
WORKER_PREDICTORS = 8
#: How much lower the CPU priority of the heavy-predict worker is than the service's.
WORKER_NICENESS = 5


def start_worker() -> None:
    """Initializer of a heavy-predict worker process: a lower CPU priority than the event loop's."""
    os.nice(WORKER_NICENESS)


def predict_in_worker(
    model_artifacts: Path, record: dict[str, str], score_threshold: float
) -> dict[str, Any]:
    """`Predictor.predict` in a worker process, loading the model's predictor once (again if retrained)."""
    from aml_provider.local.jobs.training import MODEL_FILE

    version = (model_artifacts / MODEL_FILE).stat().st_mtime_ns
    loaded = _loaded.get(model_artifacts)
    if loaded is None or loaded[0] != version:
        if len(_loaded) >= WORKER_PREDICTORS:
            _loaded.pop(next(iter(_loaded)))
        loaded = _loaded[model_artifacts] = (version, load_predictor(model_artifacts))
    return loaded[1].predict(record, score_threshold)
