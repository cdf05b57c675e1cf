"""Training on more rows than the memory budget: every pass streams them from disk, and the model is the
same as when they are kept in memory (a service with a budget of 0 bytes against the default one)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from aml_provider.local import LocalAml
from tests.helpers import put_text, schema_text, unique_id, wait_for


@pytest.fixture(scope="module")
def streaming(aml: LocalAml) -> Iterator[LocalAml]:
    """A second service on the same S3 that keeps no training rows in memory."""
    with LocalAml(s3_endpoint_url=aml.s3_endpoint_url, training_memory_bytes=0) as service:
        yield service


def train(ml: Any, data_uri: str, model_id: str, parameters: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Data source, model and evaluation on the same rows; the model and its evaluation's AUC."""
    source_id = unique_id("ds-memory")
    schema = schema_text(x="NUMERIC", z="NUMERIC", kind="CATEGORICAL", y="BINARY")
    ml.create_data_source_from_s3(
        DataSourceId=source_id,
        DataSpec={"DataLocationS3": data_uri, "DataSchema": schema},
        ComputeStatistics=True,
    )
    assert wait_for(ml, "DataSource", source_id)["Status"] == "COMPLETED"
    ml.create_ml_model(
        MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source_id, Parameters=parameters
    )
    model = wait_for(ml, "MLModel", model_id, timeout=120)
    assert model["Status"] == "COMPLETED", model.get("Message")
    evaluation_id = unique_id("ev-memory")
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=source_id)
    evaluation = wait_for(ml, "Evaluation", evaluation_id)
    return model, evaluation["PerformanceMetrics"]["Properties"]["BinaryAUC"]


def log_of(model: dict[str, Any]) -> str:
    with urllib.request.urlopen(model["LogUri"]) as response:
        return str(response.read().decode())


@pytest.mark.parametrize(
    "parameters",
    [{}, {"sgd.l1RegularizationAmount": "1e-4", "sgd.shuffleType": "auto"}],
    ids=["L-BFGS", "SGD, shuffled"],
)
def test_rows_streamed_from_disk_train_the_same_model_as_rows_in_memory(
    aml: LocalAml, streaming: LocalAml, s3: Any, bucket: str, parameters: dict[str, str]
) -> None:
    rng = np.random.default_rng(5)
    x, z = rng.normal(size=4000), rng.normal(size=4000)
    kinds = rng.choice(["a", "b", "c"], size=4000)
    y = (x + 0.5 * z + (kinds == "a") + rng.normal(scale=0.8, size=4000) > 0.5).astype(int)
    rows = "".join(f"{a:.4f},{b:.4f},{k},{t}\n" for a, b, k, t in zip(x, z, kinds, y, strict=True))
    data_uri = put_text(s3, bucket, unique_id("memory") + "/data.csv", "x,z,kind,y\n" + rows)
    model_id = unique_id("ml-memory")  # one ID in both services: the same shuffle

    in_memory, auc_in_memory = train(aml.client(), data_uri, model_id, parameters)
    streamed, auc_streamed = train(streaming.client(), data_uri, model_id, parameters)

    assert "kept in memory" in log_of(in_memory)
    assert "streamed from disk at every pass (budget 0 bytes)" in log_of(streamed)
    assert auc_streamed == auc_in_memory
    assert float(auc_in_memory) > 0.8
