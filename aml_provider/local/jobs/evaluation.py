"""The evaluation job: score a held-out datasource with a model; report the metric, baseline and alerts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from aml_provider.local.data import DataSourceReader, open_datasource
from aml_provider.local.errors import JobFailed
from aml_provider.local.jobs.context import JobContext
from aml_provider.local.jobs.training import (
    TrainedModel,
    encode_target,
    load_trained_model,
    require_inputs,
    score_threshold,
)
from aml_provider.local.learners import MULTICLASS, evaluation_report, performance_metrics

#: An evaluation with fewer records than this share of the training records gets an alert.
SUFFICIENT_SHARE = 0.10
#: Target distributions farther apart than this (total variation distance of the classes, or the
#: difference of means in training standard deviations) get an alert.
TARGET_SHIFT = 0.10


def run_evaluation(ctx: JobContext) -> dict[str, Any]:
    """Score every evaluation record; write report.json; return PerformanceMetrics."""
    model_id, source_id = ctx.entity["MLModelId"], ctx.entity["EvaluationDataSourceId"]
    trained = load_trained_model(ctx.artifacts_of("MLModel", model_id))
    reader = open_datasource(
        ctx.s3, ctx.artifacts_of("DataSource", source_id), ctx.get_entity("DataSource", source_id)
    )
    target = _check_schema(trained, reader, source_id)
    ctx.log(f"evaluating MLModel '{model_id}' ({trained.model_type}) on DataSource '{source_id}'")
    actual, outputs, invalid = _score(trained, reader, target)
    if actual.size == 0:
        raise JobFailed(
            f"No record of DataSource '{source_id}' has a valid value of the target '{target}' "
            f"({invalid} invalid records); check the data and the schema's attribute types."
        )
    threshold = score_threshold(ctx.get_entity("MLModel", model_id))
    report = evaluation_report(
        trained.model_type,
        actual,
        outputs,
        classes=trained.classes,
        score_threshold=threshold,
        baseline=trained.baseline,
    )
    report["records"] = {
        "evaluated": int(actual.size),
        "invalid": invalid,
        "training": trained.training_records,
    }
    report["alerts"] = _alerts(trained, reader, source_id, int(actual.size), invalid)
    shift = _target_shift(trained, _statistics(ctx, trained.training_datasource_id), reader.statistics)
    if shift:
        report["alerts"].append(shift)
    (ctx.artifacts / "report.json").write_text(json.dumps(report, indent=2))
    metrics = performance_metrics(trained.model_type, report["metric"])
    ctx.log(f"{report['metricName']}={report['metric']!r} baseline={report['baseline']!r}")
    for alert in report["alerts"]:
        ctx.log(f"alert: {alert}")
    ctx.log(f"evaluated-records={actual.size} invalid-records={invalid}")
    return {"PerformanceMetrics": metrics}


def _check_schema(trained: TrainedModel, reader: DataSourceReader, source_id: str) -> str:
    """The target name, once the evaluation data has every attribute the model reads, and the target."""
    require_inputs(trained, reader.schema, source_id, "evaluate")
    target = trained.schema.target or ""
    if target not in reader.schema.names:
        raise JobFailed(
            f"DataSource '{source_id}' has no target attribute '{target}'; an evaluation needs the true "
            "values: use data that contains the target and name it in the schema."
        )
    return target


def _score(
    trained: TrainedModel, reader: DataSourceReader, target: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Actual targets, model outputs (score, predicted class index or value) and the count of invalid rows."""
    actual: list[np.ndarray] = []
    outputs: list[np.ndarray] = []
    invalid = 0
    for chunk in reader.chunks(numbers=trained.pipeline.numeric_inputs() - {target}):
        invalid += chunk.rejected
        values, present = encode_target(trained.model_type, chunk.columns[target])
        invalid += int(np.count_nonzero(~present))
        if not present.any():
            continue
        scores = trained.outputs({name: column[present] for name, column in chunk.columns.items()})
        actual.append(values[present])
        outputs.append(scores.argmax(axis=1) if trained.model_type == MULTICLASS else scores)
    if not actual:
        return np.zeros(0), np.zeros(0), invalid
    return np.concatenate(actual), np.concatenate(outputs), invalid


def _alerts(
    trained: TrainedModel, reader: DataSourceReader, source_id: str, evaluated: int, invalid: int
) -> list[str]:
    """Amazon ML's evaluation alerts that apply."""
    alerts = []
    if source_id == trained.training_datasource_id:
        alerts.append(
            "Evaluation uses the training datasource: evaluate on held-out data for an honest estimate."
        )
    if evaluated < SUFFICIENT_SHARE * trained.training_records:
        alerts.append(
            f"Insufficient data: {evaluated} evaluation records are fewer than 10% of the "
            f"{trained.training_records} training records."
        )
    extra = sorted(set(reader.schema.names) - set(trained.schema.names))
    if extra:
        alerts.append(f"Schema mismatch: attributes the model does not use: {', '.join(extra)}.")
    if invalid:
        alerts.append(f"Not all records were used: {invalid} records were invalid (malformed or no target).")
    return alerts


def _statistics(ctx: JobContext, data_source_id: str) -> dict[str, Any] | None:
    path = ctx.artifacts_of("DataSource", data_source_id) / "statistics.json"
    return json.loads(path.read_text()) if path.exists() else None


def _target_shift(
    trained: TrainedModel, training: dict[str, Any] | None, evaluation: dict[str, Any] | None
) -> str | None:
    """An alert when the target is distributed differently in the training and the evaluation data
    (from both datasources' statistics, so approximate; None without them)."""
    target = trained.schema.target or ""
    before = ((training or {}).get("attributes") or {}).get(target)
    after = ((evaluation or {}).get("attributes") or {}).get(target)
    if not before or not after:
        return None
    if "mean" in before:
        if before.get("mean") is None or after.get("mean") is None or not before.get("std"):
            return None
        distance = abs(after["mean"] - before["mean"]) / before["std"]
        described = f"mean {before['mean']:.4g} in training, {after['mean']:.4g} in evaluation"
    else:
        p, q = _class_shares(before), _class_shares(after)
        distance = 0.5 * sum(abs(p.get(c, 0.0) - q.get(c, 0.0)) for c in p.keys() | q.keys())
        common = max(p, key=lambda c: p[c], default="")
        described = (
            f"class {common!r} {p.get(common, 0):.0%} in training, {q.get(common, 0):.0%} in evaluation"
        )
    if distance <= TARGET_SHIFT:
        return None
    return (
        f"Target distribution: '{target}' differs between the training and the evaluation data ({described}); "
        "the evaluation may not represent the data the model was trained for (from approximate statistics)."
    )


def _class_shares(statistics: dict[str, Any]) -> dict[str, float]:
    """Share of each class of a BINARY or CATEGORICAL target (its most frequent classes)."""
    if "trueCount" in statistics:
        counts = {"1": statistics["trueCount"], "0": statistics["falseCount"]}
    else:
        counts = {str(value): count for value, count in statistics.get("top", [])}
    total = sum(counts.values()) or 1
    return {label: count / total for label, count in counts.items()}
