"""Every example recipe of the recipe reference trains a model over HTTP, and the model echoes it."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from tests.helpers import put_text, schema_text, unique_id, wait_for
from tests.local.operations import wait_for_endpoint
from tests.local.recipes import EXAMPLE_SCHEMA, EXAMPLES, example_columns


@pytest.fixture(scope="module")
def example_data(ml: Any, s3: Any, bucket: str) -> str:
    """A data source (with statistics) holding every variable the example recipes name."""
    frame = pd.DataFrame(example_columns(600, seed=3))
    csv = io.StringIO()
    frame.to_csv(csv, index=False)
    key = unique_id("recipes") + "/examples.csv"
    source_id = unique_id("ds-recipes")
    ml.create_data_source_from_s3(
        DataSourceId=source_id,
        DataSpec={
            "DataLocationS3": put_text(s3, bucket, key, csv.getvalue()),
            "DataSchema": replace(EXAMPLE_SCHEMA, header=True).to_json(),
        },
        ComputeStatistics=True,
    )
    assert wait_for(ml, "DataSource", source_id)["Status"] == "COMPLETED"
    return source_id


@pytest.mark.parametrize("name", EXAMPLES)
def test_reference_recipe_trains_and_is_echoed(name: str, example_data: str, ml: Any) -> None:
    model_id = unique_id("ml-recipe")
    ml.create_ml_model(
        MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=example_data, Recipe=EXAMPLES[name]
    )
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "COMPLETED", model.get("Message")
    assert model["SizeInBytes"] > 0
    echoed = ml.get_ml_model(MLModelId=model_id, Verbose=True)["Recipe"]
    assert json.loads(echoed) == json.loads(EXAMPLES[name])


def test_a_value_below_the_training_minimum_falls_in_the_lowest_bin(ml: Any, s3: Any, bucket: str) -> None:
    """A tenth of the rows sit at the minimum (so a quantile edge lands on it); lower values met later,
    as when the data drifts, must share the lowest bin's weight, not fall in an empty bin."""
    rows = [(5.0, 1)] * 60 + [(5.0 + k % 50, int(k % 50 < 10)) for k in range(540)]
    csv = "x,y\n" + "".join(f"{x},{y}\n" for x, y in rows)
    source_id = unique_id("ds-edge")
    ml.create_data_source_from_s3(
        DataSourceId=source_id,
        DataSpec={
            "DataLocationS3": put_text(s3, bucket, unique_id("edge") + "/data.csv", csv),
            "DataSchema": schema_text(x="NUMERIC", y="BINARY"),
        },
        ComputeStatistics=True,
    )
    assert wait_for(ml, "DataSource", source_id)["Status"] == "COMPLETED"
    model_id = unique_id("ml-edge")
    recipe = json.dumps({"outputs": ["quantile_bin(x,50)"]})
    ml.create_ml_model(
        MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source_id, Recipe=recipe
    )
    assert wait_for(ml, "MLModel", model_id)["Status"] == "COMPLETED"
    ml.create_realtime_endpoint(MLModelId=model_id)
    url = wait_for_endpoint(ml, model_id)["EndpointUrl"]

    def score(x: str) -> float:
        prediction = ml.predict(MLModelId=model_id, Record={"x": x}, PredictEndpoint=url)["Prediction"]
        return float(next(iter(prediction["predictedScores"].values())))  # the score, keyed by the label

    at_minimum, below, high = score("5"), score("1"), score("54")
    assert below == at_minimum
    assert at_minimum > 0.5 > high
