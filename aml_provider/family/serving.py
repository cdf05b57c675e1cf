"""
Promotion and rollback as resumable sequences over the family record.

``begin`` records the pending change (with the champion it was decided against) before anything acts;
the endpoint is then mounted and, once READY, ``commit`` checks it with a smoke prediction, carries the
score threshold over and moves the champion pointer in one compare-and-set write. Tags and the old
endpoint follow (``project`` and ``drain``), and any later run repairs them, and the decision log's
event for the last pointer move. A crash at any step leaves
the old champion serving; a retry of the same task resumes, and another run reverts a pending change
whose lease has expired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aml_provider.family.log import DecisionLog
from aml_provider.family.record import FamilyBusy, FamilyRecord, FamilyStore, Pending, iso, now
from aml_provider.hooks.aml import ML_MODEL, AmlError, AmlHook

FAMILY_TAG = "aml:family"
ROLE_TAG = "aml:role"
CHAMPION = "champion"
PREVIOUS = "previous-champion"
RETIRED = "retired"


class ChampionChanged(AmlError):
    """The champion is no longer the one the decision compared against: decide again."""


@dataclass(frozen=True)
class Writer:
    """Who changes the family: the task (the same owner for every try) and for how long it may hold it."""

    owner: str
    run_id: str = ""
    lease: dt.timedelta = dt.timedelta(minutes=30)
    grace: dt.timedelta = dt.timedelta(minutes=10)


class Serving:
    """Moves a family's champion between models, keeping exactly one champion at every instant."""

    def __init__(
        self, hook: AmlHook, store: FamilyStore, writer: Writer, log: DecisionLog | None = None
    ) -> None:
        self.hook = hook
        self.store = store
        self.writer = writer
        self.log = log

    # The sequence

    def begin(
        self, op: str, target: str, expected_champion: str | None, threshold: float | None = None
    ) -> bool:
        """Record the change and ask for the target's endpoint; False when it is already the champion."""
        self.reconcile()
        model = self.hook.get(ML_MODEL, target)
        _, started = self.store.update(
            lambda record: self._claim(record, op, target, expected_champion, threshold, model)
        )
        if not started:
            return False
        self.hook.create_realtime_endpoint(target)
        return True

    def commit(self, target: str, smoke_record: Mapping[str, Any] | None) -> dict[str, Any]:
        """Once the endpoint is READY: smoke prediction, threshold, pointer moved, tags, old endpoint drained."""
        record = self.store.load()
        if record.champion == target and record.pending is None:
            return {"champion": target, "previous": record.previous, "prediction": None}
        pending = self._own_pending(record, target)
        prediction = self.hook.predict(target, smoke_record) if smoke_record else None
        threshold = pending.threshold if pending.threshold is not None else self._threshold_of(record)
        if threshold is not None and self.hook.get(ML_MODEL, target).get("MLModelType") == "BINARY":
            self.hook.update_score_threshold(target, threshold)
        record, _ = self.store.update(lambda current: self._move_pointer(current, target, threshold))
        self.project(record)
        return {"champion": target, "previous": record.previous, "prediction": prediction}

    # Repairs any run may do

    def reconcile(self) -> FamilyRecord:
        """Revert a stale pending change of another writer, repair tags and log, drain old endpoints."""
        record = self.store.load()
        if record.pending and record.pending.owner != self.writer.owner and _expired(record.pending):
            record = self._revert(record.pending)
        self.project(record)
        self.project_log(record)
        return self.drain(record)

    def project(self, record: FamilyRecord) -> None:
        """Make the role tags say what the record says (only the tags that differ are written)."""
        roles = dict.fromkeys(record.members, RETIRED)
        roles.update({record.previous: PREVIOUS} if record.previous else {})
        roles.update({record.champion: CHAMPION} if record.champion else {})
        for model, role in roles.items():
            tags = self.hook.describe_tags(ML_MODEL, model)
            if tags.get(ROLE_TAG) != role or tags.get(FAMILY_TAG) != record.family:
                self.hook.add_tags(ML_MODEL, model, {FAMILY_TAG: record.family, ROLE_TAG: role})

    def project_log(self, record: FamilyRecord) -> None:
        """Log the last pointer move if its writer died before logging it (an event is written once per run)."""
        if self.log is None or not record.history:
            return
        last = record.history[-1]
        event = "promotion" if last["op"] == "promote" else "rollback"
        if not self.log.has(event, last["run_id"]):
            self.log.append(
                event,
                last["run_id"],
                ml_model_id=last["ml_model_id"],
                previous=last.get("previous"),
                repaired=True,
            )

    def drain(self, record: FamilyRecord) -> FamilyRecord:
        """Remove the endpoints whose grace period is over (never the champion's or a pending target's)."""
        due = [item for item in record.draining if item["until"] <= iso(now())]
        if not due:
            return record
        keep = {record.champion, record.pending.target if record.pending else None}
        for item in due:
            if item["ml_model_id"] not in keep and self._exists(item["ml_model_id"]):
                self.hook.delete_realtime_endpoint(item["ml_model_id"])
        done = {item["ml_model_id"] for item in due}
        record, _ = self.store.update(
            lambda current: setattr(
                current, "draining", [i for i in current.draining if i["ml_model_id"] not in done]
            )
        )
        return record

    # Record changes (each runs inside a compare-and-set write, deciding from the record alone)

    def _claim(
        self,
        record: FamilyRecord,
        op: str,
        target: str,
        expected: str | None,
        threshold: float | None,
        model: Mapping[str, Any],
    ) -> bool:
        """Claim the record for this change. A superseded decision says so even when its model has gone
        meanwhile (another run's clean-up may delete a challenger once the champion changed)."""
        pending = record.pending
        if pending and pending.owner == self.writer.owner and pending.target == target:
            return True  # a retry of the same task resumes its own change
        if pending and not _expired(pending):
            raise FamilyBusy(
                f"Model family {record.family!r} is busy: {pending.op} of {pending.target} by "
                f"{pending.owner} until {pending.expires}; try again later"
            )
        if record.champion == target:
            return False
        if op == "promote" and record.champion != expected:
            raise ChampionChanged(
                f"The champion of {record.family!r} is now {record.champion}, not {expected} as when the "
                "challenger was compared; run the retrain again to decide against the new champion"
            )
        self.hook.check_not_failed(ML_MODEL, model)
        record.pending = Pending(
            op=op,
            target=target,
            expected_champion=record.champion,
            owner=self.writer.owner,
            expires=iso(now() + self.writer.lease),
            run_id=self.writer.run_id,
            threshold=threshold,
        )
        return True

    def _move_pointer(self, record: FamilyRecord, target: str, threshold: float | None) -> None:
        if record.champion == target and record.pending is None:
            return
        pending = self._own_pending(record, target)
        old = record.champion
        if old and old != target:
            record.previous = old
            record.draining.append({"ml_model_id": old, "until": iso(now() + self.writer.grace)})
        record.champion = target
        record.threshold = threshold
        record.pending = None
        record.draining = [item for item in record.draining if item["ml_model_id"] != target]
        record.history.append(
            {
                "ml_model_id": target,
                "previous": old,
                "run_id": pending.run_id,
                "op": pending.op,
                "at": iso(now()),
            }
        )

    def _own_pending(self, record: FamilyRecord, target: str) -> Pending:
        pending = record.pending
        if pending is None or pending.owner != self.writer.owner or pending.target != target:
            raise FamilyBusy(
                f"Model family {record.family!r}: the change to {target} by {self.writer.owner} is no longer "
                f"pending (pending now: {pending.op + ' of ' + pending.target if pending else 'nothing'})"
            )
        return pending

    def _revert(self, stale: Pending) -> FamilyRecord:
        """Undo what a dead writer left: its target's endpoint goes unless the target serves or drains."""

        def clear(record: FamilyRecord) -> bool:
            if record.pending != stale:
                return False
            record.pending = None
            return True

        record, cleared = self.store.update(clear)
        serving = {record.champion, *(item["ml_model_id"] for item in record.draining)}
        if cleared and stale.target not in serving and self._exists(stale.target):
            self.hook.delete_realtime_endpoint(stale.target)
        return record

    def _exists(self, ml_model_id: str) -> bool:
        model = self.hook.find(ML_MODEL, ml_model_id)
        return model is not None and model.get("Status") != "DELETED"

    def _threshold_of(self, record: FamilyRecord) -> float | None:
        """The threshold to carry over: the record's, else the current champion's ScoreThreshold."""
        if record.threshold is not None or not record.champion:
            return record.threshold
        value = self.hook.get(ML_MODEL, record.champion).get("ScoreThreshold")
        return None if value is None else float(value)


def _expired(pending: Pending) -> bool:
    return pending.expires <= iso(now())
