"""The one evaluation metric Amazon ML reports per model type, and its PerformanceMetrics wire form."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import f1_score, mean_squared_error

from aml_provider.local.learners.sgd import BINARY, MULTICLASS, REGRESSION

METRIC_NAMES = {BINARY: "BinaryAUC", MULTICLASS: "MulticlassAvgFScore", REGRESSION: "RegressionRMSE"}


def binary_auc(actual: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; 0.5 (no better than chance) when the data hold only one class."""
    if not has_both_classes(actual):
        return 0.5
    fpr, tpr, _ = roc_points(actual, scores)
    return float(np.trapezoid(tpr, fpr))


def has_both_classes(actual: np.ndarray) -> bool:
    positives = int(np.count_nonzero(actual == 1))
    return 0 < positives < actual.size


def roc_points(actual: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's `roc_curve(actual, scores)` (false and true positive rates, thresholds; collinear
    points dropped), the same numbers computed with a third of its memory: one sort of the scores, the
    labels as booleans, counts as integers. Both classes must be present."""
    order = np.argsort(scores, kind="stable")[::-1]
    positive = (actual == 1)[order].view(np.uint8)
    ordered = scores[order]
    del order
    change = np.empty(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=change[:-1])
    change[-1] = True
    counts = np.int32 if ordered.size < 2**31 else np.int64  # half the memory for every count below
    last = np.flatnonzero(change).astype(counts)  # the last row of each distinct score, best scores first
    del change
    thresholds = ordered[last]
    del ordered
    tps = np.add.reduceat(positive, np.concatenate(([0], last[:-1] + 1)), dtype=counts)
    np.cumsum(tps, out=tps)
    fps = 1 + last - tps
    del last
    if fps.size > 2:
        corner = np.concatenate(([True], (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), [True]))
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.concatenate(([0], fps)).astype(np.float64), np.concatenate(([0], tps)).astype(np.float64)
    thresholds = np.concatenate(([np.inf], thresholds))
    return fps / fps[-1], tps / tps[-1], thresholds


def multiclass_avg_fscore(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 scores over every class seen as actual or predicted."""
    return float(f1_score(actual, predicted, average="macro", zero_division=0))


def regression_rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return math.sqrt(float(mean_squared_error(actual, predicted)))


def performance_metrics(model_type: str, value: float) -> dict[str, dict[str, str]]:
    """GetEvaluation.PerformanceMetrics: the model type's metric as a shortest round-trip decimal string."""
    return {"Properties": {METRIC_NAMES[model_type]: repr(float(value))}}
