"""What every entity page shows: its title, status, failure message, log link and every API field."""

from __future__ import annotations

from html import escape
from typing import Any

from aml_provider.local.protocol.validation import service_model
from aml_provider.pages.layout import entity_crumbs, fields_table, page, status

LONG_TEXT = ("Message", "Recipe", "Schema", "DataSourceSchema", "DataRearrangement")


def header(kind: str, entity: dict[str, Any]) -> list[str]:
    """Title, name and status, the failure message (highlighted) and the log link."""
    parts = [
        f"<h1>{escape(kind)} {escape(entity.get(f'{kind}Id', ''))}</h1>",
        f"<p>{escape(entity.get('Name') or '')} {status(entity.get('Status', ''))}</p>",
    ]
    if entity.get("Message"):
        parts.append(f'<pre class="message">{escape(entity["Message"])}</pre>')
    if entity.get("LogUri"):
        parts.append(f'<p><a href="{escape(entity["LogUri"])}">Log</a></p>')
    return parts


def details(kind: str, entity: dict[str, Any], open_: bool = False) -> list[str]:
    """Every field as Get{kind} returns it, then the long texts (recipe, schema, rearrangement)."""
    shape = service_model().operation_model(f"Get{kind}").output_shape
    fields = {k: v for k, v in entity.items() if k not in (*LONG_TEXT, "LogUri")}
    parts = [
        f"<details{' open' if open_ else ''}><summary><b>All fields</b></summary>",
        fields_table(shape, fields),
    ]
    for name in LONG_TEXT[1:]:
        if entity.get(name):
            parts.append(f"<h3>{escape(name)}</h3><pre>{escape(str(entity[name]))}</pre>")
    parts.append("</details>")
    return parts


def generic_page(kind: str, entity: dict[str, Any], extra: list[str] | None = None) -> str:
    """An entity page: header, `extra` parts, then all fields."""
    entity_id = entity.get(f"{kind}Id", "")
    body = [
        *header(kind, entity),
        *(extra or []),
        "<h2>Details</h2>",
        *details(kind, entity, open_=not extra),
    ]
    return page(f"{kind} {entity_id}", body, entity_crumbs(kind, entity_id))
