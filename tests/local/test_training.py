"""Training, evaluation, batch and real-time prediction over HTTP with boto3, checked against scikit-learn.

Each model type learns a data set that scikit-learn ships (breast cancer, digits, diabetes), split 70/30 with
DataRearrangement. The rows of the held-out 30 % are read back from the batch output's `tag` column, so the
scikit-learn reference of the same family is fitted on exactly the same training rows and raw features (for
the default recipe, on quantile bins that scikit-learn builds itself, tests/quality.py). Tolerances: AUC within 0.02, macro F1 within 0.05, RMSE within 5 %.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score
from sklearn.preprocessing import StandardScaler

from aml_provider.local.jobs.context import artifacts_dir
from aml_provider.local.jobs.training import load_trained_model
from tests.helpers import put_text, unique_id, wait_for
from tests.output_shapes import assert_valid_output
from tests.quality import encoders, features

TOLERANCE = {"BINARY": 0.02, "MULTICLASS": 0.05, "REGRESSION": 0.05}
METRIC = {"BINARY": "BinaryAUC", "MULTICLASS": "MulticlassAvgFScore", "REGRESSION": "RegressionRMSE"}
TARGET_TYPE = {"BINARY": "BINARY", "MULTICLASS": "CATEGORICAL", "REGRESSION": "NUMERIC"}
NUMBER = re.compile(r"^-?\d(\.\d*[1-9])?E-?\d+$")  # 1E0, 9.96733E-1, -1.526385E1
EXPLICIT_RECIPE = json.dumps({"groups": {}, "assignments": {}, "outputs": ["ALL_NUMERIC"]})
SPLIT = {"splitting": {"percentBegin": 0, "percentEnd": 70}}
HELD_OUT = {"splitting": {"percentBegin": 0, "percentEnd": 70, "complement": True}}


def load_frame(model_type: str) -> pd.DataFrame:
    """The data set as a frame: `rid` (rowId), numeric inputs x0.., and the target `label`."""
    loader = {"BINARY": load_breast_cancer, "MULTICLASS": load_digits, "REGRESSION": load_diabetes}[
        model_type
    ]
    features, target = loader(return_X_y=True)
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(features.shape[1])])
    frame.insert(0, "rid", [f"r{i}" for i in range(len(frame))])
    if model_type == "BINARY":
        frame["label"] = np.where(target == 1, "yes", "no")
    elif model_type == "MULTICLASS":
        frame["label"] = [f"digit{d}" for d in target]
    else:
        frame["label"] = target
    return frame


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


@dataclass
class Case:
    """One model type trained and used end to end: ids of its entities and the data behind them."""

    model_type: str
    frame: pd.DataFrame
    train_id: str
    held_out_id: str
    model_id: str
    default_model_id: str
    evaluation_id: str
    default_evaluation_id: str
    batch_id: str
    output_uri: str


@pytest.fixture(scope="module", params=["BINARY", "MULTICLASS", "REGRESSION"])
def case(request: pytest.FixtureRequest, ml: Any, s3: Any, bucket: str) -> Case:
    model_type = request.param
    frame = load_frame(model_type)
    prefix = unique_id(model_type.lower())
    location = put_text(s3, bucket, f"{prefix}/data.csv", frame.to_csv(index=False))
    schema = schema_of(frame, model_type)
    train_id = create_data_source(ml, location, schema, SPLIT)
    held_out_id = create_data_source(ml, location, schema, HELD_OUT)
    model_id, default_model_id = unique_id("ml"), unique_id("ml")
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelType=model_type,
        TrainingDataSourceId=train_id,
        Recipe=EXPLICIT_RECIPE,
        Parameters={"sgd.shuffleType": "auto"},
    )
    ml.create_ml_model(MLModelId=default_model_id, MLModelType=model_type, TrainingDataSourceId=train_id)
    evaluation_id, default_evaluation_id, batch_id = unique_id("ev"), unique_id("ev"), unique_id("bp")
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=held_out_id)
    ml.create_evaluation(
        EvaluationId=default_evaluation_id, MLModelId=default_model_id, EvaluationDataSourceId=held_out_id
    )
    output_uri = f"s3://{bucket}/{prefix}/output/"
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=held_out_id,
        OutputUri=output_uri,
    )
    for kind, entity_id in [("Evaluation", evaluation_id), ("Evaluation", default_evaluation_id)]:
        assert wait_for(ml, kind, entity_id, timeout=120)["Status"] == "COMPLETED"
    assert wait_for(ml, "BatchPrediction", batch_id, timeout=120)["Status"] == "COMPLETED"
    return Case(
        model_type,
        frame,
        train_id,
        held_out_id,
        model_id,
        default_model_id,
        evaluation_id,
        default_evaluation_id,
        batch_id,
        output_uri,
    )


def held_out_results(case: Case, s3: Any) -> pd.DataFrame:
    return read_results(s3, f"{case.output_uri}batch-prediction/result/{case.batch_id}-data.csv.gz")


def reference_metric(case: Case, held_out_rows: list[str], features: Any = None) -> float:
    """The metric of scikit-learn's converged model of the same family, fitted on the same training rows.

    `features(frame)` gives the model inputs of rows; by default the standardised raw numbers.
    """
    frame = case.frame.set_index("rid")
    held_out = frame.loc[held_out_rows]
    train = frame.drop(index=held_out_rows)
    if features is None:
        inputs = [c for c in frame.columns if c.startswith("x")]
        scaler = StandardScaler().fit(train[inputs])
        x_train, x_test = scaler.transform(train[inputs]), scaler.transform(held_out[inputs])
    else:
        x_train, x_test = features(train), features(held_out)
    if case.model_type == "BINARY":
        y_train, y_test = train["label"] == "yes", held_out["label"] == "yes"
        logistic = LogisticRegression(max_iter=5000).fit(x_train, y_train)
        return float(roc_auc_score(y_test, logistic.predict_proba(x_test)[:, 1]))
    if case.model_type == "MULTICLASS":
        logistic = LogisticRegression(max_iter=2000).fit(x_train, train["label"])
        return float(f1_score(held_out["label"], logistic.predict(x_test), average="macro"))
    ridge = RidgeCV(alphas=np.logspace(-6, 3, 19)).fit(x_train, train["label"])
    return float(mean_squared_error(held_out["label"], ridge.predict(x_test)) ** 0.5)


def default_recipe_features(case: Case, train: pd.DataFrame) -> Any:
    """The default recipe's kind of features built by scikit-learn alone: every input quantile-binned."""
    types = {name: "NUMERIC" for name in case.frame.columns if name.startswith("x")}
    fitted = encoders(train, types)
    return lambda frame: features(frame, fitted, types)


