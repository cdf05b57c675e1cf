"""Small self-contained HTML pages: one per entity (its status, message, fields and log) and an index."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from botocore.model import Shape, StructureShape

from aml_provider.local.protocol.validation import service_model

KINDS = ("DataSource", "MLModel", "Evaluation", "BatchPrediction")
PLURALS = {"DataSource": "DataSources", "MLModel": "MLModels", "Evaluation": "Evaluations",
           "BatchPrediction": "BatchPredictions"}  # fmt: skip
#: Fields that name another entity, by the kind they name.
_REFERENCES = {
    "DataSourceId": "DataSource",
    "TrainingDataSourceId": "DataSource",
    "EvaluationDataSourceId": "DataSource",
    "BatchPredictionDataSourceId": "DataSource",
    "MLModelId": "MLModel",
    "EvaluationId": "Evaluation",
    "BatchPredictionId": "BatchPrediction",
}
_LONG_TEXT = ("Message", "Recipe", "Schema", "DataSourceSchema", "DataRearrangement")
_STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{width:16rem;color:#555;font-weight:600}
pre{background:#f6f6f6;padding:.7rem;overflow:auto;white-space:pre-wrap} a{color:#0b62a4}
.status{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;font-size:.85rem}
.COMPLETED,.READY{background:#d8f3dc}.FAILED{background:#ffd6d6}.PENDING,.INPROGRESS,.UPDATING{background:#fff1c1}
.DELETED,.NONE{background:#e5e5e5} .message{border-left:4px solid #c33;padding-left:.7rem}
"""


def entity_page(kind: str, entity: dict[str, Any]) -> str:
    """The console page of one entity, as GetX describes it."""
    entity_id = entity.get(f"{kind}Id", "")
    status = entity.get("Status", "")
    shape = service_model().operation_model(f"Get{kind}").output_shape
    body = [
        '<p><a href="/console">All entities</a></p>',
        f"<h1>{escape(kind)} {escape(entity_id)}</h1>",
        f"<p>{escape(entity.get('Name') or '')} {_status(status)}</p>",
    ]
    if entity.get("Message"):
        body.append(f'<pre class="message">{escape(entity["Message"])}</pre>')
    if entity.get("LogUri"):
        body.append(f'<p><a href="{escape(entity["LogUri"])}">Log</a></p>')
    body.append(_table(shape, {k: v for k, v in entity.items() if k not in (*_LONG_TEXT, "LogUri")}))
    for name in _LONG_TEXT[1:]:
        if entity.get(name):
            body.append(f"<h2>{escape(name)}</h2><pre>{escape(str(entity[name]))}</pre>")
    return _page(f"{kind} {entity_id}", body)


def index_page(listings: dict[str, list[dict[str, Any]]]) -> str:
    """Every entity kind with its most recent entities, linked to their pages."""
    body = ["<h1>Amazon ML (local)</h1>"]
    for kind, entities in listings.items():
        body.append(f"<h2>{escape(PLURALS[kind])}</h2>")
        if not entities:
            body.append("<p>None yet.</p>")
            continue
        rows = "".join(
            f"<tr><td>{_link(kind, e[f'{kind}Id'])}</td><td>{escape(e.get('Name') or '')}</td>"
            f"<td>{_status(e.get('Status', ''))}</td><td>{_time(e.get('CreatedAt'))}</td></tr>"
            for e in entities
        )
        body.append(f"<table><tr><th>Id</th><th>Name</th><th>Status</th><th>Created</th></tr>{rows}</table>")
    return _page("Amazon ML (local)", body)


def not_found_page(kind: str, entity_id: str) -> str:
    return _page(
        "Not found",
        [f"<h1>No {escape(kind)} {escape(entity_id)}</h1>", '<p><a href="/console">All entities</a></p>'],
    )


def _table(shape: Shape | None, fields: dict[str, Any]) -> str:
    rows = []
    for name, value in fields.items():
        member = shape.members.get(name) if isinstance(shape, StructureShape) else None
        rows.append(f"<tr><th>{escape(name)}</th><td>{_value(name, member, value)}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _value(name: str, shape: Shape | None, value: Any) -> str:
    if isinstance(value, dict):
        return _table(shape, value)
    if shape is not None and shape.type_name == "timestamp":
        return _time(value)
    if name in _REFERENCES and isinstance(value, str):
        return _link(_REFERENCES[name], value)
    if name in ("Status", "EndpointStatus"):
        return _status(str(value))
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f'<a href="{escape(value)}">{escape(value)}</a>'
    return escape(str(value))


def _link(kind: str, entity_id: str) -> str:
    return f'<a href="/console/{escape(kind)}/{escape(entity_id)}">{escape(entity_id)}</a>'


def _status(status: str) -> str:
    return f'<span class="status {escape(status)}">{escape(status)}</span>' if status else ""


def _time(value: Any) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _page(title: str, body: list[str]) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
