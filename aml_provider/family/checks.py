"""Data checks before a model is trained or compared: the fresh (evaluation) partition and the training window.

`run_checks` reads the files from S3 (a random sample of lines from large files, every line counted)
and answers one `Check` per rule. A rule that holds passes; one that does not gets its level: `fail`
(the run must not promote) or `warn` (reported). `settings` maps check names to `warn`, `fail` or
`off` (not run); `thresholds` overrides the default thresholds by check name.

| Check | Default | Holds when |
|---|---|---|
| `schema` | fail | every file has the schema's columns (header names, or number of values) |
| `types` | fail | at most 1 % of the present NUMERIC / BINARY values fail to parse, per attribute |
| `rows_training`, `rows_evaluation` | fail | the partition has at least `min_rows` records |
| `target_training`, `target_evaluation` | fail | the target has valid values and is not constant |
| `missing` | warn | no attribute of the fresh partition is missing in more than 20 % of its records |
| `drift` | warn | no attribute's PSI against the reference window (default: the training window) exceeds 0.2 |
| `target_drift` | warn | the target's PSI against the reference window is at most 0.2 |
| `alert_held_out` | warn | no fresh file is also a training file, by URI or content (ETag; a copy keeps it) |
| `alert_sufficient_data` | warn | evaluation records are at least 10 % of the training records |
| `alert_schema_matched` | warn | the fresh files have the same columns as the training files |
| `alert_all_records_read` | warn | every fresh record is readable and has a valid target |
| `alert_target_distribution` | warn | the target's PSI between training and fresh data is at most 0.2 |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aml_provider.family import drift
from aml_provider.family.tables import (
    BINARY_VALUES,
    FamilyDataError,
    Partition,
    Records,
    Schema,
    parse_schema,
    read_partition,
    target_values,
)

MIN_ROWS = 100
SAMPLE_ROWS = 100_000
LEVELS = ("warn", "fail", "off")
DEFAULT_LEVELS = {
    "schema": "fail",
    "types": "fail",
    "rows_training": "fail",
    "rows_evaluation": "fail",
    "target_training": "fail",
    "target_evaluation": "fail",
    "missing": "warn",
    "drift": "warn",
    "target_drift": "warn",
    "alert_held_out": "warn",
    "alert_sufficient_data": "warn",
    "alert_schema_matched": "warn",
    "alert_all_records_read": "warn",
    "alert_target_distribution": "warn",
}
DEFAULT_THRESHOLDS = {
    "types": 0.01,
    "missing": 0.2,
    "drift": 0.2,
    "target_drift": 0.2,
    "alert_sufficient_data": 0.1,
    "alert_target_distribution": 0.2,
}
TARGET_KINDS = {"BINARY": "BINARY", "CATEGORICAL": "MULTICLASS", "NUMERIC": "REGRESSION"}


@dataclass
class Check:
    """One rule's outcome: `pass`, or the rule's level (`warn`, `fail`) when it does not hold."""

    name: str
    status: str
    value: Any
    threshold: Any
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Check:
        return cls(**document)


def run_checks(
    s3: Any,
    *,
    schema: dict[str, Any] | str,
    fresh_uri: str,
    training_uris: list[str],
    reference_uris: list[str] | None = None,
    settings: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    min_rows: int = MIN_ROWS,
    sample_rows: int = SAMPLE_ROWS,
) -> list[Check]:
    """Every check that is not `off`, over the fresh partition, the training window and the reference window."""
    levels = _levels(settings)
    limits = _limits(thresholds)
    parsed = parse_schema(schema)
    fresh = read_partition(s3, "evaluation", [fresh_uri], parsed, sample_rows)
    training = read_partition(s3, "training", list(training_uris), parsed, sample_rows)
    reference = (
        read_partition(s3, "reference", list(reference_uris), parsed, sample_rows) if reference_uris else None
    )
    context = _Context(parsed, fresh, training, reference or training, min_rows, limits)
    checks = []
    for name, rule in RULES.items():
        if levels[name] != "off":
            holds, value, threshold, message, details = rule(context)
            checks.append(Check(name, "pass" if holds else levels[name], value, threshold, message, details))
    return checks


def _levels(settings: dict[str, str] | None) -> dict[str, str]:
    levels = {**DEFAULT_LEVELS, **(settings or {})}
    unknown = sorted(set(levels) - set(DEFAULT_LEVELS))
    if unknown:
        raise FamilyDataError(f"settings name unknown checks {unknown}: use {', '.join(DEFAULT_LEVELS)}.")
    wrong = {name: level for name, level in levels.items() if level not in LEVELS}
    if wrong:
        raise FamilyDataError(f"settings {wrong}: each level must be one of {', '.join(LEVELS)}.")
    return levels


def _limits(thresholds: dict[str, float] | None) -> dict[str, float]:
    unknown = sorted(set(thresholds or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise FamilyDataError(
            f"thresholds name checks without one {unknown}: use {', '.join(DEFAULT_THRESHOLDS)}."
        )
    return {**DEFAULT_THRESHOLDS, **(thresholds or {})}


@dataclass
class _Context:
    schema: Schema
    fresh: Partition
    training: Partition
    reference: Partition
    min_rows: int
    limits: dict[str, float]

    @property
    def reference_name(self) -> str:
        return (
            "the champion's training window" if self.reference is not self.training else "the training window"
        )


#: (holds, value, threshold, message, details)
Outcome = tuple[bool, Any, Any, str, list[dict[str, Any]]]


def check_schema(c: _Context) -> Outcome:
    problems = [
        problem
        for part in (c.fresh, c.training)
        for file in part.files
        if (problem := _file_problem(file, c.schema))
    ]
    message = (
        "; ".join(problems[:3]) if problems else f"every file has the schema's {len(c.schema.names)} columns"
    )
    return not problems, len(problems), 0, message, [{"problem": p} for p in problems]


def _file_problem(file: Records, schema: Schema) -> str | None:
    if file.header is not None:
        missing = [n for n in schema.names if n not in file.header]
        extra = [n for n in file.header if n not in schema.names]
        if missing or extra:
            return f"{file.uri} lacks {missing} and has unexpected {extra}"
        if file.header != list(schema.names):
            return f"{file.uri} has the schema's columns in another order"
    if file.sampled and len(file.frame) < 0.5 * file.sampled:
        return f"{file.uri}: most lines do not have the schema's {len(schema.names)} values"
    return None


def check_types(c: _Context) -> Outcome:
    limit = c.limits["types"]
    details: list[dict[str, Any]] = []
    for part in (c.fresh, c.training):
        frame = part.frame
        for name, kind in zip(c.schema.names, c.schema.types, strict=True):
            if kind in ("NUMERIC", "BINARY") and name in frame and len(frame):
                details.append(
                    {"partition": part.name, "attribute": name, "invalid": _invalid_share(kind, frame[name])}
                )
    worst: dict[str, Any] = max(details, key=lambda d: d["invalid"], default={"invalid": 0.0})
    holds = worst["invalid"] <= limit
    message = (
        f"values parse as their types (worst {worst['invalid']:.1%})"
        if holds
        else f"{worst['invalid']:.1%} of {worst['partition']} '{worst['attribute']}' values are not {c.schema.type_of(worst['attribute'])}"
    )
    return holds, worst["invalid"], limit, message, details


def _invalid_share(kind: str, values: pd.Series) -> float:
    text = values.astype(str).str.strip()
    present = text[text != ""]
    if present.empty:
        return 0.0
    if kind == "NUMERIC":
        invalid = ~np.isfinite(pd.to_numeric(present, errors="coerce").to_numpy(np.float64))
    else:
        invalid = ~present.str.lower().isin(BINARY_VALUES.keys()).to_numpy()
    return float(invalid.mean())


def _rows(part: Partition, c: _Context) -> Outcome:
    holds = part.lines >= c.min_rows
    verb = "has" if holds else "has only"
    return (
        holds,
        part.lines,
        c.min_rows,
        f"the {part.name} data {verb} {part.lines} records (minimum {c.min_rows})",
        [],
    )


def _target(part: Partition, c: _Context) -> Outcome:
    target = c.schema.target
    if target is None:
        return False, 0, 2, "the schema names no targetAttributeName", []
    values = _target_values(c.schema, part.frame)
    distinct = int(values.nunique())
    holds = distinct >= 2
    message = f"'{target}' has {distinct} distinct valid values in the {part.name} data"
    if not holds:
        message += ": a model cannot learn (or be judged) from a constant or missing target"
    return holds, distinct, 2, message, []


def _target_values(schema: Schema, frame: pd.DataFrame) -> pd.Series:
    if schema.target is None or schema.target not in frame:
        return pd.Series(dtype=object)
    kind = TARGET_KINDS.get(schema.type_of(schema.target), "MULTICLASS")
    return target_values(kind, frame[schema.target]).dropna()


def check_missing(c: _Context) -> Outcome:
    limit = c.limits["missing"]
    fresh, training = c.fresh.frame, c.training.frame
    details = [
        {
            "attribute": name,
            "evaluation": _missing_share(fresh, name),
            "training": _missing_share(training, name),
        }
        for name in c.schema.inputs
    ]
    worst: dict[str, Any] = max(
        details, key=lambda d: d["evaluation"], default={"attribute": "", "evaluation": 0.0}
    )
    holds = worst["evaluation"] <= limit
    message = f"most missing: '{worst['attribute']}', in {worst['evaluation']:.1%} of the fresh records" + (
        "" if holds else f" (above {limit:.0%})"
    )
    return holds, worst["evaluation"], limit, message, details


def _missing_share(frame: pd.DataFrame, name: str) -> float:
    if name not in frame or frame.empty:
        return 1.0
    return float((frame[name].astype(str).str.strip() == "").mean())


def check_drift(c: _Context) -> Outcome:
    limit = c.limits["drift"]
    fresh, reference = c.fresh.frame, c.reference.frame
    details: list[dict[str, Any]] = [
        {"attribute": name, "type": kind, "psi": drift.attribute_psi(kind, reference[name], fresh[name])}
        for name, kind in zip(c.schema.names, c.schema.types, strict=True)
        if name in c.schema.inputs and kind != "TEXT" and name in fresh and name in reference
    ]
    worst: dict[str, Any] = max(details, key=lambda d: d["psi"], default={"attribute": "", "psi": 0.0})
    holds = worst["psi"] <= limit
    message = f"largest PSI against {c.reference_name}: '{worst['attribute']}' {worst['psi']:.3f}" + (
        "" if holds else f" (above {limit})"
    )
    return holds, worst["psi"], limit, message, details


def _target_psi(c: _Context, reference: Partition, limit_name: str, against: str) -> Outcome:
    limit = c.limits[limit_name]
    ref, new = _target_values(c.schema, reference.frame), _target_values(c.schema, c.fresh.frame)
    if ref.empty or new.empty:
        return False, None, limit, "no valid target values to compare", []
    numeric = c.schema.target is not None and c.schema.type_of(c.schema.target) == "NUMERIC"
    if not numeric:
        ref, new = _label_text(ref), _label_text(new)
    shares = drift.numeric_shares(ref, new) if numeric else drift.categorical_shares(ref, new)
    value = drift.psi(*shares)
    details = [
        {
            "value": str(b),
            "reference": float(shares[0].get(b, 0.0)),
            "evaluation": float(shares[1].get(b, 0.0)),
        }
        for b in dict.fromkeys([*shares[0].index, *shares[1].index])
        if shares[0].get(b, 0.0) or shares[1].get(b, 0.0)
    ]
    holds = value <= limit
    message = f"target PSI against {against}: {value:.3f}" + (
        "" if holds else f" (above {limit}): the labels shifted"
    )
    return holds, value, limit, message, details


def _label_text(values: pd.Series) -> pd.Series:
    """Class labels as text (BINARY targets as 0 and 1)."""
    return values.astype(int).astype(str) if values.dtype.kind == "f" else values.astype(str)


def check_held_out(c: _Context) -> Outcome:
    training = {f.uri for f in c.training.files} | {f.etag for f in c.training.files if f.etag}
    shared = [f.uri for f in c.fresh.files if f.uri in training or f.etag in training]
    message = (
        f"fresh files also used for training (same file or same content): {shared[:3]}"
        if shared
        else "the fresh data is held out from training"
    )
    return not shared, len(shared), 0, message, []


def check_sufficient_data(c: _Context) -> Outcome:
    share = c.limits["alert_sufficient_data"]
    value = c.fresh.lines / c.training.lines if c.training.lines else 0.0
    holds = value >= share
    message = f"{c.fresh.lines} evaluation records are {value:.1%} of the {c.training.lines} training records"
    return holds, value, share, message, []


def check_schema_matched(c: _Context) -> Outcome:
    training = {tuple(f.header or ()) for f in c.training.files}
    odd = [f.uri for f in c.fresh.files if tuple(f.header or ()) not in training]
    message = (
        f"fresh files with other columns than the training files: {odd[:3]}"
        if odd
        else "same columns as training"
    )
    return not odd, len(odd), 0, message, []


def check_all_records_read(c: _Context) -> Outcome:
    frame = c.fresh.frame
    valid = len(_target_values(c.schema, frame))
    unreadable = c.fresh.unreadable_share
    unlabelled = 1 - valid / len(frame) if len(frame) else 0.0
    value = unreadable + (1 - unreadable) * unlabelled
    message = f"{value:.2%} of the fresh records are unreadable or lack a valid target"
    return value == 0, value, 0, message, []


RULES: dict[str, Callable[[_Context], Outcome]] = {
    "schema": check_schema,
    "types": check_types,
    "rows_training": lambda c: _rows(c.training, c),
    "rows_evaluation": lambda c: _rows(c.fresh, c),
    "target_training": lambda c: _target(c.training, c),
    "target_evaluation": lambda c: _target(c.fresh, c),
    "missing": check_missing,
    "drift": check_drift,
    "target_drift": lambda c: _target_psi(c, c.reference, "target_drift", c.reference_name),
    "alert_held_out": check_held_out,
    "alert_sufficient_data": check_sufficient_data,
    "alert_schema_matched": check_schema_matched,
    "alert_all_records_read": check_all_records_read,
    "alert_target_distribution": lambda c: _target_psi(
        c, c.training, "alert_target_distribution", "the training window"
    ),
}