def within(case: Case, ours: float, reference: float, scale: float = 1.0) -> bool:
    tolerance = TOLERANCE[case.model_type] * scale
    if case.model_type == "REGRESSION":
        return abs(ours - reference) <= tolerance * reference
    return abs(ours - reference) <= tolerance


# --- training and evaluation ------------------------------------------------------------------------------


def test_metric_is_close_to_scikit_learn_on_the_same_split(case: Case, ml: Any, s3: Any) -> None:
    evaluation = ml.get_evaluation(EvaluationId=case.evaluation_id)
    assert_valid_output("GetEvaluation", evaluation)
    properties = evaluation["PerformanceMetrics"]["Properties"]
    assert list(properties) == [METRIC[case.model_type]]
    ours = float(properties[METRIC[case.model_type]])
    held_out = held_out_results(case, s3)["tag"].tolist()
    reference = reference_metric(case, held_out)
    assert within(case, ours, reference), f"{case.model_type}: ours {ours}, scikit-learn {reference}"


def test_default_recipe_model_is_close_to_scikit_learn_on_its_features(case: Case, ml: Any, s3: Any) -> None:
    model = ml.get_ml_model(MLModelId=case.default_model_id, Verbose=True)
    assert model["Status"] == "COMPLETED"
    assert "quantile_bin(" in model["Recipe"]
    assert model["TrainingParameters"]["sgd.shuffleType"] == "none"
    evaluation = ml.get_evaluation(EvaluationId=case.default_evaluation_id)
    ours = float(evaluation["PerformanceMetrics"]["Properties"][METRIC[case.model_type]])
    held_out = held_out_results(case, s3)["tag"].tolist()
    frame = case.frame.set_index("rid")
    reference = reference_metric(case, held_out, default_recipe_features(case, frame.drop(index=held_out)))
    assert within(case, ours, reference), f"{case.model_type}: ours {ours}, scikit-learn {reference}"


