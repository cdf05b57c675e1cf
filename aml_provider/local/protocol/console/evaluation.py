"""The evaluation page: the metric against its baseline, charts by model type, the threshold slider, alerts."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aml_provider.local.protocol.console import entity
from aml_provider.pages.layout import cards, entity_crumbs, entity_href, link, page, table
from aml_provider.pages.svg import (
    PALETTE,
    Chart,
    Series,
    bar_list,
    heat_map,
    histogram,
    number,
    scatter,
)

#: The confusion matrix shows this many classes; more are folded into the most frequent 9 and "others".
MAX_CLASSES = 10
SLIDER_SCRIPT = """
(function(){
const rows=JSON.parse(document.getElementById('threshold-data').textContent);
const slider=document.getElementById('threshold'),input=document.getElementById('threshold-input');
const pct=v=>(100*v).toFixed(1)+'%';
const set=(id,text)=>{document.getElementById(id).textContent=text;};
function px(svg,x,y){const p=svg.dataset.plot.split(' ').map(Number),
 xr=svg.dataset.xRange.split(' ').map(Number),yr=svg.dataset.yRange.split(' ').map(Number);
 return [p[0]+(x-xr[0])/(xr[1]-xr[0])*(p[2]-p[0]),p[3]-(y-yr[0])/(yr[1]-yr[0])*(p[3]-p[1])];}
function show(value){
 const row=rows.reduce((a,b)=>Math.abs(b.threshold-value)<Math.abs(a.threshold-value)?b:a);
 set('threshold-value',row.threshold.toFixed(2));
 set('accuracy',pct(row.accuracy));set('precision',pct(row.precision));
 set('recall',pct(row.recall));set('fpr',pct(row.falsePositiveRate));
 set('tp',row.truePositives);set('fp',row.falsePositives);
 set('tn',row.trueNegatives);set('fn',row.falseNegatives);
 const hist=document.getElementById('score-histogram');
 if(hist){const x=px(hist,row.threshold,0)[0],g=document.getElementById('threshold-line');
  g.querySelector('line').setAttribute('x1',x);g.querySelector('line').setAttribute('x2',x);
  g.querySelector('text').setAttribute('x',x+4);}
 const roc=document.getElementById('roc');
 if(roc){const p=px(roc,row.falsePositiveRate,row.recall),dot=document.getElementById('roc-dot');
  dot.setAttribute('cx',p[0]);dot.setAttribute('cy',p[1]);}
}
slider.addEventListener('input',()=>{if(input){input.value=slider.value;}show(+slider.value);});
if(input){input.addEventListener('input',()=>{if(input.value!==''){slider.value=input.value;show(+input.value);}});}
show(+slider.value);
})();
"""


def evaluation_page(
    evaluation: dict[str, Any],
    report: dict[str, Any] | None,
    model: dict[str, Any] | None,
    notice: str = "",
    error: str = "",
) -> str:
    """The page of one evaluation; `report` is its report.json (None until the evaluation completes)."""
    evaluation_id = evaluation.get("EvaluationId", "")
    body = entity.header("Evaluation", evaluation)
    if notice:
        body.append(f'<p class="notice">{escape(notice)}</p>')
    if error:
        body.append(f'<p class="alert">{escape(error)}</p>')
    body.append(_sources(evaluation))
    script = ""
    if report:
        body.append(_alerts(report.get("alerts", [])))
        kind = report.get("modelType")
        if kind == "BINARY":
            body.extend(_binary(report, model, evaluation_id))
            script = SLIDER_SCRIPT if report.get("thresholds") else ""
        elif kind == "MULTICLASS":
            body.extend(_multiclass(report))
        else:
            body.extend(_regression(report))
    elif evaluation.get("Status") == "COMPLETED":
        body.append("<p>This evaluation has no report.</p>")
    body.extend(["<h2>Details</h2>", *entity.details("Evaluation", evaluation)])
    return page(f"Evaluation {evaluation_id}", body, entity_crumbs("Evaluation", evaluation_id), script)


def _sources(evaluation: dict[str, Any]) -> str:
    model_id, source_id = evaluation.get("MLModelId"), evaluation.get("EvaluationDataSourceId")
    parts = []
    if model_id:
        parts.append(f"model {link('MLModel', model_id)}")
    if source_id:
        parts.append(f"evaluation data {link('DataSource', source_id)}")
    return f"<p>Evaluates {' on '.join(parts)}.</p>" if parts else ""


def _alerts(alerts: list[str]) -> str:
    if not alerts:
        return '<div class="alert ok">No evaluation alerts: held-out data, enough records, matching schema, every record used.</div>'
    items = "".join(f"<li>{escape(alert)}</li>" for alert in alerts)
    return f'<div class="alert" id="alerts"><b>Evaluation alerts</b><ul>{items}</ul></div>'


def _against_baseline(
    report: dict[str, Any], label: str, baseline_label: str, lower_is_better: bool
) -> list[str]:
    metric, baseline = report.get("metric"), report.get("baseline")
    records = report.get("records", {})
    better = (
        metric is not None
        and baseline is not None
        and (metric < baseline if lower_is_better else metric > baseline)
    )
    verdict = "better than the baseline" if better else "not better than the baseline"
    items = [(label, float(metric or 0)), (baseline_label, float(baseline or 0))]
    return [
        cards(
            [
                (escape(number(metric)), report.get("metricName", label)),
                (escape(number(baseline)), baseline_label),
                (escape(number(records.get("evaluated"))), "records evaluated"),
                (escape(number(records.get("invalid"))), "invalid records"),
            ]
        ),
        f'<div class="panel"><p>{escape(label)} is <b class="{"" if better else "bad"}">{verdict}</b> '
        f"({'lower' if lower_is_better else 'higher'} is better).</p>"
        f"{bar_list(items, scale_max=None if lower_is_better else 1.0, highlight=baseline_label)}</div>",
    ]


def _binary(report: dict[str, Any], model: dict[str, Any] | None, evaluation_id: str) -> list[str]:
    parts = _against_baseline(report, "AUC", "baseline (random)", lower_is_better=False)
    rows = report.get("thresholds", [])
    current = (model or {}).get("ScoreThreshold")
    if current is None:
        current = report.get("atScoreThreshold", {}).get("threshold", 0.5)
    start = (
        min(rows, key=lambda row: abs(row["threshold"] - current))
        if rows
        else report.get("atScoreThreshold", {})
    )
    charts = []
    roc = report.get("rocCurve")
    if roc:
        chart = Chart("ROC curve", (0, 1), (0, 1), "false-positive rate", "true-positive rate (recall)",
                      width=420, height=380, element_id="roc")  # fmt: skip
        chart.line(Series("baseline AUC 0.5", [0, 1], [0, 1], color="#999", dashed=True))
        chart.line(Series(f"ROC, AUC {number(report.get('metric'))}", [p["falsePositiveRate"] for p in roc],
                          [p["truePositiveRate"] for p in roc], color=PALETTE[0], markers=True))  # fmt: skip
        chart.dot(start.get("falsePositiveRate", 0), start.get("recall", 0), "roc-dot")
        charts.append(f'<div class="panel"><h3>ROC curve</h3>{chart.svg()}</div>')
    scores = report.get("scoreHistograms")
    if scores:
        chart = histogram(
            "Scores by true class",
            scores["edges"],
            [("actual 0", scores["actual0"], PALETTE[0]), ("actual 1", scores["actual1"], PALETTE[1])],
            "score",
        )
        chart.element_id = "score-histogram"
        chart.vertical(start.get("threshold", current), "threshold-line", "threshold")
        charts.append(f'<div class="panel"><h3>Score histogram by true class</h3>{chart.svg()}</div>')
    parts.append(f'<div class="grid2">{"".join(charts)}</div>')
    if rows:
        parts.append(_slider(rows, start, model, evaluation_id))
    return parts


def _slider(
    rows: list[dict[str, Any]], start: dict[str, Any], model: dict[str, Any] | None, evaluation_id: str
) -> str:
    def pct(name: str) -> str:
        return f"{100 * start.get(name, 0):.1f}%"

    data = json.dumps(rows).replace("<", "\\u003c")
    figures = table(
        ["accuracy", "precision", "recall", "false-positive rate"],
        [[f'<span id="accuracy">{pct("accuracy")}</span>', f'<span id="precision">{pct("precision")}</span>',
          f'<span id="recall">{pct("recall")}</span>', f'<span id="fpr">{pct("falsePositiveRate")}</span>']],
    )  # fmt: skip
    confusion = table(
        ["", "predicted 1", "predicted 0"],
        [["<b>actual 1</b>", f'<span id="tp">{start.get("truePositives")}</span> true positives',
          f'<span id="fn">{start.get("falseNegatives")}</span> false negatives'],
         ["<b>actual 0</b>", f'<span id="fp">{start.get("falsePositives")}</span> false positives',
          f'<span id="tn">{start.get("trueNegatives")}</span> true negatives']],
    )  # fmt: skip
    value = f"{start.get('threshold', 0.5):.2f}"
    form = ""
    model_id = (model or {}).get("MLModelId")
    if model_id:
        current = model.get("ScoreThreshold") if model else None
        form = (
            f'<form method="post" action="{escape(entity_href("MLModel", model_id))}/score-threshold">'
            f'<input type="hidden" name="EvaluationId" value="{escape(evaluation_id)}">'
            f'<label>ScoreThreshold <input id="threshold-input" name="ScoreThreshold" type="number" min="0" '
            f'max="1" step="any" value="{value}"></label> <button type="submit" id="set-threshold">'
            f"Set the model's ScoreThreshold</button> <span class=muted>now {escape(number(current))}; "
            "it applies to later batch predictions and real-time predictions</span></form>"
        )
    return (
        '<div class="panel" id="threshold-panel"><h3>Score threshold</h3>'
        f'<script type="application/json" id="threshold-data">{data}</script>'
        f'<p><input type="range" id="threshold" min="0.01" max="0.99" step="0.01" value="{value}"> '
        f'score ≥ <b id="threshold-value">{value}</b> is predicted 1</p>'
        f"{figures}<h3>Confusion counts</h3>{confusion}{form}</div>"
    )


def _multiclass(report: dict[str, Any]) -> list[str]:
    baseline_label = f"baseline (always {report.get('baselineClass', '')})"
    parts = _against_baseline(report, "macro-average F1", baseline_label, lower_is_better=False)
    matrix = report.get("confusionMatrix", {})
    labels, counts = _fold(matrix.get("labels", []), matrix.get("counts", []))
    folded = (
        " (the 9 most frequent classes and the others together)"
        if len(labels) < len(matrix.get("labels", []))
        else ""
    )
    classes = report.get("classes", [])
    rows = [
        [escape(c["label"]), number(c.get("precision")), number(c.get("recall")), number(c.get("f1")),
         str(c.get("trueCount", "")), str(c.get("predictedCount", ""))]
        for c in classes
    ]  # fmt: skip
    per_class = table(
        ["class", "precision", "recall", "F1", "true", "predicted"], rows, numeric=(1, 2, 3, 4, 5)
    )
    f1 = bar_list([(c["label"], float(c.get("f1", 0))) for c in classes], scale_max=1.0)
    parts.append(
        f'<div class="grid2"><div class="panel"><h3>Confusion matrix{folded}</h3>{heat_map(labels, counts)}</div>'
        f'<div class="panel"><h3>Per class</h3>{per_class}<h3>F1 per class</h3>{f1}</div></div>'
    )
    return parts


def _fold(labels: list[str], counts: list[list[int]]) -> tuple[list[str], list[list[int]]]:
    """At most MAX_CLASSES classes: the most frequent (by true count) and "others"."""
    if len(labels) <= MAX_CLASSES:
        return labels, counts
    keep = sorted(range(len(labels)), key=lambda i: -sum(counts[i]))[: MAX_CLASSES - 1]
    group = [keep.index(i) if i in keep else len(keep) for i in range(len(labels))]
    folded = [[0] * MAX_CLASSES for _ in range(MAX_CLASSES)]
    for row, values in enumerate(counts):
        for col, count in enumerate(values):
            folded[group[row]][group[col]] += count
    return [labels[i] for i in keep] + ["others"], folded


def _regression(report: dict[str, Any]) -> list[str]:
    parts = _against_baseline(report, "RMSE", "baseline (training mean)", lower_is_better=True)
    charts = []
    residuals = report.get("residualHistogram", {})
    if residuals.get("counts"):
        chart = histogram("Residuals", residuals["edges"], [("records", residuals["counts"], PALETTE[0])],
                          "residual (actual − predicted)")  # fmt: skip
        chart.vertical(0, "zero-residual", "0")
        charts.append(f'<div class="panel"><h3>Residual histogram</h3>{chart.svg()}'
                      f'<p class="muted">mean residual {escape(number(report.get("meanResidual")))}</p></div>')  # fmt: skip
    sample = report.get("predictedVsActual", {})
    if sample.get("actual"):
        plot = scatter(
            "Predicted against actual", sample["actual"], sample["predicted"], "actual", "predicted"
        )
        charts.append(f'<div class="panel"><h3>Predicted against actual</h3>{plot}</div>')
    parts.append(f'<div class="grid2">{"".join(charts)}</div>')
    return parts
