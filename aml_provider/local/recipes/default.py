"""The recipe used when a model is created without one: Amazon ML's shape, bin counts from the statistics."""

from __future__ import annotations

import json
from typing import Any

from aml_provider.local.data import Schema
from aml_provider.local.recipes.lexer import quote_name, quoted
from aml_provider.local.recipes.processors import BINARY, CATEGORICAL, NUMERIC, TEXT

BIN_COUNTS = (10, 20, 50, 100, 200, 500)
#: Fewest training rows a quantile bin should hold on average.
ROWS_PER_BIN = 10


def default_recipe(schema: Schema, statistics: dict[str, Any] | None) -> str:
    """Recipe JSON: binary, categorical and text inputs as they are, each numeric input quantile-binned.

    Bin count rule: the largest of 10, 20, 50, 100, 200, 500 that is at most the attribute's distinct
    values and leaves at least ROWS_PER_BIN rows per bin (never below 10). Without statistics numeric
    inputs stay raw, since binning needs the training quantiles.
    """
    inputs = schema.feature_names
    present = {schema.type_of(name) for name in inputs}
    groups: dict[str, list[str]] = {}
    raw: list[str] = []
    for name in (n for n in inputs if schema.type_of(n) == NUMERIC):
        bins = None if statistics is None else _bin_count(statistics, name)
        if bins is None:
            raw.append(quote_name(name))
        else:
            groups.setdefault(f"NUMERIC_VARS_QB_{bins}", []).append(name)
    outputs = [
        group for group, kind in (("ALL_BINARY", BINARY), ("ALL_CATEGORICAL", CATEGORICAL)) if kind in present
    ]
    outputs += [f"quantile_bin({group},{group.rsplit('_', 1)[1]})" for group in groups]
    outputs += ["ALL_NUMERIC"] if statistics is None and raw else raw
    outputs += ["ALL_TEXT"] if TEXT in present else []
    recipe = {
        "groups": {group: _group(members) for group, members in groups.items()},
        "assignments": {},
        "outputs": outputs or ["ALL_INPUTS"],
    }
    return json.dumps(recipe, indent=2)


def _bin_count(statistics: dict[str, Any], name: str) -> int | None:
    found = (statistics.get("attributes") or {}).get(name)
    if not found or not found.get("quantiles"):
        return None
    rows = (
        int(statistics.get("records") or 0) - int(found.get("missing") or 0) - int(found.get("invalid") or 0)
    )
    distinct = int(found.get("distinct") or rows)
    fitting = [n for n in BIN_COUNTS if n <= distinct and n * ROWS_PER_BIN <= rows]
    return max(fitting, default=BIN_COUNTS[0])


def _group(members: list[str]) -> str:
    return "group(" + ",".join(quoted(member) for member in members) + ")"
