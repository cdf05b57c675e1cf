"""
The decision log: an append-only list of events per family, one S3 object each, never deleted.

``<reports_uri><family>/log/<time>-<run hash>-<event>.json`` is written once (``IfNoneMatch="*"``), so a
retry cannot rewrite history. Events: ``decision`` (promote, keep, reject or skip, with the evidence),
``promotion`` and ``rollback`` (the champion pointer moved), ``cleanup`` (what was deleted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from aml_provider.family.layout import LOG_FOLDER, event_keys, family_prefix, read_events, split_s3_uri
from aml_provider.family.record import iso, now


class DecisionLog:
    """Appends and reads one family's events."""

    def __init__(self, s3: Any, reports_uri: str, family: str) -> None:
        self.s3 = s3
        self.family = family
        self.bucket, self.prefix = split_s3_uri(family_prefix(reports_uri, family) + LOG_FOLDER)

    def append(self, event: str, run_id: str, **facts: Any) -> str:
        """Write one event (once per run and event: a retry finds it there and leaves it); return its URI."""
        run_hash = _run_hash(event, run_id)
        existing = self._find(run_hash)
        if existing:
            return f"s3://{self.bucket}/{existing}"
        moment = now()
        body = {"event": event, "family": self.family, "run_id": run_id, "at": iso(moment), **facts}
        key = f"{self.prefix}{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{run_hash}-{event}.json"
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(body, indent=2, default=str).encode(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") not in (409, 412):
                raise
        return f"s3://{self.bucket}/{key}"

    def has(self, event: str, run_id: str) -> bool:
        """Whether the run already logged this event."""
        return self._find(_run_hash(event, run_id)) is not None

    def events(self, last: int | None = None) -> list[dict[str, Any]]:
        """Every event, oldest first (only the ``last`` ones when given)."""
        keys = event_keys(self.s3, self.bucket, self.prefix)
        return read_events(self.s3, self.bucket, keys[-last:] if last else keys)

    def _find(self, run_hash: str) -> str | None:
        return next(
            (key for key in event_keys(self.s3, self.bucket, self.prefix) if f"-{run_hash}-" in key), None
        )


def _run_hash(event: str, run_id: str) -> str:
    return hashlib.sha256(f"{run_id}\x1f{event}".encode()).hexdigest()[:12]


def history_rows(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run, with the model serving once that run's events are applied."""
    rows: dict[str, dict[str, Any]] = {}
    serving: str | None = None
    for event in events:
        kind, run_id = event["event"], event["run_id"]
        if kind == "decision":
            rows[run_id] = _decision_row(event)
        elif kind in ("promotion", "rollback"):
            serving = event.get("ml_model_id")
            row = rows.setdefault(run_id, {"logical_date": event.get("logical_date", ""), "reason": ""})
            if kind == "rollback":
                row.update(decision="rollback", reason=event.get("reason", ""))
        if run_id in rows:
            rows[run_id]["serving"] = serving
    return list(rows.values())


def _decision_row(event: Mapping[str, Any]) -> dict[str, Any]:
    challenger = event.get("challenger") or {}
    champion = event.get("champion") or {}
    return {
        "logical_date": event.get("logical_date", ""),
        "training_rows": event.get("training_rows"),
        "evaluation_rows": event.get("evaluation_rows"),
        "metric_name": event.get("metric_name", ""),
        "challenger": _estimate(challenger),
        "champion": _estimate(champion),
        "decision": event.get("action", ""),
        "reason": event.get("reason", ""),
    }


def _estimate(contestant: Mapping[str, Any]) -> str:
    value = contestant.get("value")
    if value is None:
        return "-"
    low, high = contestant.get("low"), contestant.get("high")
    if low is None or high is None:
        return f"{value:.4f}"
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def format_history(rows: Sequence[Mapping[str, Any]]) -> str:
    """The history as a fixed-width table, the decision and its reason last."""
    table = [
        ("logical date", "train rows", "eval rows", "challenger [interval]", "champion", "serving after")
    ]
    table += [
        (
            str(row.get("logical_date", ""))[:10],
            _count(row.get("training_rows")),
            _count(row.get("evaluation_rows")),
            row.get("challenger") or "-",
            row.get("champion") or "-",
            row.get("serving") or "-",
        )
        for row in rows
    ]
    reasons = ["decision"] + [f"{row.get('decision', '')}: {row.get('reason', '')}" for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + "  " + reason
        for line, reason in zip(table, reasons, strict=True)
    )


def _count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"
