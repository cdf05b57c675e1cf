"""Index pages: the most recent entities of every kind, and one kind's entities page by page."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from aml_provider.pages.layout import KINDS, PLURALS, link, page, status, table, when

#: Entities of each kind on the console's home page, and per page of a kind's index.
RECENT = 10
PAGE_SIZE = 50
STATUSES = ("PENDING", "INPROGRESS", "COMPLETED", "FAILED", "DELETED")


def home_page(listings: dict[str, tuple[list[dict[str, Any]], bool]]) -> str:
    """Every kind with its most recent entities; `listings` maps kind -> (entities, whether there are more)."""
    body = ["<h1>Amazon ML (local)</h1>"]
    for kind, (entities, more) in listings.items():
        body.append(f'<h2><a href="/console/{kind}">{PLURALS[kind]}</a></h2>')
        body.append(_entities(kind, entities) if entities else "<p class=muted>None yet.</p>")
        if more:
            body.append(f'<p><a href="/console/{kind}">All {PLURALS[kind]} →</a></p>')
    return page("Amazon ML (local)", body)


def kind_page(kind: str, entities: list[dict[str, Any]], number: int, has_next: bool, state: str = "") -> str:
    """Page `number` (from 1) of one kind's entities, newest first, optionally only those in `state`."""
    first = (number - 1) * PAGE_SIZE + 1
    shown = f"{first}–{first + len(entities) - 1}" if entities else "none"
    options = "".join(
        f'<option value="{s}"{" selected" if s == state else ""}>{s or "any status"}</option>'
        for s in ("", *STATUSES)
    )
    query = f"&status={state}" if state else ""
    previous = (
        f'<a id="previous" href="/console/{kind}?page={number - 1}{query}">← previous</a>'
        if number > 1
        else ""
    )
    following = f'<a id="next" href="/console/{kind}?page={number + 1}{query}">next →</a>' if has_next else ""
    pager = (
        f'<div class="pager">{previous}<span id="page">page {number}, entries {shown}</span>{following}</div>'
    )
    body = [
        f"<h1>{PLURALS[kind]}</h1>",
        f'<form method="get"><label>Status <select name="status">{options}</select></label> '
        "<button>Show</button></form>",
        pager,
        _entities(kind, entities) if entities else "<p class=muted>None.</p>",
        pager,
    ]
    return page(PLURALS[kind], body, [("Console", "/console"), (PLURALS[kind], f"/console/{kind}")])


def not_found_page(kind: str, entity_id: str) -> str:
    known = ", ".join(KINDS)
    return page(
        "Not found",
        [f"<h1>No {escape(kind)} {escape(entity_id)}</h1>",
         f'<p>The console shows {known}. <a href="/console">All entities</a></p>'],
    )  # fmt: skip


def error_page(message: str, kind: str, entity_id: str) -> str:
    """What went wrong, with a way back to the entity."""
    return page(
        "Not done",
        [f'<p class="alert">{escape(message)}</p>', f"<p>Back to {link(kind, entity_id)}.</p>"],
        [("Console", "/console"), (PLURALS[kind], f"/console/{kind}")],
    )


def _entities(kind: str, entities: list[dict[str, Any]]) -> str:
    title, cell = _EXTRA[kind]
    rows = [
        [link(kind, e[f"{kind}Id"]), escape(e.get("Name") or ""), status(e.get("Status", "")), cell(e),
         when(e.get("CreatedAt"))]
        for e in entities
    ]  # fmt: skip
    return table(["Id", "Name", "Status", title, "Created"], rows)


def _model(entity: dict[str, Any]) -> str:
    return link("MLModel", entity["MLModelId"]) if entity.get("MLModelId") else ""


#: The column each kind's index adds: its title and cell.
_EXTRA: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "DataSource": ("Data", lambda e: escape(e.get("DataLocationS3") or "")),
    "MLModel": ("Type", lambda e: escape(e.get("MLModelType") or "")),
    "Evaluation": ("Model", _model),
    "BatchPrediction": ("Model", _model),
}
