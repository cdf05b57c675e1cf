"""Batch prediction reads numbers as the CSV is split; its scores must equal Predict's, which parses text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers import put_text, unique_id
from tests.local.training import create_data_source, mount, read_results, schema_of, train_and_score

#: Numeric values the C parser reads, and ones that make the reader fall back to text for a block.
ODD_VALUES = ["", " 2.5 ", "x", "inf", "-Infinity", "1e3", "NaN", "1_000", "0x10", "+4", ".5", "5.", "1e400"]


@pytest.mark.parametrize("odd", [False, True], ids=["plain", "odd-values"])
def test_batch_scores_equal_predict_on_the_same_records(
    ml: Any, s3: Any, bucket: str, aml: Any, odd: bool
) -> None:
    rng = np.random.default_rng(5)
    rows = 200
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(rows)], "x0": rng.normal(size=rows).round(4)})
    frame["x1"] = rng.normal(size=rows).round(3)
    frame["label"] = np.where(frame["x0"] - frame["x1"] + rng.normal(size=rows) * 0.5 > 0, "1", "0")
    text = frame.astype(str)
    if odd:
        text.loc[: len(ODD_VALUES) - 1, "x0"] = ODD_VALUES
        text.loc[len(ODD_VALUES) : 2 * len(ODD_VALUES) - 1, "x1"] = ODD_VALUES
    csv = text.to_csv(index=False)
    location = put_text(s3, bucket, f"{unique_id('numbers')}/data.csv", csv)
    data_source_id = create_data_source(ml, location, schema_of(frame, "BINARY"), None)
    batch, output_uri = train_and_score(ml, bucket, data_source_id, "BINARY")
    assert batch["Status"] == "COMPLETED", batch.get("Message")
    results = read_results(
        s3, f"{output_uri}batch-prediction/result/{batch['BatchPredictionId']}-data.csv.gz"
    )
    assert results["tag"].tolist() == text["rid"].tolist()
    mount(ml, batch["MLModelId"])
    for (_, row), (_, result) in zip(text.head(40).iterrows(), results.head(40).iterrows(), strict=True):
        record = {"x0": row["x0"], "x1": row["x1"]}
        prediction = ml.predict(MLModelId=batch["MLModelId"], Record=record, PredictEndpoint=aml.endpoint_url)
        [(label, score)] = prediction["Prediction"]["predictedScores"].items()
        assert label == result["bestAnswer"], record
        assert score == pytest.approx(float(result["score"]), rel=1e-6), record
