"""The decision report: a JSON-ready dict (`decision.json`) and a self-contained page (`decision.html`).

`build_report(evidence=..., checks=..., decision=..., run=...)` answers the dict; its keys:

- `version`: 1; `created`: when it was built (ISO 8601, UTC).
- `run`: the run's facts, as the caller gives them. Shown first (in this order, others after):
  `family`, `logical_date`, `run_id`, `training_partitions` (list of URIs), `evaluation_partition`,
  `model_ids` and `evaluation_ids` (role -> ID), `rows` (e.g. training, evaluation).
- `evidence`: `Evidence.to_dict()`: `model_type`, `metric_name`, `higher_is_better`, `confidence`,
  `n_boot`, `seed`, `evaluation_data_uri`, `baseline`, `baseline_description`, `rows` (records,
  labelled, compared), `models` (per role: `role`, `ml_model_id`, `batch_prediction_id`, `output_uri`,
  `metric`, `interval` [low, high], `scored_rows`, `roc` | `confusion` | `residuals`) and `improvement`
  (`estimate`, `low`, `high`; positive = challenger better) or None.
- `checks`: `Check.to_dict()` each: `name`, `status` (pass, warn, fail), `value`, `threshold`,
  `message`, `details` (per attribute rows: drift PSI, missing shares, target shares, ...).
- `decision`: `Decision.to_dict()`: `action` (promote, keep, reject), `reason`, `gates` (`name`,
  `passed`, `value`, `threshold`, `message`).

`render_html(report)` draws that dict with inline CSS and SVG only (no network needed to view it).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from html import escape
from typing import Any

from aml_provider.family import charts
from aml_provider.family.checks import Check
from aml_provider.family.decision import Decision
from aml_provider.family.evidence import Evidence

RUN_KEYS = (
    "family",
    "logical_date",
    "run_id",
    "training_partitions",
    "evaluation_partition",
    "model_ids",
    "evaluation_ids",
    "rows",
)
ACTION_COLORS = {"promote": "#1a7f37", "keep": "#57606a", "reject": "#cf222e"}
STATUS_COLORS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#1f2328;padding:0 16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #d0d7de;padding-bottom:4px}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}.banner{color:#fff;padding:12px 16px;border-radius:6px;
margin:12px 0}.banner b{font-size:20px;text-transform:uppercase;margin-right:12px}.badge{color:#fff;
border-radius:10px;padding:1px 8px;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:16px}
.muted{color:#57606a}code{font-size:12px}
"""


def build_report(
    *, evidence: Evidence, checks: list[Check], decision: Decision, run: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The report dict (JSON-serialisable) for `decision.json` and `render_html`."""
    report = {
        "version": 1,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": dict(run or {}),
        "evidence": evidence.to_dict(),
        "checks": [check.to_dict() for check in checks],
        "decision": decision.to_dict(),
    }
    return _finite(json.loads(json.dumps(report, default=str)))  # type: ignore[no-any-return]


def _finite(value: Any) -> Any:
    """The value with NaN and infinities as None, so the JSON is strict (browsers reject NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page of the report (inline CSS and SVG; every string escaped)."""
    run, evidence, decision = report.get("run", {}), report.get("evidence"), report["decision"]
    title = f"{run.get('family', 'model family')} {run.get('logical_date', '')}".strip()
    sections = [
        f"<h1>Retraining decision: {escape(title)}</h1>",
        f'<p class="muted">run {escape(str(run.get("run_id", "")))} · report {escape(str(report.get("created", "")))}</p>',
        _banner(decision),
        *(
            _compared(evidence, decision)
            if evidence
            else ['<p class="muted">No model was compared in this run.</p>']
        ),
        "<h2>Data checks</h2>",
        _checks(report.get("checks", [])),
        *_check_details(report.get("checks", [])),
        "<h2>Run</h2>",
        _run(run),
    ]
    body = "\n".join(sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _compared(evidence: dict[str, Any], decision: dict[str, Any]) -> list[str]:
    """The sections of a run that compared models: models, gates, curves."""
    return [
        "<h2>Models</h2>",
        _models(evidence),
        "<h2>Gates</h2>",
        _gates(decision),
        "<h2>Curves</h2>",
        _curves(evidence),
    ]


def fmt(value: Any) -> str:
    """A value as short text: floats to 4 significant decimals, lists joined, dicts as key: value."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(fmt(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {fmt(item)}" for key, item in value.items())
    return str(value)


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.4f}"


