"""decide on evidence from the local service: a planted better model is promoted, noise is kept,
shuffled labels are rejected by the floor, and a failing check rejects."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from aml_provider.family.checks import Check
from aml_provider.family.decision import Decision, decide
from aml_provider.family.evidence import Evidence
from aml_provider.family.tables import FamilyDataError
from tests.family.service import WITHOUT_X2, Day, generate, run_day


@pytest.mark.parametrize("model_type", ["BINARY", "MULTICLASS", "REGRESSION"])
def test_a_challenger_with_an_informative_feature_is_promoted(
    ml: Any, s3: Any, bucket: str, model_type: str
) -> None:
    day = run_day(
        ml,
        s3,
        bucket,
        model_type,
        generate(model_type, 2000, seed=1),
        generate(model_type, 2000, seed=2),
        WITHOUT_X2,
    )
    decision = decide(day.evidence, day.checks)
    assert decision.action == "promote", decision.reason
    assert [gate.name for gate in decision.gates] == ["checks", "rows", "floor", "improvement"]
    assert all(gate.passed for gate in decision.gates)
    assert day.evidence.improvement is not None
    assert decision.gates[-1].value == day.evidence.improvement["low"] > 0
    assert decision.reason.startswith("challenger promoted: ")


def test_a_noise_level_difference_keeps_the_champion(ml: Any, s3: Any, bucket: str) -> None:
    day = run_day(
        ml, s3, bucket, "BINARY", generate("BINARY", 2000, seed=3), generate("BINARY", 2000, seed=4)
    )
    decision = decide(day.evidence, day.checks)
    assert day.evidence.improvement is not None
    assert day.evidence.improvement["low"] < 0 < day.evidence.improvement["high"]
    assert decision.action == "keep", decision.reason
    assert decision.gates[-1].name == "improvement"
    assert not decision.gates[-1].passed
    assert "does not exceed min_improvement 0" in decision.reason


def test_a_first_model_trained_on_shuffled_labels_is_rejected_by_the_floor(
    ml: Any, s3: Any, bucket: str
) -> None:
    training = generate("BINARY", 2000, seed=5)
    training["y"] = np.random.default_rng(5).permutation(training["y"].to_numpy())
    day = run_day(ml, s3, bucket, "BINARY", training)
    decision = decide(day.evidence, day.checks)
    assert decision.action == "reject", decision.reason
    gates = {gate.name: gate for gate in decision.gates}
    assert gates["checks"].passed
    assert not gates["floor"].passed
    assert gates["floor"].value < gates["floor"].threshold == 0.5
    assert "is not reliably above the baseline" in decision.reason


@pytest.fixture(scope="module")
def first_model(ml: Any, s3: Any, bucket: str) -> Day:
    return run_day(ml, s3, bucket, "REGRESSION", generate("REGRESSION", 1500, seed=6))


def test_a_good_first_model_is_promoted_unless_a_check_fails_or_the_floor_is_higher(first_model: Day) -> None:
    evidence, checks = first_model.evidence, first_model.checks
    assert decide(evidence, checks).action == "promote"
    failing = Check("schema", "fail", 1, 0, "s3://b/day.csv lacks ['x2']")
    rejected = decide(evidence, [*checks, failing])
    assert rejected.action == "reject"
    assert rejected.reason == "challenger rejected: data checks failed: schema (s3://b/day.csv lacks ['x2'])"
    low, high = evidence.challenger.interval
    assert decide(evidence, checks, floor=high + 0.01).action == "promote", "RMSE: lower is better"
    assert decide(evidence, checks, floor=low).action == "reject"
    assert decide(evidence, checks, min_rows=evidence.rows["compared"] + 1).action == "reject"
    with pytest.raises(FamilyDataError, match="confidence 0.9 differs from the evidence's 0.95"):
        decide(evidence, checks, confidence=0.9)


def test_evidence_checks_and_decisions_survive_a_trip_through_json(first_model: Day) -> None:
    evidence, checks = first_model.evidence, first_model.checks
    decision = decide(evidence, checks)
    assert Evidence.from_dict(json.loads(json.dumps(evidence.to_dict()))) == evidence
    assert [Check.from_dict(json.loads(json.dumps(c.to_dict()))) for c in checks] == checks
    assert Decision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision
