"""Training failures and limits over HTTP with boto3: missing targets or statistics, foreign schemas, size caps
and pruning, recipes from S3, malformed observations in batch output, single-class data."""

from __future__ import annotations

import gzip
import json
import re
import time
from typing import Any

import numpy as np
import pandas as pd

from aml_provider.local.jobs.context import artifacts_dir
from aml_provider.local.jobs.training import load_trained_model
from tests.helpers import put_text, unique_id, wait_for
from tests.local.training import (
    create_data_source,
    mount,
    read_log,
    read_results,
    schema_of,
    train_and_score,
)


def small_binary(s3: Any, bucket: str, rows: int = 300) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(rows)], "x0": rng.normal(size=rows)})
    frame["label"] = np.where(frame["x0"] + rng.normal(size=rows) * 0.5 > 0, "1", "0")
    return frame, put_text(s3, bucket, f"{unique_id('small')}/data.csv", frame.to_csv(index=False))


def test_training_without_a_target_fails_with_an_actionable_message(ml: Any, s3: Any, bucket: str) -> None:
    frame, location = small_binary(s3, bucket)
    data_source_id = create_data_source(ml, location, schema_of(frame, "BINARY", target=None), None)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "FAILED"
    assert "no target attribute" in model["Message"]
    assert "targetAttributeName" in model["Message"]
    assert model["Message"] in read_log(model["LogUri"])


def test_training_without_statistics_fails_with_an_actionable_message(ml: Any, s3: Any, bucket: str) -> None:
    frame, location = small_binary(s3, bucket)
    data_source_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None, statistics=False)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "FAILED"
    assert "ComputeStatistics=true" in model["Message"]


def test_evaluation_data_without_the_model_inputs_is_rejected(ml: Any, s3: Any, bucket: str) -> None:
    frame, location = small_binary(s3, bucket)
    train_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=train_id)
    other = frame.rename(columns={"x0": "y0"})
    other_location = put_text(s3, bucket, f"{unique_id('other')}/data.csv", other.to_csv(index=False))
    other_id = create_data_source(ml, other_location, schema_of(other, "BINARY"), None)
    evaluation_id = unique_id("ev")
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=other_id)
    evaluation = wait_for(ml, "Evaluation", evaluation_id)
    assert evaluation["Status"] == "FAILED"
    assert "lacks the attribute(s) 'x0'" in evaluation["Message"]


def test_model_larger_than_its_size_cap_is_pruned(ml: Any, s3: Any, bucket: str, aml: Any) -> None:
    rows = 3000
    rng = np.random.default_rng(12)
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(rows)], "code": [f"code{i}" for i in range(rows)]})
    frame["x0"] = rng.normal(size=rows)
    frame["label"] = np.where(frame["x0"] > 0, "1", "0")
    location = put_text(s3, bucket, f"{unique_id('wide')}/data.csv", frame.to_csv(index=False))
    schema = json.loads(schema_of(frame, "BINARY"))
    schema["attributes"][1]["attributeType"] = "CATEGORICAL"
    data_source_id = create_data_source(ml, location, json.dumps(schema), None)
    model_id = unique_id("ml")
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelType="BINARY",
        TrainingDataSourceId=data_source_id,
        Recipe=json.dumps({"outputs": ["ALL_INPUTS"]}),
        Parameters={"sgd.maxMLModelSizeInBytes": "100000"},
    )
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "COMPLETED", model.get("Message")
    assert model["SizeInBytes"] <= 100_000
    assert "consolidation: kept" in read_log(model["LogUri"])
    mount(ml, model_id)
    positive = ml.predict(
        MLModelId=model_id, Record={"x0": "2.5", "code": "code1"}, PredictEndpoint=aml.endpoint_url
    )
    assert positive["Prediction"]["predictedLabel"] == "1"


def test_text_model_is_pruned_below_its_vocabulary(ml: Any, s3: Any, bucket: str, aml: Any) -> None:
    """Every record holds distinct words, so the vocabulary alone is far above the cap: pruning must drop
    words from it, and the log states the size reached."""
    rows = 4000
    rng = np.random.default_rng(5)
    words = [f"w{i}a w{i}b w{i}c" for i in range(rows)]
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(rows)], "words": words, "x0": rng.normal(size=rows)})
    frame["label"] = np.where(frame["x0"] > 0, "1", "0")
    location = put_text(s3, bucket, f"{unique_id('text')}/data.csv", frame.to_csv(index=False))
    schema = json.loads(schema_of(frame, "BINARY"))
    schema["attributes"][1]["attributeType"] = "TEXT"
    data_source_id = create_data_source(ml, location, json.dumps(schema), None)
    model_id = unique_id("ml")
    started = time.monotonic()
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelType="BINARY",
        TrainingDataSourceId=data_source_id,
        Recipe=json.dumps({"outputs": ["ALL_INPUTS"]}),
        Parameters={"sgd.maxMLModelSizeInBytes": "100000"},
    )
    model = wait_for(ml, "MLModel", model_id, timeout=120)
    assert model["Status"] == "COMPLETED", model.get("Message")
    assert model["SizeInBytes"] <= 100_000
    log = read_log(model["LogUri"])
    assert f"final consolidation: model-size={model['SizeInBytes']} bytes (limit 100000)" in log
    assert len(re.findall("consolidation: kept", log)) <= 12
    trained = load_trained_model(artifacts_dir(aml.config, "MLModel", model_id))
    vocabulary = next(encoder for encoder, _ in trained.pipeline.bags if encoder.name == "words").vocabulary_
    assert len(vocabulary) < rows * 3 / 2, "pruning left the words of dropped features in the vocabulary"
    assert time.monotonic() - started < 120
    assert not (artifacts_dir(aml.config, "MLModel", model_id) / "scratch").exists(), "scratch kept"
    mount(ml, model_id)
    heavy = {"x0": "2.5", "words": " ".join(f"w{i}a" for i in range(12_000))}  # ~70 KB: predicted in a thread
    assert len(json.dumps(heavy)) > 60_000
    answer = ml.predict(MLModelId=model_id, Record=heavy, PredictEndpoint=aml.endpoint_url)
    assert answer["Prediction"]["predictedLabel"] == "1"


