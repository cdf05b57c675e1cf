"""compare_models against the local service: metrics agree with Amazon ML's evaluations, intervals pair."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from aml_provider.family import bootstrap
from aml_provider.family.evidence import compare_models
from aml_provider.family.tables import FamilyDataError
from tests.family.service import batch_predict, data_source, evaluate, generate, land, schema_of, train
from tests.helpers import unique_id

METRICS = {"BINARY": "BinaryAUC", "MULTICLASS": "MulticlassAvgFScore", "REGRESSION": "RegressionRMSE"}


@pytest.mark.parametrize(
    ("model_type", "files", "row_id"),
    [("BINARY", 1, True), ("MULTICLASS", 3, False), ("REGRESSION", 2, True)],
)
def test_metric_agrees_with_the_evaluation(
    ml: Any, s3: Any, bucket: str, model_type: str, files: int, row_id: bool
) -> None:
    training = generate(model_type, 1500, seed=1)
    fresh = [generate(model_type, 400, seed=10 + i) for i in range(files)]
    schema = schema_of(training, model_type, row_id)
    train_id = data_source(ml, land(s3, bucket, [training]), schema)
    evaluation_uri = land(s3, bucket, fresh, "fresh")
    evaluation_id = data_source(ml, evaluation_uri, schema)
    models = [train(ml, train_id, model_type), train(ml, train_id, model_type, ["x0", "color"])]
    contestants = [
        batch_predict(ml, bucket, model_id, evaluation_id, role)
        for model_id, role in zip(models, ["challenger", "champion"], strict=True)
    ]
    evidence = compare_models(
        s3, model_type=model_type, evaluation_data_uri=evaluation_uri, schema=schema, contestants=contestants
    )
    assert evidence.rows == {"records": 400 * files, "labelled": 400 * files, "compared": 400 * files}
    for model_id, model in zip(models, evidence.models, strict=True):
        expected = float(
            evaluate(ml, model_id, evaluation_id)["PerformanceMetrics"]["Properties"][METRICS[model_type]]
        )
        assert model.metric == pytest.approx(expected, abs=1e-3)
        assert model.interval[0] < model.metric < model.interval[1]
    assert evidence.improvement is not None
    assert evidence.improvement["low"] > 0, "the model with x2 and x1 is better than the one without"
    assert json.loads(json.dumps(evidence.to_dict()))["metric_name"] == METRICS[model_type]


def test_unreadable_records_and_missing_labels_are_left_out(ml: Any, s3: Any, bucket: str) -> None:
    training = generate("BINARY", 800, seed=2)
    schema = schema_of(training, "BINARY", row_id=False)
    model_id = train(ml, data_source(ml, land(s3, bucket, [training]), schema), "BINARY")
    lines = generate("BINARY", 300, seed=3).to_csv(index=False).splitlines()
    lines[5] += ",extra"  # an unreadable record: the batch output has a blank line for it
    lines[9] = lines[9].rsplit(",", 1)[0] + ","  # no label
    lines.insert(20, "")  # a blank line is no record
    uri = land_text(s3, bucket, "\n".join(lines) + "\n")
    evaluation_id = data_source(ml, uri, schema)
    contestant = batch_predict(ml, bucket, model_id, evaluation_id, "challenger")
    evidence = compare_models(
        s3, model_type="BINARY", evaluation_data_uri=uri, schema=schema, contestants=[contestant]
    )
    assert evidence.rows == {"records": 300, "labelled": 298, "compared": 298}
    expected = float(evaluate(ml, model_id, evaluation_id)["PerformanceMetrics"]["Properties"]["BinaryAUC"])
    assert evidence.challenger.metric == pytest.approx(expected, abs=1e-3)
    assert evidence.improvement is None
    assert evidence.champion is None
    assert evidence.challenger.roc
    assert evidence.challenger.roc[-1]["truePositiveRate"] == 1.0


def land_text(s3: Any, bucket: str, text: str) -> str:
    key = f"{unique_id('text')}/data.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    return f"s3://{bucket}/{key}"


def test_a_batch_prediction_of_other_data_is_refused(ml: Any, s3: Any, bucket: str) -> None:
    training = generate("REGRESSION", 600, seed=4)
    schema = schema_of(training, "REGRESSION", row_id=False)
    train_id = data_source(ml, land(s3, bucket, [training]), schema)
    contestant = batch_predict(ml, bucket, train(ml, train_id, "REGRESSION"), train_id, "challenger")
    other = land(s3, bucket, [generate("REGRESSION", 100, seed=5)])
    with pytest.raises(FamilyDataError, match="has no result for"):
        compare_models(
            s3, model_type="REGRESSION", evaluation_data_uri=other, schema=schema, contestants=[contestant]
        )
    unfinished = {**contestant, "batch_prediction_id": "bp-unfinished"}
    with pytest.raises(
        FamilyDataError, match="BatchPrediction 'bp-unfinished' has no manifest at .*wait until"
    ):
        compare_models(
            s3, model_type="REGRESSION", evaluation_data_uri=other, schema=schema, contestants=[unfinished]
        )
    with pytest.raises(FamilyDataError, match="one 'challenger'"):
        compare_models(s3, model_type="REGRESSION", evaluation_data_uri=other, schema=schema, contestants=[])


def test_vectorised_statistics_equal_scikit_learn_and_spread_as_theory_says() -> None:
    rng = np.random.default_rng(0)
    n = 40_000
    labels = rng.integers(0, 2, n)
    scores = np.round(labels * 0.3 + rng.random(n), 2)  # ties
    ones = np.ones((1, n))
    assert bootstrap.auc_statistic(labels, scores)(ones)[0] == pytest.approx(roc_auc_score(labels, scores))
    actual = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    predicted = np.where(rng.random(n) < 0.6, actual, "d")
    macro = f1_score(actual, predicted, average="macro", zero_division=0)
    assert bootstrap.macro_f1_statistic(actual, predicted)(ones)[0] == pytest.approx(macro)
    samples = bootstrap.bootstrap([bootstrap.auc_statistic(labels, scores)] * 2, n, 1000, seed=0)
    assert samples.shape == (2, 1000)
    auc, positives, negatives = roc_auc_score(labels, scores), labels.sum(), n - labels.sum()
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    hanley_mcneil = np.sqrt(
        (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2))
        / (positives * negatives)
    )
    assert samples[0].std() / hanley_mcneil == pytest.approx(1, abs=0.15)
    assert np.array_equal(samples[0], samples[1]), "statistics share their resamples"


def test_the_paired_interval_rarely_favours_one_of_two_equally_good_models() -> None:
    rng = np.random.default_rng(7)
    favoured = 0
    for day in range(80):
        labels = rng.integers(0, 2, 1000)
        challenger, champion = (labels + rng.normal(scale=1.5, size=1000) for _ in range(2))
        statistics = [bootstrap.auc_statistic(labels, scores) for scores in (challenger, champion)]
        samples = bootstrap.bootstrap(statistics, labels.size, 400, seed=day)
        low, _ = bootstrap.percentile_interval(samples[0] - samples[1], 0.95)
        favoured += low > 0
    assert favoured <= 6, f"{favoured} of 80 noise days would promote (about 2 expected)"
