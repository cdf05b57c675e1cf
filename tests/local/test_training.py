"""Training, evaluation, batch and real-time prediction over HTTP with boto3, checked against scikit-learn.

Each model type learns a data set that scikit-learn ships (breast cancer, digits, diabetes), split 70/30 with
DataRearrangement. The rows of the held-out 30 % are read back from the batch output's `tag` column, so the
scikit-learn reference of the same family is fitted on exactly the same training rows and raw features (for
the default recipe, on quantile bins that scikit-learn builds itself, tests/quality.py). Tolerances: AUC within 0.02, macro F1 within 0.05, RMSE within 5 %.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score
from sklearn.preprocessing import StandardScaler

from tests.helpers import put_text, unique_id, wait_for
from tests.local.training import create_data_source, mount, read_log, read_results, schema_of
from tests.output_shapes import assert_valid_output
from tests.quality import encoders, features

TOLERANCE = {"BINARY": 0.02, "MULTICLASS": 0.05, "REGRESSION": 0.05}
METRIC = {"BINARY": "BinaryAUC", "MULTICLASS": "MulticlassAvgFScore", "REGRESSION": "RegressionRMSE"}
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