def table(header: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    """An HTML table of already-escaped cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = [
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    ]
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def _banner(decision: dict[str, Any]) -> str:
    action = decision["action"]
    color = ACTION_COLORS.get(action, "#57606a")
    return f'<div class="banner" style="background:{color}"><b>{escape(action)}</b>{escape(decision["reason"])}</div>'


def _models(evidence: dict[str, Any]) -> str:
    name, percent = evidence["metric_name"], f"{evidence['confidence']:.0%}"
    rows = [
        [
            escape(m["role"]),
            f"<code>{escape(m['ml_model_id'])}</code>",
            escape(fmt(m["metric"])),
            escape(f"{fmt(m['interval'][0])} to {fmt(m['interval'][1])}"),
            escape(fmt(m["scored_rows"])),
        ]
        for m in evidence["models"]
    ]
    rows.append(
        ["baseline", escape(evidence["baseline_description"]), escape(fmt(evidence["baseline"])), "", ""]
    )
    better = "higher is better" if evidence["higher_is_better"] else "lower is better"
    parts = [
        f"<p>{escape(name)} ({escape(better)}) on {escape(fmt(evidence['rows'].get('compared')))} rows of "
        f"<code>{escape(evidence['evaluation_data_uri'])}</code> that every model scored "
        f"({escape(fmt(evidence['rows']))}); {escape(percent)} percentile bootstrap intervals over "
        f"{escape(fmt(evidence['n_boot']))} resamples.</p>",
        table(["model", "ID", name, f"{percent} interval", "scored rows"], rows, {2, 4}),
    ]
    points = [
        (m["role"], m["metric"], *m["interval"], charts.COLORS.get(m["role"], "#333"))
        for m in evidence["models"]
        if None not in (m["metric"], *m["interval"])
    ]
    if points:
        parts.append(charts.intervals(points, ("baseline", evidence["baseline"]), f"{name} with intervals"))
    parts.append(_improvement(evidence))
    return "\n".join(parts)


def _improvement(evidence: dict[str, Any]) -> str:
    """The paired improvement in words and as an interval beside 0."""
    improvement, percent = evidence.get("improvement"), f"{evidence['confidence']:.0%}"
    if not improvement:
        return "<p>No champion: the challenger is judged against the floor only.</p>"
    estimate, low, high = (improvement[key] for key in ("estimate", "low", "high"))
    text = (
        "<p>Paired improvement of the challenger (positive = better), same resampled rows: "
        f"<b>{escape(_signed(estimate))}</b>, {escape(percent)} interval "
        f"{escape(_signed(low))} to {escape(_signed(high))}.</p>"
    )
    if None in (estimate, low, high):
        return text
    row = [("improvement", estimate, low, high, "#8250df")]
    return text + charts.intervals(row, ("no change", 0.0), "paired improvement with interval")


def _gates(decision: dict[str, Any]) -> str:
    rows = [
        [
            escape(g["name"]),
            _badge("pass" if g["passed"] else "fail", "passed" if g["passed"] else "failed"),
            escape(fmt(g["value"])),
            escape(fmt(g["threshold"])),
            escape(g["message"]),
        ]
        for g in decision["gates"]
    ]
    return table(["gate", "", "value", "threshold", "why"], rows, {2, 3})


def _curves(evidence: dict[str, Any]) -> str:
    models = evidence["models"]
    drawings: list[str] = []
    if evidence["model_type"] == "BINARY":
        curves = {m["role"]: m["roc"] for m in models if m.get("roc")}
        drawings = [charts.roc_curves(curves)] if curves else []
    elif evidence["model_type"] == "MULTICLASS":
        drawings = [charts.confusion_matrix(m["role"], m["confusion"]) for m in models if m.get("confusion")]
    else:
        found = [m for m in models if m.get("residuals")]
        if found:
            counts = {m["role"]: m["residuals"]["counts"] for m in found}
            drawings = [
                charts.histograms(found[0]["residuals"]["edges"], counts, "residual (actual − predicted)")
            ]
    if not drawings:
        return '<p class="muted">Nothing to draw (one class only in the compared rows).</p>'
    return f'<div class="charts">{"".join(drawings)}</div>'


def _badge(status: str, label: str | None = None) -> str:
    color = STATUS_COLORS.get(status, "#57606a")
    return f'<span class="badge" style="background:{color}">{escape(label or status)}</span>'


def _checks(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return '<p class="muted">No data check ran in this run.</p>'
    rows = [
        [
            escape(c["name"]),
            _badge(c["status"]),
            escape(fmt(c["value"])),
            escape(fmt(c["threshold"])),
            escape(c["message"]),
        ]
        for c in checks
    ]
    return table(["check", "status", "value", "threshold", "message"], rows, {2, 3})


def _check_details(checks: list[dict[str, Any]]) -> list[str]:
    """Drift (PSI per attribute), target shares and missing shares, when those checks ran."""
    found = {c["name"]: c for c in checks}
    parts = []
    if (drift := found.get("drift")) and drift["details"]:
        limit = float(drift["threshold"])
        scale = max([limit * 2, *(d["psi"] for d in drift["details"])])
        rows = [
            [
                escape(d["attribute"]),
                escape(d["type"]),
                escape(fmt(d["psi"])),
                charts.bar(d["psi"], limit, scale),
            ]
            for d in sorted(drift["details"], key=lambda d: -d["psi"])
        ]
        parts += [
            "<h3>Drift (PSI against the reference window)</h3>",
            table(["attribute", "type", "PSI", ""], rows, {2}),
        ]
    if (target := found.get("target_drift") or found.get("alert_target_distribution")) and target["details"]:
        rows = [
            [escape(d["value"]), escape(fmt(d["reference"])), escape(fmt(d["evaluation"]))]
            for d in target["details"]
        ]
        parts += [
            "<h3>Target distribution (shares)</h3>",
            table(["value or bin", "reference", "evaluation"], rows, {1, 2}),
        ]
    if (missing := found.get("missing")) and missing["details"]:
        rows = [
            [escape(d["attribute"]), escape(fmt(d["evaluation"])), escape(fmt(d["training"]))]
            for d in missing["details"]
        ]
        parts += [
            "<h3>Missing values (shares)</h3>",
            table(["attribute", "evaluation", "training"], rows, {1, 2}),
        ]
    return parts


def _run(run: dict[str, Any]) -> str:
    keys = [k for k in RUN_KEYS if k in run] + [k for k in run if k not in RUN_KEYS]
    rows = [[escape(key.replace("_", " ")), escape(fmt(run[key]))] for key in keys]
    return table(["fact", "value"], rows) if rows else '<p class="muted">No run facts given.</p>'
