"""The full evaluation report (what Amazon ML's console shows): metric, baseline, curves, matrices, alerts."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from aml_provider.local.learners.metrics import (
    METRIC_NAMES,
    has_both_classes,
    multiclass_avg_fscore,
    regression_rmse,
    roc_points,
)
from aml_provider.local.learners.sgd import BINARY, MULTICLASS

#: Cut-offs at which the binary report shows accuracy, precision, recall and counts (a slider's steps).
THRESHOLD_GRID = tuple(round(0.01 * i, 2) for i in range(1, 100))
HISTOGRAM_BINS = 20
MAX_ROC_POINTS = 101
#: Rows of (actual, predicted) a regression report keeps for its predicted-vs-actual plot.
MAX_SCATTER_POINTS = 500


def evaluation_report(
    model_type: str,
    actual: np.ndarray,
    outputs: np.ndarray,
    *,
    classes: list[str],
    score_threshold: float,
    baseline: float | str,
) -> dict[str, Any]:
    """Report on scored evaluation rows.

    `actual`: 0/1 (BINARY), class labels (MULTICLASS) or values (REGRESSION); `outputs`: the score of class 1,
    the index in `classes` of the predicted class, or the predicted value; `baseline`: the training data's
    most frequent class (MULTICLASS) or target mean (REGRESSION).
    """
    if model_type == BINARY:
        body = binary_report(actual, outputs, score_threshold)
    elif model_type == MULTICLASS:
        body = multiclass_report(actual, outputs, classes, str(baseline))
    else:
        body = regression_report(actual, outputs, float(baseline))
    return {"modelType": model_type, "metricName": METRIC_NAMES[model_type], **body}


def binary_report(actual: np.ndarray, scores: np.ndarray, score_threshold: float) -> dict[str, Any]:
    """AUC, ROC points, score histograms per actual class and the effect of cut-offs."""
    actual = actual.astype(np.int8)
    report: dict[str, Any] = {"metric": 0.5, "baseline": 0.5}
    if has_both_classes(actual):
        fpr, tpr, cut = roc_points(actual, scores)
        report["metric"] = float(np.trapezoid(tpr, fpr))
        keep = np.unique(np.linspace(0, fpr.size - 1, min(fpr.size, MAX_ROC_POINTS)).round().astype(int))
        report["rocCurve"] = [
            {
                "falsePositiveRate": float(fpr[i]),
                "truePositiveRate": float(tpr[i]),
                "threshold": _threshold(cut[i]),
            }
            for i in keep
        ]
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    report["scoreHistograms"] = {
        "edges": edges.tolist(),
        "actual0": np.histogram(scores[actual == 0], bins=edges)[0].tolist(),
        "actual1": np.histogram(scores[actual == 1], bins=edges)[0].tolist(),
    }
    report["atScoreThreshold"] = threshold_effect(actual, scores, score_threshold)
    report["thresholds"] = [threshold_effect(actual, scores, cut) for cut in THRESHOLD_GRID]
    return report


def threshold_effect(actual: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, false-positive rate and TP/TN/FP/FN when score >= threshold means 1."""
    positive = scores >= threshold
    truth = actual == 1
    tp = int(np.count_nonzero(positive & truth))
    tn = int(np.count_nonzero(~positive & ~truth))
    fp = int(np.count_nonzero(positive & ~truth))
    fn = int(np.count_nonzero(~positive & truth))
    return {
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "falsePositiveRate": _ratio(fp, fp + tn),
        "truePositives": tp,
        "trueNegatives": tn,
        "falsePositives": fp,
        "falseNegatives": fn,
    }


def multiclass_report(
    actual: np.ndarray, predicted_index: np.ndarray, classes: list[str], most_frequent: str
) -> dict[str, Any]:
    """Macro F1, its always-the-most-frequent-class baseline, the confusion matrix and per-class figures."""
    predicted = np.asarray(classes, dtype=object)[predicted_index.astype(np.intp)]
    actual = actual.astype(object)
    labels = list(classes) + sorted(set(actual.tolist()) - set(classes))
    matrix = confusion_matrix(actual, predicted, labels=labels)
    precision, recall, per_class, _ = precision_recall_fscore_support(
        actual, predicted, labels=labels, zero_division=0
    )
    baseline = multiclass_avg_fscore(actual, np.full(actual.size, most_frequent, dtype=object))
    return {
        "metric": multiclass_avg_fscore(actual, predicted),
        "baseline": baseline,
        "baselineClass": most_frequent,
        "classes": [
            {
                "label": label,
                "f1": float(per_class[i]),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "trueCount": int(matrix[i].sum()),
                "predictedCount": int(matrix[:, i].sum()),
            }
            for i, label in enumerate(labels)
        ],
        "confusionMatrix": {"labels": labels, "counts": matrix.tolist()},
    }


def regression_report(actual: np.ndarray, predicted: np.ndarray, training_mean: float) -> dict[str, Any]:
    """RMSE, the predict-the-training-mean baseline, the histogram of residuals (actual - predicted) and
    up to MAX_SCATTER_POINTS evenly spaced (actual, predicted) rows."""
    residuals = actual - predicted
    counts, edges = (
        np.histogram(residuals, bins=HISTOGRAM_BINS) if residuals.size else (np.zeros(0), np.zeros(0))
    )
    return {
        "metric": regression_rmse(actual, predicted) if actual.size else float("nan"),
        "baseline": regression_rmse(actual, np.full(actual.size, training_mean)) if actual.size else None,
        "meanResidual": float(residuals.mean()) if residuals.size else None,
        "residualHistogram": {"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
        "predictedVsActual": _scatter_sample(actual, predicted),
    }


def _scatter_sample(actual: np.ndarray, predicted: np.ndarray) -> dict[str, list[float]]:
    rows = np.unique(np.linspace(0, actual.size - 1, min(actual.size, MAX_SCATTER_POINTS)).astype(int))
    return {
        "actual": [float(f"{v:.6g}") for v in actual[rows]],
        "predicted": [float(f"{v:.6g}") for v in predicted[rows]],
    }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _threshold(value: float) -> float:
    """ROC cut-offs start above every score (inf); report that one as 1."""
    return float(min(value, 1.0))
