"""Quality floors on small generated data: the service's default recipe and parameters against converged
scikit-learn models on independently built features (tests/quality.py), all over HTTP with boto3."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from tests.quality import classes_data, reference_scores, service_scores, spam_messages

LOG_LOSS_MARGIN = 1.05  # log-loss at most 5 % above the reference's


@pytest.fixture(autouse=True)
def quiet_scikit_learn() -> None:
    warnings.filterwarnings("ignore", module="sklearn")


def objectives(log: str) -> list[float]:
    return [float(value) for value in re.findall(r"pass=\d+ training-records=\d+ objective=(\S+)", log)]


@pytest.mark.parametrize("classes", [3, 6])
def test_multiclass_matches_a_converged_logistic_regression(
    classes: int, ml: Any, s3: Any, bucket: str
) -> None:
    frame, types = classes_data(2000, classes, seed=2)
    train, test = frame.iloc[:1400], frame.iloc[1400:]
    ours, log = service_scores(ml, s3, bucket, "MULTICLASS", train, test, types, "label")
    reference = reference_scores("MULTICLASS", train, test, types, "label")
    assert ours.metric >= reference.metric - 0.02, (ours, reference)
    assert ours.log_loss <= reference.log_loss * LOG_LOSS_MARGIN, (ours, reference)
    passes = objectives(log)
    assert len(passes) > 3
    assert all(later <= earlier for earlier, later in zip(passes, passes[1:], strict=False))


def test_text_model_matches_a_converged_logistic_regression(ml: Any, s3: Any, bucket: str) -> None:
    frame, types = spam_messages(3000, seed=1)
    train, test = frame.iloc[:2000], frame.iloc[2000:]
    ours, _ = service_scores(ml, s3, bucket, "BINARY", train, test, types, "spam")
    reference = reference_scores("BINARY", train, test, types, "spam")
    assert ours.metric >= reference.metric - 0.005, (ours, reference)
    assert ours.log_loss <= reference.log_loss * LOG_LOSS_MARGIN, (ours, reference)
    assert ours.recall >= reference.recall - 0.03, (ours, reference)
