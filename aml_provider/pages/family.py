"""Model family pages, drawn from a family's record (``family.json``) and its decision log events.

Shared by the local console (``/console/families``) and the Airflow plugin "Amazon ML": each gives the
data (plain dicts, as stored in S3, plus the Amazon ML models the record names) and a :class:`Site` that
says where links go and which page frame to draw in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aml_provider.family.layout import REPORT_PATH
from aml_provider.pages.layout import cards, pairs, status, table
from aml_provider.pages.svg import PALETTE, Chart, Series, number, padded, sparkline

#: Decisions of the index's trend sparkline (the newest ones).
TREND_RUNS = 20
ACTION_CLASS = {"promote": "READY", "rollback": "UPDATING", "reject": "FAILED"}

Frame = Callable[[str, Iterable[str], Sequence[tuple[str, str]]], str]


@dataclass(frozen=True)
class FamilyData:
    """One family as read from S3 (and, for the family page, the Amazon ML models its record names)."""

    family: str
    reports_uri: str
    record: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]]
    #: GetMLModel answers by model ID (champion, previous, rollback choices); missing ones are unknown.
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The models a rollback may go to, newest first (as ``ModelFamily.rollback_choices`` answers).
    choices: Sequence[str] = ()
    #: How many decisions the log holds, when ``events`` holds only the newest (the index's summary).
    decision_count: int | None = None

    @property
    def prefix(self) -> str:
        return f"{self.reports_uri.rstrip('/')}/{self.family}/"

    def decisions(self) -> list[Mapping[str, Any]]:
        return [event for event in self.events if event.get("event") == "decision"]

    def report_path(self, uri: str | None) -> str | None:
        """A report URI as a path below the family's prefix (``<ds>/decision.html``), None if it is not one."""
        if not uri or not uri.startswith(self.prefix):
            return None
        path = uri[len(self.prefix) :]
        return path if REPORT_PATH.match(path) else None


@dataclass(frozen=True)
class Site:
    """Where a family page's links go, and the frame it is drawn in."""

    frame: Frame
    index_href: str
    family_href: Callable[[FamilyData], str]
    report_href: Callable[[FamilyData, str], str]  # (family, path below its prefix) -> href
    model_href: Callable[[str], str]
    #: Extra attributes of links that leave the site (e.g. ``target="_blank"`` inside an iframe).
    external: str = ""


def families_page(families: Sequence[FamilyData], site: Site, problems: Sequence[str] = ()) -> str:
    """Every family: champion, threshold, last decision, trend of the challenger's metric, links."""
    body = ["<h1>Model families</h1>"]
    body += [f'<p class="alert">{escape(problem)}</p>' for problem in problems]
    rows = [_index_row(data, site) for data in families]
    header = ["family", "champion", "threshold", "last decision", "challenger metric", "runs", "report"]
    body.append(
        f'<div class="panel" id="families">{table(header, rows)}</div>'
        if rows
        else "<p class=muted>No families found yet.</p>"
    )
    return site.frame("Model families", body, [])


def family_page(data: FamilyData, site: Site) -> str:
    """Champion, endpoint and threshold, trend, timeline of champions and decisions, reports, rollback."""
    record, champion = data.record, data.record.get("champion")
    body = [f"<h1>Model family {escape(data.family)}</h1>", _summary(data, site)]
    if record.get("pending"):
        pending = record["pending"]
        body.append(
            f'<p class="notice" id="pending">In progress: {escape(str(pending.get("op")))} of '
            f"{_model(site, pending.get('target'))} by {escape(str(pending.get('owner')))} "
            f"(lease until {escape(str(pending.get('expires')))}).</p>"
        )
    if record.get("draining"):
        items = ", ".join(
            f"{_model(site, item.get('ml_model_id'))} until {escape(str(item.get('until')))}"
            for item in record["draining"]
        )
        body.append(
            f'<p class="muted" id="draining">Endpoints kept for traffic still using them: {items}</p>'
        )
    body += [
        "<h2>Metric trend</h2>",
        f'<div class="panel">{_trend_chart(data)}</div>',
        "<h2>Champions</h2>",
        _champions(data, site),
        "<h2>Timeline</h2>",
        _timeline(data, site),
        "<h2>Rollback choices</h2>",
        _rollback(data, site, champion),
    ]
    crumbs = [("Families", site.index_href), (data.family, site.family_href(data))]
    return site.frame(f"Family {data.family}", body, crumbs)


# The index


def _index_row(data: FamilyData, site: Site) -> list[str]:
    decisions = data.decisions()
    last = decisions[-1] if decisions else None
    path = data.report_path(last.get("report_uri")) if last else None
    return [
        f'<a class="family" href="{escape(site.family_href(data))}">{escape(data.family)}</a>'
        f'<br><span class="muted">{escape(data.reports_uri)}</span>',
        _model(site, data.record.get("champion")),
        escape(number(data.record.get("threshold"))),
        _decision_cell(last),
        _sparkline(decisions[-TREND_RUNS:]),
        str(len(decisions) if data.decision_count is None else data.decision_count),
        f'<a href="{escape(site.report_href(data, path))}">latest</a>' if path else "",
    ]


