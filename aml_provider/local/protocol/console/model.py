"""The model page: type, recipe, parameters, data, tags, evaluations, batch predictions, endpoint, learning curve."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aml_provider.local.protocol.console import entity
from aml_provider.pages.layout import (
    cards,
    entity_crumbs,
    link,
    page,
    pairs,
    status,
    table,
    when,
)
from aml_provider.pages.svg import PALETTE, Chart, Series, number, padded

#: The tags the provider's model families use (aml_provider.champion).
FAMILY_TAGS = ("aml:family", "aml:role")
_PASS = re.compile(
    r"pass=(?P<pass>\d+) .*held-out-(?P<loss>[\w-]+)=\[(?P<losses>[^\]]*)\]"
    r"(?: held-out-(?P<score>accuracy|rmse)=(?P<value>\S+))?"
)
_RATES = re.compile(r"learners: \d+ with learning rates (?P<rates>[^;]+);")
_BEST = re.compile(r"best learner: learning-rate=(?P<rate>\S+) pass=(?P<pass>\d+)")
#: L-BFGS logs its training objective per pass (each fit counts its passes from 1; the last fit is the model).
_OBJECTIVE = re.compile(r"pass=(?P<pass>\d+) training-records=\d+ objective=(?P<value>\S+)")


@dataclass
class LearningCurve:
    """Held-out loss per pass of each learner, and the best learner's accuracy or RMSE, from the training log."""

    loss_name: str = "loss"
    score_name: str = ""
    rates: list[str] = field(default_factory=list)
    passes: list[int] = field(default_factory=list)
    losses: list[list[float]] = field(default_factory=list)  # per pass, one per learner
    scores: list[float] = field(default_factory=list)
    best: str = ""
    measure: str = "held-out"  # or "training" for L-BFGS's objective

    @classmethod
    def parse(cls, log: str) -> LearningCurve:
        curve = cls()
        for line in log.splitlines():
            if rates := _RATES.search(line):
                curve.rates = [rate.strip() for rate in rates["rates"].split(",")]
            elif best := _BEST.search(line):
                curve.best = f"learning rate {best['rate']}, pass {best['pass']}"
            elif objective := _OBJECTIVE.search(line):
                if curve.passes and int(objective["pass"]) <= curve.passes[-1]:
                    curve.passes, curve.losses = [], []  # a new fit: keep the last one
                curve.measure, curve.loss_name, curve.rates = "training", "objective", ["L-BFGS"]
                curve.passes.append(int(objective["pass"]))
                curve.losses.append([float(objective["value"])])
            elif found := _PASS.search(line):
                curve.passes.append(int(found["pass"]))
                curve.losses.append([float(v) for v in found["losses"].split()])
                curve.loss_name = found["loss"]
                if found["score"]:
                    curve.score_name, value = found["score"], float(found["value"])
                    curve.scores.append(value)
        return curve


def model_page(
    model: dict[str, Any],
    tags: list[dict[str, str]],
    evaluations: list[dict[str, Any]],
    batch_predictions: list[dict[str, Any]],
    log: str,
) -> str:
    model_id = model.get("MLModelId", "")
    endpoint = model.get("EndpointInfo") or {}
    body = entity.header("MLModel", model)
    body.append(
        cards(
            [
                (escape(model.get("MLModelType", "")), "model type"),
                (escape(number(model.get("ScoreThreshold"))), "score threshold"),
                (status(endpoint.get("EndpointStatus", "NONE")), "real-time endpoint"),
                (escape(number(model.get("SizeInBytes"))), "size in bytes"),
            ]
        )
    )
    body.append(_training(model))
    body.append(_tags(tags))
    body.append(_learning_curve(LearningCurve.parse(log)))
    body.append("<h2>Evaluations</h2>" + _evaluations(evaluations))
    body.append("<h2>Batch predictions</h2>" + _batch_predictions(batch_predictions))
    body.append("<h2>Real-time endpoint</h2>" + _endpoint(endpoint))
    body.extend(["<h2>Details</h2>", *entity.details("MLModel", model)])
    return page(f"MLModel {model_id}", body, entity_crumbs("MLModel", model_id))


def _training(model: dict[str, Any]) -> str:
    source = model.get("TrainingDataSourceId")
    parameters = model.get("TrainingParameters") or {}
    rows = [[escape(k), escape(str(v))] for k, v in sorted(parameters.items())]
    recipe = model.get("Recipe")
    return (
        "<h2>Training</h2><div class=grid2><div class=panel>"
        f"<p>Trained on {link('DataSource', source) if source else '—'}"
        f"{' (' + escape(model['InputDataLocationS3']) + ')' if model.get('InputDataLocationS3') else ''}.</p>"
        f"<h3>Training parameters</h3>{table(['parameter', 'value'], rows)}</div>"
        f'<div class=panel><h3>Recipe</h3><pre id="recipe">{escape(str(recipe)) if recipe else "—"}</pre></div></div>'
    )


