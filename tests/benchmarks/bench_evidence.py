"""Benchmark: the paired bootstrap of compare_models, 1,000 resamples of 40,000 rows for two models.

For each metric (AUC, macro-F1, RMSE), times the vectorised statistics of a challenger and a champion
on shared resamples, against scikit-learn's metric looped over the same number of resamples
(measured on 50 and scaled) as the reference.

    .venv/bin/python -m tests.benchmarks.bench_evidence [rows]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from aml_provider.family import bootstrap

ROWS = 40_000
RESAMPLES = 1_000
TARGET_SECONDS = 3.0
REFERENCE_RESAMPLES = 50


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
    print("targets met" if met else "targets missed")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(*(int(arg) for arg in sys.argv[1:])))
