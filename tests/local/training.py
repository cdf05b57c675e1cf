"""What the training tests share: schemas of data frames, datasources over them, results, logs, endpoints."""

from __future__ import annotations

import gzip
import io
import json
import time
import urllib.request
from typing import Any

import pandas as pd

from tests.helpers import unique_id, wait_for

TARGET_TYPE = {"BINARY": "BINARY", "MULTICLASS": "CATEGORICAL", "REGRESSION": "NUMERIC"}


def schema_of(frame: pd.DataFrame, model_type: str, target: str | None = "label") -> str:
    types = {"rid": "CATEGORICAL", "label": TARGET_TYPE[model_type]}
    attributes = [{"attributeName": n, "attributeType": types.get(n, "NUMERIC")} for n in frame.columns]
    document = {"version": "1.0", "dataFormat": "CSV", "dataFileContainsHeader": True, "rowId": "rid"}
    return json.dumps({**document, "targetAttributeName": target, "attributes": attributes})


def create_data_source(
    ml: Any, location: str, schema: str, rearrangement: dict[str, Any] | None, statistics: bool = True
) -> str:
    data_source_id = unique_id("ds")
    spec = {"DataLocationS3": location, "DataSchema": schema}
    if rearrangement:
        spec["DataRearrangement"] = json.dumps(rearrangement)
    ml.create_data_source_from_s3(DataSourceId=data_source_id, DataSpec=spec, ComputeStatistics=statistics)
    return data_source_id


def read_results(s3: Any, uri: str) -> pd.DataFrame:
    bucket, key = uri[5:].split("/", 1)
    text = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def read_log(uri: str) -> str:
    with urllib.request.urlopen(uri) as response:
        return response.read().decode()  # type: ignore[no-any-return]


def mount(ml: Any, model_id: str) -> None:
    ml.create_realtime_endpoint(MLModelId=model_id)
    deadline = time.monotonic() + 30
    while ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"] != "READY":
        assert time.monotonic() < deadline, "endpoint did not become READY"
        time.sleep(0.05)


def train_and_score(ml: Any, bucket: str, data_source_id: str, model_type: str) -> tuple[dict[str, Any], str]:
    """Train on the data source (default recipe), batch-predict the same data; the finished batch and its OutputUri."""
    model_id, batch_id = unique_id("ml"), unique_id("bp")
    ml.create_ml_model(MLModelId=model_id, MLModelType=model_type, TrainingDataSourceId=data_source_id)
    output_uri = f"s3://{bucket}/{unique_id('out')}/"
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=data_source_id,
        OutputUri=output_uri,
    )
    return wait_for(ml, "BatchPrediction", batch_id), output_uri
