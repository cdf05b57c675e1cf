"""Small generated data for the Airflow tests: a learnable binary problem and its schema."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tests.helpers import unique_id, wait_for

SCHEMA: dict[str, Any] = {
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


def trained_models(
    ml: Any, location: str, count: int, prefix: str, timeout: float = 120
) -> tuple[str, list[str]]:
    """A COMPLETED data source over `location` (with SCHEMA) and `count` COMPLETED BINARY models on it."""
    source = unique_id(f"ds-{prefix}")
    ml.create_data_source_from_s3(
        DataSourceId=source,
        DataSpec={"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)},
        ComputeStatistics=True,
    )
    models = [unique_id(f"ml-{prefix}") for _ in range(count)]
    for model in models:
        ml.create_ml_model(MLModelId=model, MLModelType="BINARY", TrainingDataSourceId=source)
    for kind, entity in [("DataSource", source), *(("MLModel", model) for model in models)]:
        assert wait_for(ml, kind, entity, timeout=timeout)["Status"] == "COMPLETED"
    return source, models
