"""
Champion and challenger models of one model family, kept in Amazon ML's own tags.

Amazon ML has no model registry, so a family's entities are named ``<family>/<run id>/<part>`` and its
models carry the tags ``aml:family`` and ``aml:role`` (``champion``, ``previous-champion`` or
``retired``). The champion is the model with a real-time endpoint that batch scoring uses; the previous
champion is what a rollback brings back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aml_provider.hooks.aml import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    ML_MODEL,
    AmlError,
    AmlHook,
    EntityKind,
)

FAMILY_TAG = "aml:family"
ROLE_TAG = "aml:role"
PROMOTED_AT_TAG = "aml:promoted-at"
CHAMPION = "champion"
PREVIOUS = "previous-champion"
RETIRED = "retired"


def entity_name(family: str, run_id: str, part: str) -> str:
    """Name an entity so that its family and run can be found again: ``<family>/<run id>/<part>``."""
    return f"{family}/{run_id}/{part}"


@dataclass(frozen=True)
class Decision:
    """Whether the challenger replaces the champion, and why."""

    promote: bool
    reason: str


def compare(
    challenger: Mapping[str, Any], champion: Mapping[str, Any] | None, min_improvement: float
) -> Decision:
    """Compare two evaluation results (on the same data); the challenger must win by ``min_improvement``."""
    if champion is None:
        return Decision(True, "there is no champion yet")
    if challenger["metric_name"] != champion["metric_name"]:
        raise AmlError(
            f"Cannot compare {challenger['metric_name']} with {champion['metric_name']}: "
            "the challenger and the champion must be the same kind of model"
        )
    sign = 1 if challenger["higher_is_better"] else -1
    gain = sign * (challenger["metric_value"] - champion["metric_value"])
    verdict = (
        f"{challenger['metric_name']} {challenger['metric_value']:.6g} vs {champion['metric_value']:.6g}"
    )
    if gain > min_improvement:
        return Decision(True, f"the challenger is better: {verdict}")
    return Decision(False, f"the champion stays (needs an improvement above {min_improvement:g}): {verdict}")


class ModelFamily:
    """The models of one family and their roles; promotion, rollback and clean-up act on them."""

    def __init__(self, hook: AmlHook, family: str) -> None:
        if not family or "/" in family:
            raise AmlError(f"family must be a non-empty name without '/', not {family!r}")
        self.hook = hook
        self.family = family

    def entities(self, kind: EntityKind) -> list[dict[str, Any]]:
        """The family's entities of one kind that are not deleted, oldest first."""
        found = self.hook.describe(kind, FilterVariable="Name", Prefix=f"{self.family}/", SortOrder="asc")
        return [entity for entity in found if entity["Status"] != "DELETED"]

    def roles(self) -> dict[str, str]:
        """Model ID -> role, for the family's models that have one."""
        roles = {}
        for model in self.entities(ML_MODEL):
            role = self.hook.describe_tags(ML_MODEL, model["MLModelId"]).get(ROLE_TAG)
            if role:
                roles[model["MLModelId"]] = role
        return roles

    def holder(self, role: str) -> str | None:
        """The model that has ``role`` now, or None."""
        return _holding(self.roles(), role)

    def promote(
        self,
        ml_model_id: str,
        smoke_record: Mapping[str, Any] | None,
        *,
        waiter_delay: float = 5,
        waiter_max_attempts: int = 60,
    ) -> dict[str, Any]:
        """Make ``ml_model_id`` the champion: endpoint READY, smoke prediction, tags, old endpoint removed."""
        roles = self.roles()
        champion = _holding(roles, CHAMPION)
        if champion == ml_model_id:
            return {"champion": ml_model_id, "previous": _holding(roles, PREVIOUS), "prediction": None}
        prediction = self._mount(ml_model_id, smoke_record, waiter_delay, waiter_max_attempts)
        for model, role in roles.items():
            if role == PREVIOUS:
                self._tag(model, RETIRED)
        if champion:
            self._tag(champion, PREVIOUS)
        self._tag(ml_model_id, CHAMPION)
        if champion:
            self.hook.delete_realtime_endpoint(champion)
        return {"champion": ml_model_id, "previous": champion, "prediction": prediction}

    def rollback(
        self,
        smoke_record: Mapping[str, Any] | None,
        *,
        waiter_delay: float = 5,
        waiter_max_attempts: int = 60,
    ) -> dict[str, Any]:
        """Bring the previous champion back; the current champion is retired."""
        roles = self.roles()
        previous = _holding(roles, PREVIOUS)
        if previous is None:
            raise AmlError(f"Model family {self.family!r} has no previous champion to roll back to")
        champion = _holding(roles, CHAMPION)
        prediction = self._mount(previous, smoke_record, waiter_delay, waiter_max_attempts)
        self._tag(previous, CHAMPION)
        if champion:
            self._tag(champion, RETIRED)
            self.hook.delete_realtime_endpoint(champion)
        return {"champion": previous, "retired": champion, "prediction": prediction}

    def cleanup(self, keep_runs: int) -> dict[str, list[str]]:
        """Delete the family's entities outside its newest ``keep_runs`` runs, except champion and previous."""
        if keep_runs < 1:
            raise AmlError(f"keep_runs must be at least 1, not {keep_runs}")
        by_kind = {
            kind: self.entities(kind) for kind in (ML_MODEL, EVALUATION, BATCH_PREDICTION, DATA_SOURCE)
        }
        newest: dict[str, float] = defaultdict(float)
        for entities in by_kind.values():
            for entity in entities:
                run = self._run_of(entity)
                newest[run] = max(newest[run], _timestamp(entity["CreatedAt"]))
        kept_runs = set(sorted(newest, key=newest.__getitem__, reverse=True)[:keep_runs])
        protected = {model for model, role in self.roles().items() if role in (CHAMPION, PREVIOUS)}
        deleted: dict[str, list[str]] = {}
        for kind, entities in by_kind.items():
            doomed = [
                entity[kind.id_key]
                for entity in entities
                if self._run_of(entity) not in kept_runs and entity[kind.id_key] not in protected
            ]
            for entity_id in doomed:
                if kind is ML_MODEL:
                    self.hook.delete_realtime_endpoint(entity_id)
                self.hook.delete(kind, entity_id)
            deleted[kind.name] = doomed
        return deleted

    def _mount(
        self,
        ml_model_id: str,
        smoke_record: Mapping[str, Any] | None,
        waiter_delay: float,
        waiter_max_attempts: int,
    ) -> dict[str, Any] | None:
        """Give the model a READY endpoint and check it answers a prediction."""
        self.hook.check_not_failed(ML_MODEL, self.hook.get(ML_MODEL, ml_model_id))
        self.hook.create_realtime_endpoint(ml_model_id)
        self.hook.wait_for_endpoint(
            ml_model_id, waiter_delay=waiter_delay, waiter_max_attempts=waiter_max_attempts
        )
        return self.hook.predict(ml_model_id, smoke_record) if smoke_record else None

    def _tag(self, ml_model_id: str, role: str) -> None:
        tags = {FAMILY_TAG: self.family, ROLE_TAG: role}
        if role == CHAMPION:
            tags[PROMOTED_AT_TAG] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.hook.add_tags(ML_MODEL, ml_model_id, tags)

    @staticmethod
    def _run_of(entity: Mapping[str, Any]) -> str:
        """The run part of ``<family>/<run id>/<part>``."""
        parts = str(entity.get("Name", "")).split("/")
        return parts[1] if len(parts) >= 3 else ""


def _holding(roles: Mapping[str, str], role: str) -> str | None:
    """The model that has ``role`` in ``roles`` (model ID -> role), or None."""
    return next((model for model, held in roles.items() if held == role), None)


def _timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


__all__ = ["CHAMPION", "PREVIOUS", "RETIRED", "Decision", "ModelFamily", "compare", "entity_name"]
