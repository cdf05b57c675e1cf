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


def labelled_rows(count: int, seed: int = 7) -> str:
    """CSV text of a learnable binary problem: label is 1 when x1 + x2 (plus noise) is positive."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=count), rng.normal(size=count)
    colours = rng.choice(["red", "green", "blue"], size=count)
    labels = (x1 + x2 + rng.normal(scale=0.3, size=count) > 0).astype(int)
    lines = ["x1,x2,colour,label"]
    lines += [f"{a:.4f},{b:.4f},{c},{y}" for a, b, c, y in zip(x1, x2, colours, labels, strict=True)]
    return "\n".join(lines) + "\n"
