"""One model family: its record, its decision log and its serving, behind one object for the operators."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from aml_provider.family import retention
from aml_provider.family.layout import family_prefix
from aml_provider.family.log import DecisionLog
from aml_provider.family.record import FamilyRecord, FamilyStore
from aml_provider.family.serving import FAMILY_TAG, Serving, Writer
from aml_provider.hooks.aml import ML_MODEL, AmlError, AmlHook


def member_tags(facts: Mapping[str, Any]) -> dict[str, str]:
    """The tags that say where a member comes from: deciding run, metric, training window, evaluations."""
    metric = facts.get("metric") or {}
    training = [uri.rstrip("/").rsplit("/", 1)[-1] for uri in facts.get("training", [])]
    tags = {
        "aml:run": str(facts.get("run_id", "")),
        "aml:decision": str(facts.get("decision", "")),
        "aml:metric": "" if metric.get("value") is None else f"{metric['value']:.6g}",
        "aml:training-window": f"{training[0]}..{training[-1]}" if training else "",
        "aml:evaluation-ids": " ".join(facts.get("evidence", {}).get("evaluations", [])),
    }
    return {key: value[:256] for key, value in tags.items() if value}


class ModelFamily:
    """The models of one family, kept in ``<reports_uri><family>/``: find, register, promote, clean up."""

    def __init__(self, hook: AmlHook, s3: Any, reports_uri: str, family: str) -> None:
        self.hook = hook
        self.s3 = s3
        self.family = family
        self.reports_uri = reports_uri
        self.prefix = family_prefix(reports_uri, family)
        self.store = FamilyStore(s3, reports_uri, family)

    @cached_property
    def log(self) -> DecisionLog:
        return DecisionLog(self.s3, self.reports_uri, self.family)

    def record(self) -> FamilyRecord:
        return self.store.load()

    def champion(self) -> str | None:
        """The champion the record names (readers never look at tags)."""
        return self.record().champion

    def serving(self, writer: Writer) -> Serving:
        return Serving(self.hook, self.store, writer, self.log)

    def register(self, ml_model_id: str, facts: Mapping[str, Any]) -> None:
        """Record a model a run produced (its run, training window, evidence) and tag it with them."""
        self.store.update(lambda record: record.members.setdefault(ml_model_id, dict(facts)))
        self.hook.add_tags(ML_MODEL, ml_model_id, {FAMILY_TAG: self.family, **member_tags(facts)})

    def rollback_target(self, requested: str | None) -> str:
        """The model a rollback goes to: ``requested`` if it may serve, else the previous champion."""
        record = self.record()
        choices = self.rollback_choices(record)
        target = requested or record.previous
        if not target:
            raise AmlError(f"Model family {self.family!r} has no previous champion to roll back to")
        if target not in choices and not self._tagged_member(target):
            listed = ", ".join(choices) or "none"
            raise AmlError(
                f"Cannot roll {self.family!r} back to {target!r}: not a retained model of the family. "
                f"Valid choices: {listed}"
            )
        return target

    def rollback_choices(self, record: FamilyRecord | None = None) -> list[str]:
        """Retained, COMPLETED models of the family other than the champion, newest first."""
        record = record or self.record()
        members = sorted(
            record.members, key=lambda m: record.members[m].get("logical_date", ""), reverse=True
        )
        if record.previous and record.previous not in members:
            members.insert(0, record.previous)
        return [model for model in members if model != record.champion and self._completed(model)]

    def cleanup(
        self, keep_runs: int, *, dry_run: bool = False, own_run: retention.Run | None = None
    ) -> dict[str, list[str]]:
        """Delete members beyond ``keep_runs`` and the evidence nothing kept cites; ``own_run`` (dag_id,
        run_id) is the retrain run cleaning up, whose challenger is past its promotion step."""
        plan = retention.doomed(self.record(), keep_runs, own_run)
        if not dry_run:
            retention.delete(self.hook, plan)
            self.store.update(lambda record: retention.forget(record, plan, own_run))
        return plan

    def _completed(self, ml_model_id: str) -> bool:
        model = self.hook.find(ML_MODEL, ml_model_id)
        return model is not None and model.get("Status") == "COMPLETED"

    def _tagged_member(self, ml_model_id: str) -> bool:
        """A model outside the record may serve when it carries this family's tag and is COMPLETED."""
        if not self._completed(ml_model_id):
            return False
        return self.hook.describe_tags(ML_MODEL, ml_model_id).get(FAMILY_TAG) == self.family
