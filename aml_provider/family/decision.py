"""The retraining decision: promote the challenger, keep the champion, or reject the challenger.

Gates, in order (every one is reported with its value and threshold):

1. `checks`: no data check failed.
2. `rows`: at least `min_rows` evaluation rows were compared.
3. `floor`: the challenger's pessimistic bound (the lower end of its interval; the upper end for RMSE)
   beats `floor` when given (in metric units), else Amazon ML's baseline. Applies to the first model too.
4. `improvement` (with a champion): the lower end of the paired improvement's interval exceeds
   `min_improvement` (metric units; positive = challenger better, RMSE included).

A failed gate 1-3 rejects the challenger; with gate 4 failed the champion is kept; otherwise the
challenger is promoted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aml_provider.family.checks import MIN_ROWS, Check
from aml_provider.family.evidence import Evidence
from aml_provider.family.tables import FamilyDataError

ACTIONS = ("promote", "keep", "reject")


@dataclass
class Gate:
    name: str
    passed: bool
    value: Any
    threshold: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Decision:
    action: str  # promote, keep or reject
    reason: str
    gates: list[Gate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Decision:
        return cls(document["action"], document["reason"], [Gate(**gate) for gate in document["gates"]])


def decide(
    evidence: Evidence,
    checks: list[Check],
    *,
    min_improvement: float = 0.0,
    confidence: float = 0.95,
    floor: float | None = None,
    min_rows: int = MIN_ROWS,
) -> Decision:
    """Apply the gates to the evidence and the checks (`confidence` must be the evidence's own)."""
    if abs(confidence - evidence.confidence) > 1e-9:
        raise FamilyDataError(
            f"confidence {confidence} differs from the evidence's {evidence.confidence}: run compare_models "
            "with the confidence the decision uses."
        )
    gates = [checks_gate(checks), rows_gate(evidence, min_rows), floor_gate(evidence, floor)]
    failed = next((gate for gate in gates if not gate.passed), None)
    if failed is not None:
        return Decision("reject", f"challenger rejected: {failed.message}", gates)
    if evidence.improvement is None:
        return Decision("promote", f"first model: {gates[-1].message}", gates)
    gates.append(improvement_gate(evidence, min_improvement))
    if gates[-1].passed:
        return Decision("promote", f"challenger promoted: {gates[-1].message}", gates)
    return Decision("keep", f"champion kept: {gates[-1].message}", gates)


def checks_gate(checks: list[Check]) -> Gate:
    failing = [check.name for check in checks if check.status == "fail"]
    message = f"data checks failed: {', '.join(failing)}" if failing else "no data check failed"
    if failing:
        message += f" ({next(c.message for c in checks if c.status == 'fail')})"
    return Gate("checks", not failing, len(failing), 0, message)


def rows_gate(evidence: Evidence, min_rows: int) -> Gate:
    rows = evidence.rows["compared"]
    passed = rows >= min_rows
    message = f"{rows} evaluation rows compared" + ("" if passed else f", fewer than min_rows {min_rows}")
    return Gate("rows", passed, rows, min_rows, message)


def floor_gate(evidence: Evidence, floor: float | None) -> Gate:
    """The challenger's pessimistic bound against the floor (or the baseline)."""
    model, name = evidence.challenger, evidence.metric_name
    low, high = model.interval
    bound, bar = (low, "above") if evidence.higher_is_better else (high, "below")
    threshold = evidence.baseline if floor is None else floor
    against = f"the baseline ({evidence.baseline_description})" if floor is None else "the floor"
    passed = bound > threshold if evidence.higher_is_better else bound < threshold
    verb = "is" if passed else "is not"
    message = (
        f"{name} {model.metric:.4f} ({_percent(evidence)} interval {low:.4f} to {high:.4f}) "
        f"{verb} reliably {bar} {against} {threshold:.4f}"
    )
    return Gate("floor", passed, bound, threshold, message)


def improvement_gate(evidence: Evidence, min_improvement: float) -> Gate:
    assert evidence.improvement is not None
    estimate, low, high = (evidence.improvement[key] for key in ("estimate", "low", "high"))
    passed = low > min_improvement
    verb = "exceeds" if passed else "does not exceed"
    message = (
        f"{evidence.metric_name} improvement {estimate:+.4f} ({_percent(evidence)} interval {low:+.4f} to "
        f"{high:+.4f}): its lower bound {verb} min_improvement {min_improvement:g}"
    )
    return Gate("improvement", passed, low, min_improvement, message)


def _percent(evidence: Evidence) -> str:
    return f"{evidence.confidence:.0%}"