def _decision_cell(event: Mapping[str, Any] | None) -> str:
    if event is None:
        return '<span class="muted">none yet</span>'
    return (
        f"{_action(event.get('action'))} {escape(_day(event.get('logical_date')))}"
        f'<br><span class="muted">{escape(_clip(str(event.get("reason") or ""), 90))}</span>'
    )


def _sparkline(decisions: Sequence[Mapping[str, Any]]) -> str:
    estimates = [_estimate(event, "challenger") for event in decisions]
    if not any(value is not None for value, _, _ in estimates):
        return '<span class="muted">—</span>'
    name = next((str(e.get("metric_name")) for e in reversed(decisions) if e.get("metric_name")), "metric")
    values, lows, highs = (list(column) for column in zip(*estimates, strict=True))
    latest = next(value for value in reversed(values) if value is not None)
    label = f"{name} of the last {len(decisions)} challengers, latest {number(latest)}"
    return f'<span class="trend">{sparkline(values, lows, highs, label)} {escape(number(latest))}</span>'


# The family page


def _summary(data: FamilyData, site: Site) -> str:
    record = data.record
    champion = record.get("champion")
    model = data.models.get(champion or "", {})
    endpoint = model.get("EndpointInfo") or {}
    decisions = data.decisions()
    figures = [
        (_model(site, champion), "champion"),
        (status(str(endpoint.get("EndpointStatus") or ("NONE" if champion else ""))), "real-time endpoint"),
        (escape(number(record.get("threshold"))), "family threshold"),
        (escape(number(model.get("ScoreThreshold"))), "model ScoreThreshold"),
        (_model(site, record.get("previous")), "previous champion"),
        (_action(decisions[-1].get("action")) if decisions else "—", "last decision"),
    ]
    details = [
        ("Record", escape(data.prefix + "family.json")),
        ("Endpoint URL", escape(str(endpoint.get("EndpointUrl") or "—"))),
        ("Members", escape(str(len(record.get("members") or {})))),
        ("Record version", escape(str(record.get("version", 0)))),
    ]
    return f'<div id="summary">{cards(figures)}{pairs(details)}</div>'


def _trend_chart(data: FamilyData) -> str:
    decisions = data.decisions()
    challenger = [_estimate(event, "challenger") for event in decisions]
    champion = [_estimate(event, "champion") for event in decisions]
    known = [v for values in (*challenger, *champion) for v in values if v is not None]
    if not known:
        return '<p class="muted">No decision compared a challenger yet.</p>'
    name = next((str(e.get("metric_name")) for e in reversed(decisions) if e.get("metric_name")), "metric")
    xs = list(range(1, len(decisions) + 1))
    chart = Chart(
        f"{name} by run", (0.5, len(decisions) + 0.5), padded(known), "run (oldest to newest)", name, 880, 300
    )
    chart.element_id = "trend"
    for role, estimates, color in (
        ("challenger", challenger, PALETTE[0]),
        ("champion", champion, PALETTE[1]),
    ):
        values, lows, highs = (list(column) for column in zip(*estimates, strict=True))
        chart.intervals(f"{role} interval", xs, lows, highs, color)
        shown = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if shown:
            chart.line(
                Series(role, [x for x, _ in shown], [v for _, v in shown], color, role == "champion", True)
            )
    promoted = [(x, v) for x, (v, _, _), e in zip(xs, challenger, decisions, strict=True)
                if v is not None and e.get("action") == "promote"]  # fmt: skip
    if promoted:
        chart.points(Series("promoted", [x for x, _ in promoted], [v for _, v in promoted], PALETTE[2]), 6)
        chart.legend.append(("promoted", PALETTE[2]))
    return chart.svg()


def _champions(data: FamilyData, site: Site) -> str:
    history = list(data.record.get("history") or [])
    if not history:
        return '<p class="muted">No champion yet.</p>'
    rows = [
        [
            _model(site, item.get("ml_model_id")) + (" <b>(serving)</b>" if index == 0 else ""),
            escape(str(item.get("op", ""))),
            escape(_moment(item.get("at"))),
            escape(str(item.get("run_id", ""))),
        ]
        for index, item in enumerate(reversed(history))
    ]
    return f'<div class="panel" id="champions">{table(["champion", "by", "since", "run"], rows)}</div>'


def _timeline(data: FamilyData, site: Site) -> str:
    if not data.events:
        return '<p class="muted">The decision log is empty.</p>'
    rows = [
        [
            escape(_moment(event.get("at"))),
            escape(_day(event.get("logical_date"))),
            f'<span class="status event">{escape(str(event.get("event", "")))}</span>',
            _event_text(data, site, event),
        ]
        for event in reversed(data.events)
    ]
    return f'<div class="panel" id="timeline">{table(["at", "logical date", "event", "what"], rows)}</div>'