def test_model_echoes_its_parameters_and_logs_the_training(case: Case, ml: Any) -> None:
    model = ml.get_ml_model(MLModelId=case.model_id, Verbose=True)
    assert_valid_output("GetMLModel", model)
    assert model["TrainingParameters"] == {
        "algorithm": "sgd",
        "sgd.maxPasses": "10",
        "sgd.shuffleType": "auto",
        "sgd.l1RegularizationAmount": "0.0",
        "sgd.l2RegularizationAmount": "1e-06",
        "sgd.maxMLModelSizeInBytes": "33554432",
    }
    assert json.loads(model["Recipe"]) == json.loads(EXPLICIT_RECIPE)
    assert model["SizeInBytes"] > 0
    log = read_log(model["LogUri"])
    assert "initial-training: l1=0.0 l2=1e-06" in log
    assert re.search(r"finished-training: total-passes=\d+ valid-records=\d+ invalid-records=0", log)
    assert "Training complete." in log


def test_evaluation_report_has_baseline_and_details(case: Case, ml: Any) -> None:
    evaluation = ml.get_evaluation(EvaluationId=case.evaluation_id)
    report = json.loads(read_log(evaluation["LogUri"]))
    rows = len(case.frame)
    assert report["metricName"] == METRIC[case.model_type]
    assert report["records"]["evaluated"] + report["records"]["training"] == rows
    if case.model_type == "BINARY":
        assert report["baseline"] == 0.5
        assert report["atScoreThreshold"]["threshold"] == 0.5
        counts = report["atScoreThreshold"]
        assert (
            sum(counts[k] for k in ("truePositives", "trueNegatives", "falsePositives", "falseNegatives"))
            == (report["records"]["evaluated"])
        )
    elif case.model_type == "MULTICLASS":
        assert report["baseline"] < report["metric"]
        assert len(report["confusionMatrix"]["labels"]) == 10
    else:
        assert report["baseline"] > report["metric"]
        assert sum(report["residualHistogram"]["counts"]) == report["records"]["evaluated"]


# --- batch prediction -------------------------------------------------------------------------------------


def test_batch_output_layout(case: Case, ml: Any, s3: Any) -> None:
    batch = ml.get_batch_prediction(BatchPredictionId=case.batch_id)
    assert_valid_output("GetBatchPrediction", batch)
    bucket, prefix = case.output_uri[5:].split("/", 1)
    manifest_key = f"{prefix}batch-prediction/{case.batch_id}.manifest"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    input_uri = f"s3://{bucket}/{prefix.replace('output/', '')}data.csv"
    result_uri = f"{case.output_uri}batch-prediction/result/{case.batch_id}-data.csv.gz"
    assert manifest == {input_uri: result_uri}
    results = held_out_results(case, s3)
    assert batch["TotalRecordCount"] == len(results)
    assert batch["InvalidRecordCount"] == 0
    assert 0.25 * len(case.frame) < len(results) < 0.35 * len(case.frame)
    frame = case.frame.set_index("rid").loc[results["tag"]]
    ids = [int(tag[1:]) for tag in results["tag"]]
    assert ids == sorted(ids)  # input order
    classes = sorted(case.frame["label"].unique()) if case.model_type == "MULTICLASS" else []
    score_columns = {"BINARY": ["score"], "MULTICLASS": classes, "REGRESSION": ["score"]}[case.model_type]
    best_answer = ["bestAnswer"] if case.model_type == "BINARY" else []
    assert list(results.columns) == ["tag", "trueLabel", *best_answer, *score_columns]
    for column in score_columns:
        assert results[column].str.match(NUMBER).all(), results[column].head()
    scores = results[score_columns].astype(float).to_numpy()
    if case.model_type == "BINARY":
        assert (results["trueLabel"] == np.where(frame["label"] == "yes", "1", "0")).all()
        assert (results["bestAnswer"] == np.where(scores[:, 0] >= 0.5, "1", "0")).all()
    elif case.model_type == "MULTICLASS":
        assert (results["trueLabel"] == frame["label"].to_numpy()).all()
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    else:
        np.testing.assert_allclose(results["trueLabel"].astype(float), frame["label"])


def test_batch_scores_give_the_evaluation_metric(case: Case, ml: Any, s3: Any) -> None:
    """Batch prediction and evaluation score the same held-out rows the same way."""
    results = held_out_results(case, s3)
    evaluation = ml.get_evaluation(EvaluationId=case.evaluation_id)
    metric = float(evaluation["PerformanceMetrics"]["Properties"][METRIC[case.model_type]])
    if case.model_type == "BINARY":
        from_batch = roc_auc_score(results["trueLabel"] == "1", results["score"].astype(float))
    elif case.model_type == "MULTICLASS":
        classes = list(results.columns[2:])
        predicted = np.asarray(classes)[results[classes].astype(float).to_numpy().argmax(axis=1)]
        from_batch = f1_score(results["trueLabel"], predicted, average="macro")
    else:
        residual = results["trueLabel"].astype(float) - results["score"].astype(float)
        from_batch = float(np.sqrt(np.mean(residual**2)))
    assert from_batch == pytest.approx(metric, rel=1e-4)


