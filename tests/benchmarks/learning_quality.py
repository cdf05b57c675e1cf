"""Model quality on real and generated tasks, against converged scikit-learn models on independent features.

Each task is split 70/30 by a seeded permutation, trained by the service with the default recipe and
parameters, and batch-predicted on the 30 %; the reference (tests/quality.py) is fitted on the same rows.
The real data sets are read from ../shared/data when present (never copied into the repository).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.quality import Scores, classes_data, reference_scores, service_scores, spam_messages

#: shared/data beside the repository (or beside a folder above it), if any.
DATA = next(
    (up / "shared" / "data" for up in Path(__file__).resolve().parents if (up / "shared" / "data").is_dir()),
    Path("shared/data"),
)
WINE = DATA / "winequality-red.csv"
BANKING = DATA / "banking.csv"
ADULT = DATA / "adult.csv.gz"
#: Log-loss may exceed the reference's by at most this fraction.
LOG_LOSS_MARGIN = 0.05


@dataclass
class Task:
    name: str
    model_type: str
    load: Callable[[], tuple[pd.DataFrame, dict[str, str]]]
    target: str
    tolerance: float  # how much worse than the reference the metric may be (RMSE: relative)
    recall_tolerance: float | None = None
    data: Path | None = None  # the file it reads, if any


def wine(classes: int) -> Callable[[], tuple[pd.DataFrame, dict[str, str]]]:
    def load() -> tuple[pd.DataFrame, dict[str, str]]:
        frame = pd.read_csv(WINE)
        quality = frame.pop("quality")
        types = dict.fromkeys(frame.columns, "NUMERIC")
        if classes == 0:
            frame["quality"] = quality
        elif classes == 3:  # the Amazon ML tutorial's grouping
            frame["quality"] = np.where(quality <= 5, "low", np.where(quality == 6, "medium", "high"))
        else:
            frame["quality"] = "q" + quality.astype(str)
        return frame, types

    return load


def banking() -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.read_csv(BANKING)
    categorical = {"job", "marital", "education", "default", "housing", "loan"}
    return frame, {n: "CATEGORICAL" if n in categorical else "NUMERIC" for n in frame.columns if n != "y"}


def adult() -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.read_csv(ADULT, index_col=0, skipinitialspace=True)
    frame.columns = [name.replace("-", "_") for name in frame.columns]
    frame["income"] = (frame["income"] == ">50K").astype(int)
    numeric = {"age", "education_num", "capital_gain", "capital_loss", "hours_per_week"}
    kinds = {n: "NUMERIC" if n in numeric else "CATEGORICAL" for n in frame.columns if n != "income"}
    return frame, kinds


TASKS = [
    Task("red wine, 6 classes", "MULTICLASS", wine(6), "quality", 0.01, data=WINE),
    Task("red wine, 3 classes", "MULTICLASS", wine(3), "quality", 0.01, data=WINE),
    Task("generated 3 classes", "MULTICLASS", lambda: classes_data(6000, 3, seed=5), "label", 0.01),
    Task("spam, TEXT attribute", "BINARY", lambda: spam_messages(6000, seed=4), "spam", 0.005, 0.03),
    Task("bank marketing", "BINARY", banking, "y", 0.005, data=BANKING),
    Task("adult income", "BINARY", adult, "income", 0.005, data=ADULT),
    Task("red wine quality (regression)", "REGRESSION", wine(0), "quality", 0.05, data=WINE),
]


def split(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    return frame.iloc[order[:cut]].reset_index(drop=True), frame.iloc[order[cut:]].reset_index(drop=True)


def run_task(task: Task, ml: Any, s3: Any, bucket: str) -> tuple[Scores, Scores]:
    frame, types = task.load()
    train, test = split(frame)
    ours, _ = service_scores(ml, s3, bucket, task.model_type, train, test, types, task.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = reference_scores(task.model_type, train, test, types, task.target)
    return ours, reference


def quality_rows(
    ml: Any, s3: Any, bucket: str, generated_only: bool = False
) -> list[tuple[str, str, str, bool]]:
    """(measure, measured vs reference, target, met) for every task whose data is at hand (or only the
    generated tasks)."""
    rows: list[tuple[str, str, str, bool]] = []
    metric_names = {"BINARY": "AUC", "MULTICLASS": "macro-F1", "REGRESSION": "RMSE"}
    for task in TASKS:
        if task.data is not None and generated_only:
            continue
        if task.data is not None and not task.data.exists():
            print(f"{task.name}: skipped, {task.data} is missing", flush=True)
            continue
        ours, reference = run_task(task, ml, s3, bucket)
        name = f"{task.name}: {metric_names[task.model_type]}"
        if task.model_type == "REGRESSION":
            worse = (ours.metric - reference.metric) / reference.metric
            target = f"<= {task.tolerance:.0%} above"
        else:
            worse = reference.metric - ours.metric
            target = f"<= {task.tolerance} below"
        measured = f"{ours.metric:.4f} vs {reference.metric:.4f} ({-worse:+.4f})"
        rows.append((name, measured, target, worse <= task.tolerance))
        if task.model_type != "REGRESSION":
            rows.append(
                (
                    f"{task.name}: log-loss",
                    f"{ours.log_loss:.4f} vs {reference.log_loss:.4f}",
                    f"<= +{LOG_LOSS_MARGIN:.0%}",
                    ours.log_loss <= reference.log_loss * (1 + LOG_LOSS_MARGIN),
                )
            )
        if task.recall_tolerance is not None:
            rows.append(
                (
                    f"{task.name}: recall at threshold 0.5",
                    f"{ours.recall:.4f} vs {reference.recall:.4f}",
                    f"<= {task.recall_tolerance} below",
                    ours.recall >= reference.recall - task.recall_tolerance,
                )
            )
        print(f"{rows[-1]}", flush=True)
    return rows
