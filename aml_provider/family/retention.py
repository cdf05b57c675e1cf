"""
Retention that keeps evidence: what clean-up may delete, and the deletions themselves.

Only members count (models that retrain runs produced, newest first); the champion, the previous
champion, a pending target, draining models and challengers still on their way to promotion always
stay, and so does everything their decisions cite. The decision log is never touched. A dry run lists
what would go.
"""

from __future__ import annotations

import logging
from typing import Any

from aml_provider.family.record import FamilyRecord
from aml_provider.hooks.aml import BATCH_PREDICTION, DATA_SOURCE, EVALUATION, ML_MODEL, AmlHook, EntityKind

log = logging.getLogger(__name__)
#: A retrain run as members name it: (dag_id, run_id).
Run = tuple[str, str]
#: Evidence kinds in deletion order: what uses a data source goes before it.
EVIDENCE_KINDS: dict[str, EntityKind] = {
    "batch_predictions": BATCH_PREDICTION,
    "evaluations": EVALUATION,
    "ml_models": ML_MODEL,  # candidates that lost to the challenger
    "data_sources": DATA_SOURCE,
}


def doomed(record: FamilyRecord, keep_runs: int, own_run: Run | None = None) -> dict[str, list[str]]:
    """Entity IDs by kind name that clean-up deletes: members beyond ``keep_runs`` and their evidence.

    ``own_run`` is the run doing the clean-up: its own challenger is past its promotion step.
    """
    if keep_runs < 1:
        raise ValueError(f"keep_runs must be at least 1, not {keep_runs}")
    newest_first = sorted(
        record.members, key=lambda model: record.members[model].get("logical_date", ""), reverse=True
    )
    kept = set(newest_first[:keep_runs]) | record.protected_models() | in_flight(record, own_run)
    protected = record.cited_evidence()
    for model in kept:
        for ids in record.members.get(model, {}).get("evidence", {}).values():
            protected.update(ids)
    gone = [model for model in newest_first if model not in kept]
    result: dict[str, list[str]] = {}
    for key, kind in EVIDENCE_KINDS.items():
        ids = {i for model in gone for i in record.members[model].get("evidence", {}).get(key, [])}
        result[kind.name] = sorted(ids - protected - record.protected_models())
    result[ML_MODEL.name] = gone + result[ML_MODEL.name]  # members first, then the candidates they beat
    return result


def in_flight(record: FamilyRecord, own_run: Run | None = None) -> set[str]:
    """Challengers that another run may still promote: decided "promote" against the current champion
    and not yet settled by their own run's clean-up (an approval can keep one waiting for days)."""
    return {
        model
        for model, facts in record.members.items()
        if facts.get("decision") == "promote"
        and not facts.get("settled")
        and "champion" in facts
        and facts["champion"] == record.champion
        and _run_of(facts) != own_run
    }


def settle(record: FamilyRecord, own_run: Run | None) -> None:
    """Mark the members of the run doing the clean-up as past their promotion step."""
    if own_run is None:
        return
    for facts in record.members.values():
        if _run_of(facts) == own_run:
            facts["settled"] = True


def _run_of(facts: dict[str, Any]) -> tuple[Any, Any]:
    """The (dag_id, run_id) that produced a member."""
    return facts.get("dag_id"), facts.get("run_id")


def delete(hook: AmlHook, plan: dict[str, list[str]]) -> None:
    """Delete what ``doomed`` chose: endpoints and models first, then evaluations, batch predictions, data."""
    for model in plan.get(ML_MODEL.name, []):
        if hook.find(ML_MODEL, model) is None:
            continue
        hook.delete_realtime_endpoint(model)
        hook.delete(ML_MODEL, model)
        log.info("Deleted %s", ML_MODEL.describe(model))
    for kind in (kind for kind in EVIDENCE_KINDS.values() if kind is not ML_MODEL):
        for entity_id in plan.get(kind.name, []):
            if hook.find(kind, entity_id) is not None and hook.delete(kind, entity_id):
                log.info("Deleted %s", kind.describe(entity_id))


def forget(record: FamilyRecord, plan: dict[str, list[str]], own_run: Run | None = None) -> None:
    """Drop deleted members from the record and settle ``own_run``'s (inside a compare-and-set write)."""
    for model in plan.get(ML_MODEL.name, []):
        record.members.pop(model, None)
    settle(record, own_run)


def summary(plan: dict[str, Any]) -> dict[str, int]:
    return {kind: len(ids) for kind, ids in plan.items()}
