"""The datasource page: Data Insights from statistics.json, per attribute by type, failures highlighted."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aml_provider.local.protocol.console import entity
from aml_provider.pages.layout import cards, entity_crumbs, page, table
from aml_provider.pages.svg import PALETTE, bar_list, histogram, number

TYPES = ("NUMERIC", "BINARY", "CATEGORICAL", "TEXT")
#: A share of missing values above this is highlighted.
MISSING_ALERT = 0.10


def data_source_page(data_source: dict[str, Any], statistics: dict[str, Any] | None) -> str:
    """The page of one datasource; `statistics` is its statistics.json (None without ComputeStatistics)."""
    data_source_id = data_source.get("DataSourceId", "")
    body = entity.header("DataSource", data_source)
    if statistics:
        body.extend(insights(statistics, _row_id(data_source.get("DataSourceSchema"))))
    elif data_source.get("Status") == "COMPLETED":
        body.append(
            '<p class="muted">No Data Insights: the datasource was created without ComputeStatistics.</p>'
        )
    body.extend(["<h2>Details</h2>", *entity.details("DataSource", data_source, open_=not statistics)])
    return page(f"DataSource {data_source_id}", body, entity_crumbs("DataSource", data_source_id))


def type_of(document: dict[str, Any]) -> str:
    """An attribute's type, from the figures its statistics hold."""
    if "histogram" in document:
        return "NUMERIC"
    if "trueCount" in document:
        return "BINARY"
    if "topWords" in document:
        return "TEXT"
    return "CATEGORICAL"


def _row_id(schema: str | None) -> str | None:
    """The schema's rowId attribute (an identifier, not an input: it has no correlation to show)."""
    try:
        document = json.loads(schema or "{}")
    except ValueError:
        return None
    return document.get("rowId") if isinstance(document, dict) else None


def insights(statistics: dict[str, Any], row_id: str | None = None) -> list[str]:
    """Data Insights: the summary, the target's distribution, correlations and every attribute by type."""
    attributes: dict[str, dict[str, Any]] = statistics.get("attributes", {})
    records, bad = int(statistics.get("records", 0)), int(statistics.get("invalidRecords", 0))
    target = statistics.get("target")
    by_type = {kind: [n for n, d in attributes.items() if type_of(d) == kind] for kind in TYPES}
    figures = [
        (escape(number(records)), "records processed"),
        (f'<span class="{"bad" if bad else ""}">{escape(number(bad))}</span>', "bad records"),
        *((str(len(names)), f"{kind.lower()} attributes") for kind, names in by_type.items() if names),
    ]
    parts = ["<h2>Data Insights</h2>", cards(figures)]
    if target and target in attributes:
        parts.append(f'<div class="panel" id="target-distribution"><h3>Target distribution: {escape(target)}</h3>'
                     f"{_distribution(attributes[target], records)}</div>")  # fmt: skip
        parts.append(_correlations(attributes, target, row_id))
    else:
        parts.append("<p class=muted>No target attribute: no target distribution or correlations.</p>")
    for kind, names in by_type.items():
        if names:
            parts.append(f"<h2>{kind.capitalize()} attributes</h2>")
            parts.append(_SECTIONS[kind]([(n, attributes[n]) for n in names], records, target, row_id))
    return parts


def _distribution(document: dict[str, Any], records: int) -> str:
    kind = type_of(document)
    if kind == "NUMERIC":
        edges, counts = document["histogram"]["edges"], document["histogram"]["counts"]
        return histogram("distribution", edges, [("", counts, PALETTE[0])], "value").svg() if counts else "—"
    if kind == "BINARY":
        items = [("1 (true)", float(document["trueCount"])), ("0 (false)", float(document["falseCount"]))]
        return bar_list(items, text=[_share(v, records) for _, v in items])
    if kind == "TEXT":
        return bar_list([(w, float(c)) for w, c in document.get("topWords", [])])
    return _top_values(document, records)


def _top_values(document: dict[str, Any], records: int) -> str:
    """The 10 most frequent values and all the others together."""
    top = [(str(value), float(count)) for value, count in document.get("top", [])]
    other = records - document.get("missing", 0) - sum(count for _, count in top)
    if other > 0:
        top.append(("(other)", float(other)))
    return bar_list(top, text=[_share(count, records) for _, count in top], highlight="(other)")