def test_recipe_from_s3_is_used(ml: Any, s3: Any, bucket: str) -> None:
    frame, location = small_binary(s3, bucket)
    data_source_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    recipe = json.dumps({"groups": {}, "assignments": {}, "outputs": ["quantile_bin('x0', 10)"]})
    recipe_uri = put_text(s3, bucket, f"{unique_id('recipe')}/recipe.json", recipe)
    model_id = unique_id("ml")
    ml.create_ml_model(
        MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id, RecipeUri=recipe_uri
    )
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "COMPLETED", model.get("Message")
    assert ml.get_ml_model(MLModelId=model_id, Verbose=True)["Recipe"] == recipe


def test_batch_output_has_a_blank_line_for_each_malformed_observation(ml: Any, s3: Any, bucket: str) -> None:
    frame, _ = small_binary(s3, bucket, rows=20)
    lines = frame.to_csv(index=False).splitlines()
    lines[3] = "r2,1.5,0,extra"  # data line 2 (0-based) has a value too many
    lines.append("r20,oops")  # the last observation has too few
    location = put_text(s3, bucket, f"{unique_id('bad')}/data.csv", "\n".join(lines) + "\n")
    train_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    batch, output_uri = train_and_score(ml, bucket, train_id, "BINARY")
    batch_id = batch["BatchPredictionId"]
    assert batch["Status"] == "COMPLETED", batch.get("Message")
    assert (batch["TotalRecordCount"], batch["InvalidRecordCount"]) == (21, 2)
    bucket_name, key = f"{output_uri}batch-prediction/result/{batch_id}-data.csv.gz"[5:].split("/", 1)
    text = gzip.decompress(s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()).decode()
    body = text.split("\n")[1:-1]
    assert len(body) == 21
    assert [i for i, line in enumerate(body) if line == ""] == [2, 20]
    assert body[3].startswith("r3,")


def test_evaluation_and_batch_on_data_of_another_schema_fail_naming_the_missing_attributes(
    ml: Any, s3: Any, bucket: str
) -> None:
    frame, location = small_binary(s3, bucket)
    train_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    other = frame.rename(columns={"x0": "amount"})
    other_location = put_text(s3, bucket, f"{unique_id('other')}/data.csv", other.to_csv(index=False))
    other_id = create_data_source(ml, other_location, schema_of(other, "BINARY"), None)
    model_id, evaluation_id, batch_id = unique_id("ml"), unique_id("ev"), unique_id("bp")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=train_id)
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=other_id)
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=other_id,
        OutputUri=f"s3://{bucket}/{unique_id('out')}/",
    )
    for kind, entity_id, use in [
        ("Evaluation", evaluation_id, "evaluate"),
        ("BatchPrediction", batch_id, "predict"),
    ]:
        entity = wait_for(ml, kind, entity_id)
        assert entity["Status"] == "FAILED", kind
        assert f"DataSource '{other_id}' does not match the model's schema" in entity["Message"]
        assert f"lacks the attribute(s) 'x0'; {use} with data of the same schema" in entity["Message"]


def test_multiclass_batch_true_labels_are_spelled_like_the_class_columns(
    ml: Any, s3: Any, bucket: str
) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(300)], "x0": rng.normal(size=300)})
    frame["label"] = np.select([frame["x0"] < -0.5, frame["x0"] > 0.5], [" low", " high"], " mid")
    location = put_text(s3, bucket, f"{unique_id('padded')}/data.csv", frame.to_csv(index=False))
    data_source_id = create_data_source(ml, location, schema_of(frame, "MULTICLASS"), None)
    batch, output_uri = train_and_score(ml, bucket, data_source_id, "MULTICLASS")
    batch_id = batch["BatchPredictionId"]
    assert batch["Status"] == "COMPLETED", batch.get("Message")
    results = read_results(s3, f"{output_uri}batch-prediction/result/{batch_id}-data.csv.gz")
    assert list(results.columns) == ["tag", "trueLabel", "high", "low", "mid"]
    assert results["trueLabel"].tolist() == frame["label"].str.strip().tolist()


def test_training_on_a_single_class_fails_with_an_actionable_message(ml: Any, s3: Any, bucket: str) -> None:
    frame, _ = small_binary(s3, bucket)
    frame["label"] = "1"
    location = put_text(s3, bucket, f"{unique_id('one')}/data.csv", frame.to_csv(index=False))
    data_source_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    model = wait_for(ml, "MLModel", model_id)
    assert model["Status"] == "FAILED"
    assert "at least two classes" in model["Message"]