def _event_text(data: FamilyData, site: Site, event: Mapping[str, Any]) -> str:
    kind = event.get("event")
    if kind == "decision":
        return _decision_text(data, site, event)
    if kind == "promotion":
        return f"{_model(site, event.get('ml_model_id'))} became the champion (previous: {_model(site, event.get('previous'))})"
    if kind == "rollback":
        reason = f": {escape(str(event['reason']))}" if event.get("reason") else ""
        return f"rolled back to {_model(site, event.get('ml_model_id'))} (previous: {_model(site, event.get('previous'))}){reason}"
    facts = {k: v for k, v in event.items() if k not in ("event", "family", "run_id", "at", "logical_date")}
    return f"<code>{escape(json.dumps(facts, default=str, sort_keys=True)[:400])}</code>"


def _decision_text(data: FamilyData, site: Site, event: Mapping[str, Any]) -> str:
    parts = [f"{_action(event.get('action'))} {escape(str(event.get('reason') or ''))}"]
    metric = escape(str(event.get("metric_name") or "metric"))
    for role in ("challenger", "champion"):
        contestant = event.get(role) or {}
        if contestant.get("value") is not None:
            parts.append(
                f"{role} {_model(site, contestant.get('ml_model_id'))} {metric} {_interval(contestant)}"
            )
    rows = [
        f"{escape(_count(event.get(n)))} {n.split('_')[0]} rows" for n in ("training_rows", "evaluation_rows")
    ]
    parts.append(", ".join(rows))
    path = data.report_path(event.get("report_uri"))
    if path:
        parts.append(f'<a class="report" href="{escape(site.report_href(data, path))}">decision report</a>')
    return "<br>".join(parts)


def _rollback(data: FamilyData, site: Site, champion: str | None) -> str:
    if not data.choices:
        return '<p class="muted">No retained model to roll back to.</p>'
    members, previous = data.record.get("members") or {}, data.record.get("previous")
    rows = []
    for choice in data.choices:
        member = members.get(choice) or {}
        training = list(member.get("training") or [])
        window = f"{len(training)} partitions: {training[0]} … {training[-1]}" if training else "—"
        endpoint = (data.models.get(choice, {}).get("EndpointInfo") or {}).get("EndpointStatus", "")
        after = (
            f"{_model(site, choice)} serves; {_model(site, champion)} becomes the previous champion "
            "and its endpoint drains"
            if champion
            else f"{_model(site, choice)} serves"
        )
        rows.append(
            [
                _model(site, choice) + (" (default: previous champion)" if choice == previous else ""),
                escape(_day(member.get("logical_date"))) + f'<br><span class="muted">{escape(str(member.get("run_id") or ""))}</span>',
                _interval(member.get("metric") or {}),
                _action(member.get("decision")) if member.get("decision") else "—",
                escape(window),
                status(endpoint) if endpoint else "",
                after + f'<br><code>{escape(json.dumps({"ml_model_id": choice}))}</code>',
            ]
        )  # fmt: skip
    header = ["model", "run", "metric", "its decision", "trained on", "endpoint", "rolling back to it"]
    return (
        '<p class="muted">Trigger the family\'s rollback DAG with the configuration shown to roll back to a '
        "model; an empty <code>ml_model_id</code> goes to the previous champion.</p>"
        f'<div class="panel" id="rollback">{table(header, rows)}</div>'
    )


# Small pieces


def _model(site: Site, model_id: Any) -> str:
    if not model_id:
        return "—"
    return f'<a class="model" href="{escape(site.model_href(str(model_id)))}"{site.external}>{escape(str(model_id))}</a>'


def _action(action: Any) -> str:
    text = str(action or "")
    return f'<span class="status action {ACTION_CLASS.get(text, "NONE")}">{escape(text)}</span>'


def _estimate(event: Mapping[str, Any], role: str) -> tuple[float | None, float | None, float | None]:
    contestant = event.get(role) or {}
    return tuple(_float(contestant.get(key)) for key in ("value", "low", "high"))  # type: ignore[return-value]


def _interval(contestant: Mapping[str, Any]) -> str:
    value, low, high = (_float(contestant.get(key)) for key in ("value", "low", "high"))
    if value is None:
        return "—"
    bounds = f" [{number(low)}, {number(high)}]" if low is not None and high is not None else ""
    return escape(number(value) + bounds)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> str:
    """An ISO time as ``2026-01-05 00:05:00`` (the log's times are UTC)."""
    return str(value or "").replace("T", " ").removesuffix("+00:00")


def _day(value: Any) -> str:
    return str(value or "")[:10]


def _count(value: Any) -> str:
    number_ = _float(value)
    return "—" if number_ is None else f"{int(number_):,}"


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