def _correlations(attributes: dict[str, dict[str, Any]], target: str, row_id: str | None) -> str:
    ranked = sorted(
        (
            (name, d.get("targetCorrelation"))
            for name, d in attributes.items()
            if name not in (target, row_id)
        ),
        key=lambda item: -(item[1] or 0),
    )
    chart = bar_list([(n, float(c or 0)) for n, c in ranked], text=[number(c) for _, c in ranked])
    return f'<div class="panel" id="correlations"><h3>Correlation to the target (mutual information)</h3>{chart}</div>'


def _numeric(
    items: list[tuple[str, dict[str, Any]]], records: int, target: str | None, row_id: str | None
) -> str:
    rows = []
    for name, d in items:
        counts = d.get("histogram", {}).get("counts", [])
        chart = (
            histogram(
                f"{name} distribution",
                d["histogram"]["edges"],
                [("", counts, PALETTE[0])],
                "",
                "",
                width=300,
                height=140,
            ).svg()  # fmt: skip
            if counts
            else "—"
        )
        rows.append([
            _name(name, target, row_id), f"{number(d.get('min'))} – {number(d.get('max'))}", number(d.get("mean")),
            number(d.get("median")), _flagged(d.get("missing", 0), records), _flagged(d.get("invalid", 0), records, 0),
            number(d.get("targetCorrelation")), chart,
        ])  # fmt: skip
    header = ["attribute", "range", "mean", "median", "missing", "invalid", "correlation", "distribution"]
    return table(header, rows, numeric=(2, 3, 4, 5, 6))


def _binary(
    items: list[tuple[str, dict[str, Any]]], records: int, target: str | None, row_id: str | None
) -> str:
    rows = []
    for name, d in items:
        true, false = d.get("trueCount", 0), d.get("falseCount", 0)
        share = true / (true + false) if true + false else 0.0
        rows.append([
            _name(name, target, row_id), bar_list([("true", share)], scale_max=1.0, text=[f"{share:.1%}"], label_width=40),
            f"{true} / {false}", _flagged(d.get("missing", 0), records), _flagged(d.get("invalid", 0), records, 0),
            number(d.get("targetCorrelation")),
        ])  # fmt: skip
    header = ["attribute", "percent true", "true / false", "missing", "invalid", "correlation"]
    return table(header, rows, numeric=(3, 4, 5))


def _categorical(
    items: list[tuple[str, dict[str, Any]]], records: int, target: str | None, row_id: str | None
) -> str:
    rows = []
    for name, d in items:
        top = d.get("top", [])
        rows.append([
            _name(name, target, row_id), number(d.get("unique")), escape(str(top[0][0])) if top else "—",
            escape(str(top[-1][0])) if top else "—", _flagged(d.get("missing", 0), records),
            number(d.get("targetCorrelation")), _top_values(d, records),
        ])  # fmt: skip
    header = [
        "attribute",
        "unique",
        "most frequent",
        "10th most frequent",
        "missing",
        "correlation",
        "top 10 and other",
    ]
    return table(header, rows, numeric=(1, 4, 5))


def _text(
    items: list[tuple[str, dict[str, Any]]], records: int, target: str | None, row_id: str | None
) -> str:
    rows = []
    for name, d in items:
        words = bar_list([(w, float(c)) for w, c in d.get("topWords", [])])
        rows.append([
            _name(name, target, row_id), number(d.get("words")), number(d.get("uniqueWords")), _span(d.get("wordsPerRow")),
            _span(d.get("wordLength")), number(d.get("targetCorrelation")), words,
        ])  # fmt: skip
    header = [
        "attribute",
        "words",
        "unique words",
        "words per row",
        "word length",
        "correlation",
        "prominent words",
    ]
    return table(header, rows, numeric=(1, 2, 5))


_SECTIONS = {"NUMERIC": _numeric, "BINARY": _binary, "CATEGORICAL": _categorical, "TEXT": _text}


def _name(name: str, target: str | None, row_id: str | None) -> str:
    role = "target" if name == target else "row ID" if name == row_id else ""
    return f"<b>{escape(name)}</b>" + (f' <span class="muted">({role})</span>' if role else "")


def _flagged(count: int, records: int, allowed: float = MISSING_ALERT) -> str:
    """A count of missing or invalid values, highlighted past the allowed share of records."""
    text = f"{count} ({_share(count, records)})" if count else "0"
    return f'<span class="bad">{text}</span>' if records and count / records > allowed else text


def _share(count: float, records: int) -> str:
    return f"{count / records:.1%}" if records else "—"


def _span(pair: list[int] | None) -> str:
    return f"{pair[0]} – {pair[1]}" if pair else "—"
