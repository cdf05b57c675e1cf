"""Evaluation alerts in the report at LogUri: held-out data, sufficient data, target distribution."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import numpy as np

from tests.helpers import put_text, schema_text, unique_id, wait_for


def _shifted_data(rows: int = 600) -> tuple[str, np.ndarray]:
    """x predicts y; y is 1 in about 20% of the first half of the rows and 80% of the second half."""
    rng = np.random.default_rng(3)
    share = np.where(np.arange(rows) < rows // 2, 0.2, 0.8)
    y = (rng.random(rows) < share).astype(int)
    x = rng.normal(y, 1.0)
    return "x,y\n" + "".join(f"{a:.4f},{b}\n" for a, b in zip(x, y, strict=True)), y


def _data_source(ml: Any, uri: str, begin: int, end: int) -> str:
    data_source_id = unique_id("ds-alerts")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={
            "DataLocationS3": uri,
            "DataSchema": schema_text("y", x="NUMERIC", y="BINARY"),
            "DataRearrangement": json.dumps({"splitting": {"percentBegin": begin, "percentEnd": end}}),
        },
        ComputeStatistics=True,
    )
    return data_source_id


def _alerts(ml: Any, model_id: str, data_source_id: str) -> list[str]:
    evaluation_id = unique_id("ev-alerts")
    ml.create_evaluation(
        EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
    )
    evaluation = wait_for(ml, "Evaluation", evaluation_id)
    assert evaluation["Status"] == "COMPLETED", evaluation.get("Message")
    with urllib.request.urlopen(evaluation["LogUri"]) as response:
        alerts: list[str] = json.load(response)["alerts"]
    return alerts


def test_alerts_name_reused_training_data_too_few_records_and_a_shifted_target(
    ml: Any, s3: Any, bucket: str
) -> None:
    text, y = _shifted_data()
    uri = put_text(s3, bucket, f"{unique_id('alerts')}/data.csv", text)
    training, shifted, small = (
        _data_source(ml, uri, 0, 50),
        _data_source(ml, uri, 50, 100),
        _data_source(ml, uri, 0, 4),
    )
    model_id = unique_id("ml-alerts")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=training)

    on_training = _alerts(ml, model_id, training)
    assert len(on_training) == 1
    assert on_training[0].startswith("Evaluation uses the training datasource")

    on_shifted = _alerts(ml, model_id, shifted)
    assert len(on_shifted) == 1
    found = re.match(
        r"Target distribution: 'y' differs between the training and the evaluation data "
        r"\(class '0' (\d+)% in training, (\d+)% in evaluation\)",
        on_shifted[0],
    )
    assert found, on_shifted[0]
    assert abs(int(found[1]) - 100 * np.mean(y[:300] == 0)) < 3
    assert abs(int(found[2]) - 100 * np.mean(y[300:] == 0)) < 3

    assert any(
        alert.startswith("Insufficient data: 24 evaluation records are fewer than 10% of the ")
        for alert in _alerts(ml, model_id, small)
    )
