"""Small generated data for the Airflow tests: a learnable binary problem and its schema."""

from __future__ import annotations

import numpy as np

SCHEMA = {
    "version": "1.0",
    "targetAttributeName": "label",
    "dataFormat": "CSV",
    "dataFileContainsHeader": True,
    "attributes": [
        {"attributeName": "x1", "attributeType": "NUMERIC"},
        {"attributeName": "x2", "attributeType": "NUMERIC"},
        {"attributeName": "colour", "attributeType": "CATEGORICAL"},
        {"attributeName": "label", "attributeType": "BINARY"},
    ],
}
SCHEMA_WITHOUT_TARGET = {key: value for key, value in SCHEMA.items() if key != "targetAttributeName"}


def labelled_records(count: int, seed: int = 7) -> list[dict[str, object]]:
    """A learnable binary problem: label is 1 when x1 + x2 (plus a little noise) is positive."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=count), rng.normal(size=count)
    colours = rng.choice(["red", "green", "blue"], size=count)
    labels = x1 + x2 + rng.normal(scale=0.3, size=count) > 0
    return [
        {"x1": round(float(a), 4), "x2": round(float(b), 4), "colour": str(c), "label": int(y)}
        for a, b, c, y in zip(x1, x2, colours, labels, strict=True)
    ]


def labelled_rows(count: int, seed: int = 7) -> str:
    """The records as CSV text with a header line."""
    lines = ["x1,x2,colour,label"]
    lines += [",".join(str(value) for value in record.values()) for record in labelled_records(count, seed)]
    return "\n".join(lines) + "\n"
