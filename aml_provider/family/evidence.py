"""Paired evidence for a challenger against a champion, from their batch predictions over the same rows.

`compare_models` joins each model's batch prediction results to the labels of the evaluation data (all
read from S3), computes Amazon ML's metric for each model with a percentile bootstrap interval, Amazon
ML's baseline, and the paired improvement of the challenger (challenger minus champion for AUC and
macro-F1, champion minus challenger for RMSE: positive means the challenger is better) over the same
resampled rows. Only rows that have a label and a score from every model are compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, mean_squared_error, roc_auc_score, roc_curve

from aml_provider.family import bootstrap
from aml_provider.family.tables import (
    FamilyDataError,
    Records,
    Schema,
    list_data_files,
    parse_schema,
    read_manifest,
    read_records,
    read_results,
    target_values,
)

METRIC_NAMES = {"BINARY": "BinaryAUC", "MULTICLASS": "MulticlassAvgFScore", "REGRESSION": "RegressionRMSE"}
ROLES = ("challenger", "champion")
MAX_ROC_POINTS = 101
HISTOGRAM_BINS = 20


@dataclass
class ModelEvidence:
    """One model's metric on the compared rows, its interval and what the report draws."""

    role: str
    ml_model_id: str
    batch_prediction_id: str
    output_uri: str
    metric: float
    interval: tuple[float, float]
    scored_rows: int
    roc: list[dict[str, float]] | None = None  # BINARY: falsePositiveRate, truePositiveRate, threshold
    confusion: dict[str, Any] | None = None  # MULTICLASS: labels (actual rows, predicted columns), counts
    residuals: dict[str, list[float]] | None = None  # REGRESSION: edges, counts of actual - predicted


@dataclass
class Evidence:
    """The comparison: metric, baseline, each model's evidence, the paired improvement and row counts."""

    model_type: str
    metric_name: str
    higher_is_better: bool
    confidence: float
    n_boot: int
    seed: int
    evaluation_data_uri: str
    baseline: float
    baseline_description: str
    rows: dict[str, int]  # records (data lines), labelled, compared
    models: list[ModelEvidence] = field(default_factory=list)
    improvement: dict[str, float] | None = None  # estimate, low, high; positive = challenger better

    def model(self, role: str) -> ModelEvidence | None:
        return next((m for m in self.models if m.role == role), None)

    @property
    def challenger(self) -> ModelEvidence:
        found = self.model("challenger")
        assert found is not None
        return found

    @property
    def champion(self) -> ModelEvidence | None:
        return self.model("champion")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Evidence:
        """The Evidence that `to_dict` gave (e.g. after a trip through JSON or XCom)."""
        models = [ModelEvidence(**{**m, "interval": tuple(m["interval"])}) for m in document["models"]]
        return cls(**{**document, "models": models})


