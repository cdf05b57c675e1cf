"""The one evaluation metric Amazon ML reports per model type, and its PerformanceMetrics wire form."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from aml_provider.local.learners.sgd import BINARY, MULTICLASS, REGRESSION

METRIC_NAMES = {BINARY: "BinaryAUC", MULTICLASS: "MulticlassAvgFScore", REGRESSION: "RegressionRMSE"}


def binary_auc(actual: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; 0.5 (no better than chance) when the data hold only one class."""
    if np.unique(actual).size < 2:
        return 0.5
    return float(roc_auc_score(actual, scores))


def multiclass_avg_fscore(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 scores over every class seen as actual or predicted."""
    return float(f1_score(actual, predicted, average="macro", zero_division=0))


def regression_rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return math.sqrt(float(mean_squared_error(actual, predicted)))


def performance_metrics(model_type: str, value: float) -> dict[str, dict[str, str]]:
    """GetEvaluation.PerformanceMetrics: the model type's metric as a shortest round-trip decimal string."""
    return {"Properties": {METRIC_NAMES[model_type]: repr(float(value))}}
