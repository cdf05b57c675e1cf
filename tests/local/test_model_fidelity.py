"""CreateMLModel and CreateRealtimeEndpoint details that clients rely on, over HTTP with boto3.

Parameters round-trip (GetMLModel's own TrainingParameters, `algorithm` included, are accepted back), empty
Recipe and RecipeUri ask for the suggested recipe, an endpoint created while its model trains becomes READY
once training ends (FAILED when training fails), and a file with bare carriage returns fails saying how to fix it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from aml_provider.local import LocalAml
from tests.helpers import put_text, schema_text, unique_id, wait_for

RECORD = {"x1": "0.9", "x2": "0.1", "color": "red"}


def binary_csv(rows: int = 400, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.random(rows), rng.random(rows)
    color = rng.choice(["red", "green", "blue"], rows)
    y = (x1 - x2 + 0.3 * (color == "red") + rng.normal(0, 0.1, rows) > 0).astype(int)
    lines = [
        "x1,x2,color,y",
        *(f"{a:.4f},{b:.4f},{c},{t}" for a, b, c, t in zip(x1, x2, color, y, strict=True)),
    ]
    return "\n".join(lines) + "\n"


def data_source(ml: Any, s3: Any, bucket: str, statistics: bool = True, text: str | None = None) -> str:
    data_source_id = unique_id("ds")
    location = put_text(s3, bucket, f"{data_source_id}/data.csv", text or binary_csv())
    schema = schema_text(x1="NUMERIC", x2="NUMERIC", color="CATEGORICAL", y="BINARY")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": location, "DataSchema": schema},
        ComputeStatistics=statistics,
    )
    return data_source_id


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def endpoint_status_after_updating(ml: Any, model_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while (status := ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"]) == "UPDATING":
        assert time.monotonic() < deadline, "the endpoint stayed UPDATING"
        time.sleep(0.05)
    return str(status)


def test_training_parameters_from_get_ml_model_are_accepted_back(ml: Any, s3: Any, bucket: str) -> None:
    source = data_source(ml, s3, bucket)
    first = unique_id("ml")
    parameters = {"sgd.maxPasses": "3", "sgd.l2RegularizationAmount": "1e-4", "sgd.shuffleType": "auto"}
    ml.create_ml_model(
        MLModelId=first, MLModelType="BINARY", TrainingDataSourceId=source, Parameters=parameters
    )
    echoed = ml.get_ml_model(MLModelId=first)["TrainingParameters"]
    assert echoed["algorithm"] == "sgd"
    second = unique_id("ml")
    ml.create_ml_model(MLModelId=second, MLModelType="BINARY", TrainingDataSourceId=source, Parameters=echoed)
    assert wait_for(ml, "MLModel", second, timeout=120)["Status"] == "COMPLETED"
    assert ml.get_ml_model(MLModelId=second)["TrainingParameters"] == echoed
    code, message = error_of(
        lambda: ml.create_ml_model(
            MLModelId=unique_id("ml"),
            MLModelType="BINARY",
            TrainingDataSourceId=source,
            Parameters={"algorithm": "xgboost"},
        )
    )
    assert code == "InvalidInputException"
    assert "algorithm must be 'sgd'" in message


def test_empty_recipe_and_recipe_uri_ask_for_the_suggested_recipe(ml: Any, s3: Any, bucket: str) -> None:
    model_id = unique_id("ml")
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelType="BINARY",
        TrainingDataSourceId=data_source(ml, s3, bucket),
        Recipe="",
        RecipeUri="",
    )
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    recipe = json.loads(ml.get_ml_model(MLModelId=model_id, Verbose=True)["Recipe"])
    assert "ALL_CATEGORICAL" in recipe["outputs"]
    assert any(output.startswith("quantile_bin(") for output in recipe["outputs"])
    code, message = error_of(
        lambda: ml.create_ml_model(
            MLModelId=unique_id("ml"),
            MLModelType="BINARY",
            TrainingDataSourceId=data_source(ml, s3, bucket),
            RecipeUri="not-an-s3-url",
        )
    )
    assert (code, "recipeUri" in message) == ("InvalidInputException", True)


def test_endpoint_created_while_training_becomes_ready_when_training_ends(
    aml: LocalAml, ml: Any, s3: Any, bucket: str
) -> None:
    model_id = unique_id("ml")
    source = data_source(ml, s3, bucket)
    aml.set_faults({"delayJobs": [{"kind": "MLModel", "nth": 1, "seconds": 2}]})  # still training below
    try:
        ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source)
        info = ml.create_realtime_endpoint(MLModelId=model_id)["RealtimeEndpointInfo"]
        assert ml.get_ml_model(MLModelId=model_id)["Status"] in ("PENDING", "INPROGRESS")
        code, _ = error_of(
            lambda: ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=aml.endpoint_url)
        )
    finally:
        aml.set_faults({})
    assert info["EndpointStatus"] == "UPDATING"
    assert code == "PredictorNotMountedException"
    assert endpoint_status_after_updating(ml, model_id) == "READY"
    assert ml.get_ml_model(MLModelId=model_id)["Status"] == "COMPLETED"
    prediction = ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=aml.endpoint_url)["Prediction"]
    assert prediction["predictedLabel"] == "1"


def test_endpoint_of_a_model_whose_training_fails_fails(ml: Any, s3: Any, bucket: str) -> None:
    model_id = unique_id("ml")
    source = data_source(ml, s3, bucket, statistics=False)  # training needs statistics: it fails
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source)
    ml.create_realtime_endpoint(MLModelId=model_id)
    assert endpoint_status_after_updating(ml, model_id) == "FAILED"
    assert ml.get_ml_model(MLModelId=model_id)["Status"] == "FAILED"
    code, message = error_of(lambda: ml.create_realtime_endpoint(MLModelId=model_id))
    assert code == "InvalidInputException"
    assert "FAILED" in message


def test_bare_carriage_returns_fail_the_datasource_saying_how_to_fix_the_file(
    ml: Any, s3: Any, bucket: str
) -> None:
    source = data_source(ml, s3, bucket, text=binary_csv(20).replace("\n", "\r"))
    message = wait_for(ml, "DataSource", source)["Message"]
    assert "bare carriage return" in message
    assert "convert its line ends to \\n" in message
    assert "create the DataSource again" in message