# --- real-time prediction ---------------------------------------------------------------------------------


def mount(ml: Any, model_id: str) -> None:
    ml.create_realtime_endpoint(MLModelId=model_id)
    deadline = time.monotonic() + 30
    while ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"] != "READY":
        assert time.monotonic() < deadline, "endpoint did not become READY"
        time.sleep(0.05)


def record_of(case: Case, rid: str) -> dict[str, str]:
    row = case.frame[case.frame["rid"] == rid].iloc[0].to_dict()
    return {str(name): repr(float(value)) for name, value in row.items() if str(name).startswith("x")}


def test_predict_matches_the_batch_scores(case: Case, ml: Any, s3: Any, aml: Any) -> None:
    mount(ml, case.model_id)
    results = held_out_results(case, s3).head(5)
    for _, row in results.iterrows():
        response = ml.predict(
            MLModelId=case.model_id, Record=record_of(case, row["tag"]), PredictEndpoint=aml.endpoint_url
        )
        assert_valid_output("Predict", response)
        prediction = response["Prediction"]
        assert prediction["details"] == {"PredictiveModelType": case.model_type, "Algorithm": "SGD"}
        if case.model_type == "BINARY":
            label = row["bestAnswer"]
            assert prediction["predictedLabel"] == label
            assert list(prediction["predictedScores"]) == [label]
            assert prediction["predictedScores"][label] == pytest.approx(float(row["score"]), rel=1e-6)
        elif case.model_type == "MULTICLASS":
            scores = prediction["predictedScores"]
            assert list(scores) == list(results.columns[2:])
            assert prediction["predictedLabel"] == max(scores, key=scores.__getitem__)
            assert sum(scores.values()) == pytest.approx(1.0)
            for label, score in scores.items():
                assert score == pytest.approx(float(row[label]), rel=1e-6, abs=1e-12)
        else:
            assert set(prediction) == {"predictedValue", "details"}
            assert prediction["predictedValue"] == pytest.approx(float(row["score"]), rel=1e-6)


@pytest.mark.parametrize("case", ["BINARY"], indirect=True)
def test_score_threshold_changes_predict_and_batch_labels(ml: Any, s3: Any, aml: Any, case: Case) -> None:
    mount(ml, case.model_id)
    results = held_out_results(case, s3)
    scores = results["score"].astype(float)
    middle = results[(scores > 0.55) & (scores < 0.999)]
    chosen = middle.iloc[0] if len(middle) else results.iloc[int(scores.to_numpy().argmax())]
    threshold = min(float(chosen["score"]) + 1e-4, 1.0)
    record = record_of(case, chosen["tag"])
    before = ml.predict(MLModelId=case.model_id, Record=record, PredictEndpoint=aml.endpoint_url)
    assert before["Prediction"]["predictedLabel"] == "1"
    ml.update_ml_model(MLModelId=case.model_id, ScoreThreshold=threshold)
    try:
        after = ml.predict(MLModelId=case.model_id, Record=record, PredictEndpoint=aml.endpoint_url)
        assert after["Prediction"]["predictedLabel"] == "0"
        assert after["Prediction"]["predictedScores"] == {"0": before["Prediction"]["predictedScores"]["1"]}
        batch_id = unique_id("bp")
        ml.create_batch_prediction(
            BatchPredictionId=batch_id,
            MLModelId=case.model_id,
            BatchPredictionDataSourceId=case.held_out_id,
            OutputUri=case.output_uri,
        )
        assert wait_for(ml, "BatchPrediction", batch_id)["Status"] == "COMPLETED"
        again = read_results(s3, f"{case.output_uri}batch-prediction/result/{batch_id}-data.csv.gz")
        assert (again["bestAnswer"] == np.where(again["score"].astype(float) >= threshold, "1", "0")).all()
        assert (again["bestAnswer"] != results["bestAnswer"]).sum() >= 1
    finally:
        ml.update_ml_model(MLModelId=case.model_id, ScoreThreshold=0.5)


# --- failures and limits ----------------------------------------------------------------------------------


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
