"""What the operation tests share: a binary schema, its CSV rows, datasources over them, and helpers for
errors, Get and endpoints."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import put_text, unique_id
from tests.output_shapes import assert_valid_output

SCHEMA = {
    "version": "1.0",
    "dataFormat": "CSV",
    "dataFileContainsHeader": True,
    "targetAttributeName": "y",
    "attributes": [
        {"attributeName": "x1", "attributeType": "NUMERIC"},
        {"attributeName": "x2", "attributeType": "NUMERIC"},
        {"attributeName": "color", "attributeType": "CATEGORICAL"},
        {"attributeName": "y", "attributeType": "BINARY"},
    ],
}
ROWS = 300


def binary_csv(rows: int = ROWS, seed: int = 7) -> str:
    """Rows whose label y follows x1, x2 and color, with a little noise."""
    rng = random.Random(seed)
    lines = ["x1,x2,color,y"]
    for _ in range(rows):
        x1, x2, color = rng.random(), rng.random(), rng.choice(["red", "green", "blue"])
        score = x1 + 0.5 * x2 + (0.4 if color == "red" else 0.0) + rng.gauss(0, 0.1)
        lines.append(f"{x1:.4f},{x2:.4f},{color},{int(score > 1.0)}")
    return "\n".join(lines) + "\n"


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def get(ml: Any, kind: str, entity_id: str, **members: Any) -> dict[str, Any]:
    response: dict[str, Any] = getattr(ml, f"get_{snake(kind)}")(**{f"{kind}Id": entity_id}, **members)
    assert_valid_output(f"Get{kind}", response)
    return response


def snake(kind: str) -> str:
    return {"DataSource": "data_source", "MLModel": "ml_model"}.get(kind) or re.sub(
        r"(?<!^)([A-Z])", r"_\1", kind
    ).lower()


def s3_data_source(ml: Any, s3: Any, bucket: str, rows: int = ROWS, seed: int = 7, **members: Any) -> str:
    """A new datasource over fresh CSV data in S3; answers its ID."""
    data_source_id = unique_id("ds")
    location = put_text(s3, bucket, f"{data_source_id}/data.csv", binary_csv(rows, seed))
    spec = {"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)} | members.pop("DataSpec", {})
    response = ml.create_data_source_from_s3(DataSourceId=data_source_id, DataSpec=spec, **members)
    assert_valid_output("CreateDataSourceFromS3", response)
    assert response["DataSourceId"] == data_source_id
    return data_source_id


def wait_for_endpoint(ml: Any, model_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll until the model's endpoint is no longer UPDATING; answer its EndpointInfo."""
    deadline = time.monotonic() + timeout
    while (info := get(ml, "MLModel", model_id)["EndpointInfo"])["EndpointStatus"] == "UPDATING":
        assert time.monotonic() < deadline, "the endpoint stayed UPDATING"
        time.sleep(0.05)
    return dict(info)
