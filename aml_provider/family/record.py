"""
The family record: one S3 object that is the single source of truth of a model family.

``<reports_uri><family>/family.json`` holds the champion, the previous champion, the members (models that
retrain runs produced, with the evidence their decisions cite), the pending promotion or rollback and the
endpoints left to drain. It is changed only by compare-and-set writes (S3 conditional writes: ``IfMatch``
on the ETag read, ``IfNoneMatch="*"`` for the first write), so two writers can never both win, and
every step of a promotion is recorded in it before it acts. Tags and endpoints are projections of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from aml_provider.family.layout import RECORD_NAME, family_prefix, get_object, split_s3_uri
from aml_provider.hooks.aml import AmlError

#: Compare-and-set attempts before a writer gives up (each lost race re-reads the record).
CAS_ATTEMPTS = 20


class FamilyBusy(AmlError):
    """Another run holds the family's lease: its promotion, rollback or clean-up is in progress."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass
class Pending:
    """A promotion or rollback in progress, recorded before it acts so that any later run can finish it."""

    op: str  # "promote" or "rollback"
    target: str  # the model that becomes champion
    expected_champion: str | None  # the champion the decision was made against
    owner: str  # dag_id/run_id/task_id of the writer (the same for every try of that task)
    expires: str  # ISO time after which another writer may take over
    run_id: str = ""
    threshold: float | None = None
    steps: list[str] = field(default_factory=list)


@dataclass
class FamilyRecord:
    """The desired state of one model family."""

    family: str
    champion: str | None = None
    previous: str | None = None
    threshold: float | None = None
    #: model ID -> what the family knows of it: run_id, logical_date, training (partitions),
    #: evidence (data source, evaluation and batch prediction IDs its decision cites), metric.
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: Pending | None = None
    #: models whose endpoint is kept until ``until`` (ISO time), then removed by a later run.
    draining: list[dict[str, str]] = field(default_factory=list)
    #: champions in order: {"ml_model_id", "run_id", "op", "at"}.
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    @classmethod
    def from_json(cls, text: str) -> FamilyRecord:
        data = json.loads(text)
        pending = data.pop("pending", None)
        record = cls(**data)
        record.pending = Pending(**pending) if pending else None
        return record

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def champion_training(self) -> list[str]:
        """The training partitions of the champion (empty without a champion)."""
        return list(self.members.get(self.champion or "", {}).get("training", []))

    def protected_models(self) -> set[str]:
        """Models that must keep existing: champion, previous champion, pending target, draining."""
        models = {self.champion, self.previous}
        if self.pending:
            models.add(self.pending.target)
        models.update(item["ml_model_id"] for item in self.draining)
        return {model for model in models if model}

    def cited_evidence(self) -> set[str]:
        """Entity IDs that the champion's and previous champion's decisions cite."""
        cited: set[str] = set()
        for model in (self.champion, self.previous):
            for ids in self.members.get(model or "", {}).get("evidence", {}).values():
                cited.update(ids)
        return cited


class FamilyStore:
    """Reads and changes one family's record in S3 with compare-and-set writes."""

    def __init__(self, s3: Any, reports_uri: str, family: str) -> None:
        self.s3 = s3
        self.family = family
        self.prefix = family_prefix(reports_uri, family)
        self.bucket, self.key = split_s3_uri(self.prefix + RECORD_NAME)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self) -> tuple[FamilyRecord, str | None]:
        """The record and its ETag (None when the family has no record yet)."""
        response = get_object(self.s3, self.bucket, self.key)
        if response is None:
            return FamilyRecord(self.family), None
        return FamilyRecord.from_json(response["Body"].read().decode()), response["ETag"]

    def load(self) -> FamilyRecord:
        return self.read()[0]

    def update(self, change: Callable[[FamilyRecord], Any]) -> tuple[FamilyRecord, Any]:
        """
        Apply ``change`` to the newest record and write it back only if nobody wrote in between.

        ``change`` mutates the record and returns a result; on a lost race it runs again on the newer
        record, so it must decide from the record alone. Returns (written record, result).
        """
        for _ in range(CAS_ATTEMPTS):
            record, etag = self.read()
            result = change(record)
            record.version += 1
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=record.to_json().encode(),
                    ContentType="application/json",
                    **condition,
                )
            except ClientError as error:
                if _lost_race(error):
                    continue
                raise
            return record, result
        raise FamilyBusy(f"Model family {self.family!r}: the record kept changing; try again")


def _lost_race(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)
