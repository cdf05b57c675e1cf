"""The console's page frame and the small pieces every page uses: links, status badges, times, tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from botocore.model import Shape, StructureShape

KINDS = ("DataSource", "MLModel", "Evaluation", "BatchPrediction")
PLURALS = {"DataSource": "DataSources", "MLModel": "MLModels", "Evaluation": "Evaluations",
           "BatchPrediction": "BatchPredictions"}  # fmt: skip
#: Fields that name another entity, by the kind they name.
REFERENCES = {
    "DataSourceId": "DataSource",
    "TrainingDataSourceId": "DataSource",
    "EvaluationDataSourceId": "DataSource",
    "BatchPredictionDataSourceId": "DataSource",
    "MLModelId": "MLModel",
    "EvaluationId": "Evaluation",
    "BatchPredictionId": "BatchPrediction",
}
STYLE = """
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#232f3e;color:#fff;padding:.6rem 1.5rem;display:flex;gap:2rem;align-items:baseline}
header a{color:#fff;text-decoration:none} header nav a{margin-right:1.2rem;color:#d5dbdb;font-size:.9rem}
main{max-width:68rem;margin:1.2rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.4rem 0 .2rem} h2{font-size:1.1rem;margin:1.8rem 0 .6rem} h3{font-size:1rem;margin:1rem 0 .3rem}
.crumbs{color:#666;font-size:.9rem} .crumbs a{color:#0b62a4}
table{border-collapse:collapse;width:100%;background:#fff} td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{color:#555;font-weight:600} table.fields th{width:16rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f3f3f3;padding:.7rem;overflow:auto;white-space:pre-wrap;max-height:24rem} a{color:#0b62a4}
.status{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;font-size:.85rem}
.COMPLETED,.READY{background:#d8f3dc}.FAILED{background:#ffd6d6}.PENDING,.INPROGRESS,.UPDATING{background:#fff1c1}
.DELETED,.NONE{background:#e5e5e5}
.message,.alert{border-left:4px solid #c33;background:#fff4f4;padding:.5rem .8rem;margin:.6rem 0}
.alert.ok{border-color:#2a8a3e;background:#f1faf3} .notice{border-left:4px solid #0b62a4;background:#eef5fb;padding:.5rem .8rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:.8rem 0}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:.4rem;padding:.5rem .8rem;min-width:7.5rem}
.card b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums} .card>span{color:#666;font-size:.85rem}
.panel{background:#fff;border:1px solid #e3e3e3;border-radius:.4rem;padding:.8rem;margin:.8rem 0;overflow-x:auto}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(30rem,1fr));gap:.8rem}
.bad{color:#b00020;font-weight:600} .muted{color:#777}
svg.chart{max-width:100%;height:auto;font-size:11px} svg .grid{stroke:#eee} svg .axis{stroke:#999}
svg .tick{fill:#555} svg .label{fill:#333;font-size:12px} svg .legend text{fill:#333}
svg .marker line{stroke:#b00020;stroke-width:2} svg .marker text{fill:#b00020}
svg .marker-dot{fill:#b00020;stroke:#fff;stroke-width:2}
.pager{margin:.8rem 0;display:flex;gap:1rem;align-items:center}
table.wide td{white-space:nowrap} td.result,th.result{background:#f2f7fc}
input[type=range]{width:22rem;vertical-align:middle} button{padding:.3rem .9rem}
.trend{white-space:nowrap} svg.sparkline{vertical-align:middle}
"""


def page(
    title: str,
    body: Iterable[str],
    crumbs: Sequence[tuple[str, str]] = (),
    script: str = "",
    header: str | None = None,
) -> str:
    """A whole HTML page: header (the console's unless given, as markup), breadcrumbs (text, href), body
    parts and an optional inline script."""
    trail = " › ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in crumbs)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><style>{STYLE}</style></head>'
        f"<body><header>{console_header() if header is None else header}</header><main>"
        f"{f'<p class=crumbs>{trail}</p>' if trail else ''}{''.join(body)}</main>"
        f"{f'<script>{script}</script>' if script else ''}</body></html>"
    )


def console_header() -> str:
    nav = "".join(f'<a href="/console/{kind}">{PLURALS[kind]}</a>' for kind in KINDS)
    return f'<a href="/console"><b>Amazon ML</b> (local)</a><nav>{nav}<a href="/console/families">Families</a></nav>'


def entity_crumbs(kind: str, entity_id: str) -> list[tuple[str, str]]:
    return [
        ("Console", "/console"),
        (PLURALS[kind], f"/console/{kind}"),
        (entity_id, entity_href(kind, entity_id)),
    ]


def entity_href(kind: str, entity_id: str) -> str:
    return f"/console/{quote(kind)}/{quote(entity_id)}"


def link(kind: str, entity_id: str, text: str | None = None) -> str:
    return f'<a href="{escape(entity_href(kind, entity_id))}">{escape(text or entity_id)}</a>'


def status(value: str) -> str:
    return f'<span class="status {escape(value)}">{escape(value)}</span>' if value else ""


def when(value: Any) -> str:
    """A timestamp (datetime or epoch seconds) as UTC text."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def cards(items: Iterable[tuple[str, str]]) -> str:
    """Key figures: (already escaped value, label)."""
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{value}</b><span>{escape(label)}</span></div>' for value, label in items
        )
        + "</div>"
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of already escaped cells; columns in `numeric` align right."""
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def pairs(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, already escaped value)."""
    return (
        '<table class="fields">'
        + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</table>"
    )


def fields_table(shape: Shape | None, fields: dict[str, Any]) -> str:
    """Every field of an API document, formatted by its shape (times, references, statuses, links)."""
    rows = []
    for name, value in fields.items():
        member = shape.members.get(name) if isinstance(shape, StructureShape) else None
        rows.append(f"<tr><th>{escape(name)}</th><td>{_value(name, member, value)}</td></tr>")
    return f'<table class="fields">{"".join(rows)}</table>'


def _value(name: str, shape: Shape | None, value: Any) -> str:
    if isinstance(value, dict):
        return fields_table(shape, value)
    if shape is not None and shape.type_name == "timestamp":
        return when(value)
    if name in REFERENCES and isinstance(value, str):
        return link(REFERENCES[name], value)
    if name in ("Status", "EndpointStatus"):
        return status(str(value))
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f'<a href="{escape(value)}">{escape(value)}</a>'
    return escape(str(value))
