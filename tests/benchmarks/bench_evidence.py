"""Benchmark: compare_models for two models on 40,000 rows, and its paired bootstrap per metric.

For each metric (AUC, macro-F1, RMSE), times the vectorised statistics of a challenger and a champion
on 1,000 shared resamples, against scikit-learn's metric looped over the same number of resamples
(measured on 10 and scaled) as the reference. Then times `compare_models` end to end on a local S3
(moto): the evaluation file and both models' batch outputs in Amazon ML's layout (written with the
service's own writer), with pandas reading those three files as the reference.

    .venv/bin/python -m tests.benchmarks.bench_evidence [rows]

It exits 1 when a target is missed (not in smoke mode, AML_BENCH_SMOKE=1: 2,000 rows, 50 resamples).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from aml_provider.family import bootstrap
from aml_provider.family.evidence import compare_models
from aml_provider.local import LocalAml
from aml_provider.local.writers import result_block, result_header
from tests.benchmarks.harness import SMOKE, settings, size, verdict

ROWS = 40_000
RESAMPLES = size(1_000, 50)
TARGET_SECONDS = 3.0
TARGET_END_TO_END_SECONDS = 6.0
REFERENCE_RESAMPLES = size(10, 2)


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def reference_seconds(
    metric: Callable[[np.ndarray, np.ndarray], float], actual: np.ndarray, outputs: list[np.ndarray]
) -> float:
    """scikit-learn on REFERENCE_RESAMPLES index resamples per model, scaled to RESAMPLES."""
    rng = np.random.default_rng(1)

    def run() -> None:
        for _ in range(REFERENCE_RESAMPLES):
            rows = rng.integers(0, actual.size, actual.size)
            for output in outputs:
                metric(actual[rows], output[rows])

    return seconds(run) * RESAMPLES / REFERENCE_RESAMPLES


def main(rows: int = ROWS) -> int:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, rows)
    scores = [np.round(labels * shift + rng.random(rows), 6) for shift in (0.3, 0.25)]
    classes = np.array(["a", "b", "c", "d"], dtype=object)
    actual = rng.choice(classes, rows)
    predicted = [
        np.where(rng.random(rows) < share, actual, rng.choice(classes, rows)) for share in (0.6, 0.55)
    ]
    values = rng.normal(size=rows)
    estimates = [values + rng.normal(scale=s, size=rows) for s in (0.5, 0.6)]
    cases = {
        "BinaryAUC": (bootstrap.auc_statistic, roc_auc_score, labels, scores),
        "MulticlassAvgFScore": (
            bootstrap.macro_f1_statistic,
            lambda a, p: f1_score(a, p, average="macro"),
            actual,
            predicted,
        ),
        "RegressionRMSE": (bootstrap.rmse_statistic, mean_squared_error, values, estimates),
    }
    met = True
    settings(**({"resamples": RESAMPLES} if SMOKE else {}))
    print(
        f"paired bootstrap, two models, {RESAMPLES:,} resamples of {rows:,} rows (target {TARGET_SECONDS} s each)"
    )
    for name, (statistic, metric, truth, outputs) in cases.items():
        statistics = [statistic(truth, output) for output in outputs]
        measured = seconds(lambda s=statistics: bootstrap.bootstrap(s, rows, RESAMPLES, seed=0))  # type: ignore[misc]
        reference = reference_seconds(metric, truth, outputs)
        met &= measured <= TARGET_SECONDS
        print(
            f"{name:20s}: {measured:6.2f} s   scikit-learn loop {reference:7.2f} s   ratio {measured / reference:.2f}"
        )
    met &= end_to_end(rows)
    return verdict(met)


def end_to_end(rows: int) -> bool:
    """compare_models on `rows` evaluation rows and two batch outputs in a local S3."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"rid": [f"r{i}" for i in range(rows)], **{f"x{i}": rng.normal(size=rows) for i in range(8)}}
    )
    frame["y"] = np.where(frame["x0"] + rng.normal(size=rows) > 0, "yes", "no")
    schema: dict[str, Any] = {
        "dataFileContainsHeader": True,
        "rowId": "rid",
        "targetAttributeName": "y",
        "attributes": [{"attributeName": n, "attributeType": "NUMERIC"} for n in frame.columns],
    }
    schema["attributes"][0]["attributeType"] = "CATEGORICAL"
    schema["attributes"][-1]["attributeType"] = "BINARY"
    with LocalAml() as aml:
        s3 = aml.client("s3")
        s3.create_bucket(Bucket="bench-evidence")
        data_uri = "s3://bench-evidence/fresh/data.csv"
        s3.put_object(Bucket="bench-evidence", Key="fresh/data.csv", Body=frame.to_csv(index=False).encode())
        contestants = [
            write_batch_output(s3, role, data_uri, frame, 1 / (1 + np.exp(-frame["x0"].to_numpy() * weight)))
            for role, weight in (("challenger", 1.0), ("champion", 0.7))
        ]
        arguments: dict[str, Any] = {
            "model_type": "BINARY",
            "evaluation_data_uri": data_uri,
            "schema": schema,
        }
        measured = seconds(lambda: compare_models(s3, **arguments, contestants=contestants))
        reference = seconds(
            lambda: [read_csv(s3, uri) for uri in [data_uri, *(c["result_uri"] for c in contestants)]]
        )
    print(
        f"compare_models, {rows:,} rows, two models: {measured:6.2f} s (target {TARGET_END_TO_END_SECONDS} s)   "
        f"pandas reading the three files {reference:5.2f} s"
    )
    return measured <= TARGET_END_TO_END_SECONDS


def write_batch_output(
    s3: Any, role: str, data_uri: str, frame: pd.DataFrame, scores: np.ndarray
) -> dict[str, str]:
    """A batch prediction's manifest and gzipped result in Amazon ML's layout; the contestant for it."""
    batch_id, prefix = f"bp-{role}", f"out-{role}/batch-prediction"
    header = ",".join(result_header("BINARY", [], tag=True, true_label=True))
    lines = result_block("BINARY", np.asarray(scores), 0.5, [frame["rid"].to_numpy(), frame["y"].to_numpy()])
    body = gzip.compress(header.encode() + b"\n" + lines, compresslevel=3)
    s3.put_object(Bucket="bench-evidence", Key=f"{prefix}/result/{batch_id}-data.csv.gz", Body=body)
    result_uri = f"s3://bench-evidence/{prefix}/result/{batch_id}-data.csv.gz"
    s3.put_object(
        Bucket="bench-evidence", Key=f"{prefix}/{batch_id}.manifest", Body=json.dumps({data_uri: result_uri})
    )
    output_uri = f"s3://bench-evidence/out-{role}/"
    return {
        "role": role,
        "ml_model_id": f"ml-{role}",
        "batch_prediction_id": batch_id,
        "output_uri": output_uri,
        "result_uri": result_uri,
    }


def read_csv(s3: Any, uri: str) -> pd.DataFrame:
    bucket, key = uri[5:].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return pd.read_csv(io.BytesIO(gzip.decompress(body) if key.endswith(".gz") else body))


if __name__ == "__main__":
    sys.exit(main(*[int(arg) for arg in sys.argv[1:]] or [size(ROWS, 2_000)]))