@dataclass
class _Scored:
    """Labels and every model's output on the same rows (NaN / None where missing)."""

    labels: pd.Series
    outputs: list[pd.Series]  # score (BINARY), predicted class (MULTICLASS) or value (REGRESSION)
    records: int

    @property
    def compared(self) -> pd.Series:
        """Rows with a label and an output of every model."""
        return self.labels.notna() & np.logical_and.reduce([o.notna() for o in self.outputs])

    @property
    def rows(self) -> dict[str, int]:
        labelled = int(self.labels.notna().sum())
        return {"records": self.records, "labelled": labelled, "compared": int(self.compared.sum())}

    def arrays(self, model_type: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """Labels and outputs of the compared rows (float64, or labels for MULTICLASS)."""
        compared = self.compared
        dtype = object if model_type == "MULTICLASS" else np.float64
        return self.labels[compared].to_numpy(dtype), [o[compared].to_numpy(dtype) for o in self.outputs]


def compare_models(
    s3: Any,
    *,
    model_type: str,
    evaluation_data_uri: str,
    schema: dict[str, Any] | str,
    contestants: list[dict[str, str]],
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Evidence:
    """Evidence for the challenger (and the champion, when there is one) from their batch predictions."""
    parsed = _check_arguments(model_type, schema, contestants, confidence, n_boot)
    scored = _score_rows(s3, model_type, evaluation_data_uri, parsed, contestants)
    if not scored.compared.any():
        raise FamilyDataError(
            f"No row of {evaluation_data_uri} has both a valid '{parsed.target}' and a prediction of every "
            "model: check the target values and that the batch predictions ran on this data."
        )
    actual, outputs = scored.arrays(model_type)
    baseline, description = baseline_metric(model_type, actual)
    evidence = Evidence(
        model_type=model_type,
        metric_name=METRIC_NAMES[model_type],
        higher_is_better=model_type != "REGRESSION",
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        evaluation_data_uri=evaluation_data_uri,
        baseline=baseline,
        baseline_description=description,
        rows=scored.rows,
    )
    _add_models(evidence, actual, outputs, contestants)
    for model, output in zip(evidence.models, scored.outputs, strict=True):
        model.scored_rows = int((output.notna() & scored.labels.notna()).sum())
    return evidence


def _check_arguments(
    model_type: str,
    schema: dict[str, Any] | str,
    contestants: list[dict[str, str]],
    confidence: float,
    n_boot: int,
) -> Schema:
    if model_type not in METRIC_NAMES:
        raise FamilyDataError(f"model_type '{model_type}' is not one of {', '.join(METRIC_NAMES)}.")
    if not 0.5 <= confidence < 1:
        raise FamilyDataError(f"confidence {confidence} must be at least 0.5 and below 1 (e.g. 0.95).")
    if n_boot < 100:
        raise FamilyDataError(f"n_boot {n_boot} is too few resamples for an interval: use at least 100.")
    roles = [c.get("role") for c in contestants]
    if roles.count("challenger") != 1 or roles.count("champion") > 1 or set(roles) - set(ROLES):
        raise FamilyDataError(
            f"contestants have roles {roles}: give one 'challenger' and at most one 'champion'."
        )
    for contestant in contestants:
        missing = [
            key for key in ("ml_model_id", "batch_prediction_id", "output_uri") if not contestant.get(key)
        ]
        if missing:
            raise FamilyDataError(f"contestant '{contestant['role']}' lacks {', '.join(missing)}.")
    parsed = parse_schema(schema)
    if parsed.target is None:
        raise FamilyDataError("schema has no targetAttributeName: name the column that holds the labels.")
    return parsed


def _score_rows(
    s3: Any, model_type: str, uri: str, schema: Schema, contestants: list[dict[str, str]]
) -> _Scored:
    """Every data file's labels, joined to each contestant's result file for that input file."""
    manifests = [read_manifest(s3, c["output_uri"], c["batch_prediction_id"]) for c in contestants]
    labels: list[pd.Series] = []
    outputs: list[list[pd.Series]] = [[] for _ in contestants]
    records = 0
    for file_uri in list_data_files(s3, uri):
        data = read_records(s3, file_uri, schema)
        records += data.lines
        labels.append(target_values(model_type, data.frame[str(schema.target)]).reset_index(drop=True))
        for i, (contestant, manifest) in enumerate(zip(contestants, manifests, strict=True)):
            outputs[i].append(_file_output(s3, model_type, data, schema, contestant, manifest))
    return _Scored(
        pd.concat(labels, ignore_index=True), [pd.concat(o, ignore_index=True) for o in outputs], records
    )


def _file_output(
    s3: Any,
    model_type: str,
    data: Records,
    schema: Schema,
    contestant: dict[str, str],
    manifest: dict[str, str],
) -> pd.Series:
    """One model's output for each readable record of one data file, from its result file."""
    result_uri = manifest.get(data.uri)
    if result_uri is None:
        raise FamilyDataError(
            f"BatchPrediction '{contestant['batch_prediction_id']}' has no result for {data.uri}: "
            "batch-predict the evaluation data itself (the same object or prefix)."
        )
    results = _aligned_results(read_results(s3, result_uri), data, schema, result_uri)
    return _model_output(model_type, results)


def _aligned_results(results: pd.DataFrame, data: Records, schema: Schema, result_uri: str) -> pd.DataFrame:
    """The result rows of the data's readable records: by tag (unique rowIds) or else by line order."""
    ids = data.frame.get(schema.row_id, None)
    if ids is not None and "tag" in results and ids.is_unique:
        by_tag = results.dropna(subset=["tag"]).drop_duplicates("tag").set_index("tag")
        return by_tag.reindex(ids.to_numpy()).reset_index(drop=True)
    if len(results) != data.lines:
        raise FamilyDataError(
            f"{result_uri} has {len(results)} rows but {data.uri} has {data.lines} records: the batch "
            "prediction did not score this file's records in order (was a DataRearrangement used?)."
        )
    return results.iloc[data.frame.index.to_numpy()].reset_index(drop=True)


def _model_output(model_type: str, results: pd.DataFrame) -> pd.Series:
    """The score (BINARY), highest-scoring class (MULTICLASS) or predicted value (REGRESSION) per row."""
    if model_type != "MULTICLASS":
        return pd.to_numeric(results["score"], errors="coerce")
    classes = [name for name in results.columns if name not in ("tag", "trueLabel")]
    scores = results[classes].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    valid = ~np.isnan(scores).any(axis=1)
    best = np.asarray(classes, dtype=object)[np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=1)]
    return pd.Series(np.where(valid, best, None), dtype=object)


def _add_models(
    evidence: Evidence, actual: np.ndarray, outputs: list[np.ndarray], contestants: list[dict[str, str]]
) -> None:
    """Each model's metric, interval and drawing; the paired improvement when there is a champion."""
    model_type = evidence.model_type
    points = [point_metric(model_type, actual, output) for output in outputs]
    statistics = [_statistic(model_type, actual, output) for output in outputs]
    samples = bootstrap.bootstrap(statistics, actual.size, evidence.n_boot, evidence.seed)
    for contestant, point, sample, output in zip(contestants, points, samples, outputs, strict=True):
        interval = bootstrap.percentile_interval(sample, evidence.confidence)
        model = ModelEvidence(
            contestant["role"],
            contestant["ml_model_id"],
            contestant["batch_prediction_id"],
            contestant["output_uri"],
            point,
            interval,
            scored_rows=0,
        )
        _add_drawing(model, model_type, actual, output, outputs)
        evidence.models.append(model)
    if len(outputs) == 2:
        sign = 1.0 if evidence.higher_is_better else -1.0
        challenger = [c["role"] for c in contestants].index("challenger")
        champion = 1 - challenger
        low, high = bootstrap.percentile_interval(
            sign * (samples[challenger] - samples[champion]), evidence.confidence
        )
        estimate = sign * (points[challenger] - points[champion])
        evidence.improvement = {"estimate": estimate, "low": low, "high": high}


def point_metric(model_type: str, actual: np.ndarray, output: np.ndarray) -> float:
    """Amazon ML's metric: AUC of the scores, macro-F1 of the predicted classes, or RMSE."""
    if model_type == "BINARY":
        return float(roc_auc_score(actual, output)) if np.unique(actual).size == 2 else 0.5
    if model_type == "MULTICLASS":
        return float(f1_score(actual, output, average="macro", zero_division=0))
    return float(np.sqrt(mean_squared_error(actual, output)))


def baseline_metric(model_type: str, actual: np.ndarray) -> tuple[float, str]:
    """Amazon ML's baseline on the compared rows, and what it is."""
    if model_type == "BINARY":
        return 0.5, "AUC of random scores"
    if model_type == "MULTICLASS":
        values, counts = np.unique(actual, return_counts=True)
        frequent = values[np.argmax(counts)]
        constant = np.full(actual.size, frequent, dtype=object)
        return point_metric(model_type, actual, constant), f"always predicting '{frequent}'"
    return point_metric(model_type, actual, np.full(actual.size, actual.mean())), "always predicting the mean"


def _statistic(model_type: str, actual: np.ndarray, output: np.ndarray) -> bootstrap.Statistic:
    if model_type == "BINARY":
        return bootstrap.auc_statistic(actual, output)
    if model_type == "MULTICLASS":
        return bootstrap.macro_f1_statistic(actual, output)
    return bootstrap.rmse_statistic(actual, output)


def _add_drawing(
    model: ModelEvidence, model_type: str, actual: np.ndarray, output: np.ndarray, outputs: list[np.ndarray]
) -> None:
    """ROC points (BINARY), confusion matrix (MULTICLASS) or residual histogram on shared edges (REGRESSION)."""
    if model_type == "BINARY" and np.unique(actual).size == 2:
        fpr, tpr, cut = roc_curve(actual, output)
        keep = np.unique(np.linspace(0, fpr.size - 1, min(fpr.size, MAX_ROC_POINTS)).round().astype(int))
        model.roc = [
            {
                "falsePositiveRate": float(fpr[i]),
                "truePositiveRate": float(tpr[i]),
                "threshold": float(min(cut[i], 1)),
            }
            for i in keep
        ]
    elif model_type == "MULTICLASS":
        labels = sorted(set(actual.tolist()) | {label for o in outputs for label in o.tolist()})
        counts = confusion_matrix(actual, output, labels=labels)
        model.confusion = {"labels": labels, "counts": counts.tolist()}
    elif model_type == "REGRESSION":
        edges = np.histogram_bin_edges(np.concatenate([actual - o for o in outputs]), bins=HISTOGRAM_BINS)
        counts, _ = np.histogram(actual - output, bins=edges)
        model.residuals = {"edges": edges.tolist(), "counts": counts.tolist()}