def _tags(tags: list[dict[str, str]]) -> str:
    if not tags:
        return "<h2>Tags</h2><p class=muted>No tags.</p>"
    ordered = sorted(tags, key=lambda t: (t.get("Key") not in FAMILY_TAGS, t.get("Key", "")))
    rows = [
        [f"<b>{escape(t.get('Key', ''))}</b>" if t.get("Key") in FAMILY_TAGS else escape(t.get("Key", "")),
         escape(t.get("Value", ""))]
        for t in ordered
    ]  # fmt: skip
    return f'<h2>Tags</h2><div id="tags">{table(["key", "value"], rows)}</div>'


def _learning_curve(curve: LearningCurve) -> str:
    if not curve.passes:
        return "<h2>Learning curve</h2><p class=muted>No training passes logged yet.</p>"
    learners = max(len(losses) for losses in curve.losses)
    y_range = padded([v for losses in curve.losses for v in losses], include_zero=True)
    x_range = (min(curve.passes) - 0.5, max(curve.passes) + 0.5)
    chart = Chart(f"{curve.measure} {curve.loss_name} per pass", x_range, y_range, "pass",
                  f"{curve.measure} {curve.loss_name}", element_id="learning-curve")  # fmt: skip
    for index in range(learners):
        rate = curve.rates[index] if index < len(curve.rates) else str(index + 1)
        label = rate if curve.measure == "training" else f"learning rate {rate}"
        ys = [losses[index] if index < len(losses) else float("nan") for losses in curve.losses]
        chart.line(Series(label, curve.passes, ys, PALETTE[index % len(PALETTE)], markers=True))
    charts = [f"<div class=panel>{chart.svg()}</div>"]
    if curve.scores:
        score = Chart(f"held-out {curve.score_name}", x_range, padded(curve.scores), "pass",
                      f"held-out {curve.score_name} (best learner)")  # fmt: skip
        score.line(
            Series(
                curve.score_name, curve.passes[: len(curve.scores)], curve.scores, PALETTE[2], markers=True
            )
        )
        charts.append(f"<div class=panel>{score.svg()}</div>")
    best = f"<p>Chosen: {escape(curve.best)}.</p>" if curve.best else ""
    return f'<h2>Learning curve</h2>{best}<div class="grid2">{"".join(charts)}</div>'


def _evaluations(evaluations: list[dict[str, Any]]) -> str:
    if not evaluations:
        return "<p class=muted>None.</p>"
    rows = []
    for e in evaluations:
        metrics = (e.get("PerformanceMetrics") or {}).get("Properties") or {}
        metric = ", ".join(f"{escape(k)} {escape(number(float(v)))}" for k, v in metrics.items())
        rows.append([link("Evaluation", e["EvaluationId"]), escape(e.get("Name") or ""), status(e.get("Status", "")),
                     metric, link("DataSource", e.get("EvaluationDataSourceId", "")), when(e.get("CreatedAt"))])  # fmt: skip
    return table(["evaluation", "name", "status", "metric", "evaluation data", "created"], rows)


def _batch_predictions(batch_predictions: list[dict[str, Any]]) -> str:
    if not batch_predictions:
        return "<p class=muted>None.</p>"
    rows = [
        [link("BatchPrediction", b["BatchPredictionId"]), escape(b.get("Name") or ""), status(b.get("Status", "")),
         link("DataSource", b.get("BatchPredictionDataSourceId", "")), escape(number(b.get("TotalRecordCount"))),
         escape(b.get("OutputUri", "")), when(b.get("CreatedAt"))]
        for b in batch_predictions
    ]  # fmt: skip
    return table(
        ["batch prediction", "name", "status", "data", "records", "output", "created"], rows, numeric=(4,)
    )


def _endpoint(endpoint: dict[str, Any]) -> str:
    rows = [
        ("status", status(endpoint.get("EndpointStatus", "NONE"))),
        ("URL", escape(endpoint.get("EndpointUrl") or "—")),
        ("peak requests per second", escape(str(endpoint.get("PeakRequestsPerSecond", 0)))),
        ("created", when(endpoint.get("CreatedAt")) or "—"),
    ]
    return pairs(rows)
