"""Every example recipe of the recipe reference trains a model over HTTP, and the model echoes it."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from tests.helpers import put_text, unique_id, wait_for
from tests.local.test_recipes import EXAMPLE_SCHEMA, EXAMPLES, example_columns


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
