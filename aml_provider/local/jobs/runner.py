"""The job runner: starts PENDING entities once their dependencies are COMPLETED, each in a worker process.

Each job runs in a child process at a lower CPU priority (`jobs.worker`), watched by a thread of its own,
so the request path never waits for a job's Python code.

A scheduler thread sleeps on a condition variable and scans the store whenever an entity is created or a
job ends; at most `config.max_concurrent_jobs` jobs run at once. Entities whose dependency ended FAILED or
DELETED fail without running. Results of a job whose entity was deleted meanwhile are discarded.

A stop lets running jobs finish for up to `config.shutdown_timeout` seconds and stores their results; jobs
still running then go back to PENDING and run again from the start at the next start. An entity left
INPROGRESS by a process that ended without a stop (killed, crashed) ends FAILED at the next start: its
job may have been cut off half-way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aml_provider.local.config import ServiceConfig
from aml_provider.local.errors import JobFailed
from aml_provider.local.faults import Faults
from aml_provider.local.jobs.context import append_log, artifacts_dir
from aml_provider.local.jobs.worker import JobOrder, run_in_worker
from aml_provider.local.store import EntityStore, StoredEntity, now

logger = logging.getLogger(__name__)

INTERRUPTED = (
    "The local Amazon ML service stopped while this job was in progress; "
    "create the entity again with a new ID."
)
REQUEUED = (
    "The local Amazon ML service stopped before this job finished (it waited {timeout:g} s); "
    "the job runs again from the start when the service starts."
)
PASSWORD_LOST = (
    "The database password of this datasource is kept in memory only and was lost when the local "
    "Amazon ML service restarted; create the datasource again with a new ID."
)
MAX_MESSAGE = 10240  # the API's limit on Message
RESCAN_SECONDS = 5.0  # safety net; normally the scheduler wakes on every create and job end

_DATA_SOURCE_FIELDS = ("TrainingDataSourceId", "EvaluationDataSourceId", "BatchPredictionDataSourceId")


def dependencies(kind: str, document: dict[str, Any]) -> list[tuple[str, str]]:
    """The (kind, id) of every entity this one needs COMPLETED before its job can start."""
    needed = [("MLModel", document["MLModelId"])] if kind in ("Evaluation", "BatchPrediction") else []
    return needed + [("DataSource", document[f]) for f in _DATA_SOURCE_FIELDS if f in document]


def needs_password(kind: str, document: dict[str, Any]) -> bool:
    return kind == "DataSource" and ("RedshiftMetadata" in document or "RDSMetadata" in document)


class JobRunner:
    """Runs the job of every PENDING entity, at most `config.max_concurrent_jobs` at a time."""

    def __init__(
        self,
        config: ServiceConfig,
        store: EntityStore,
        get_entity: Callable[[str, str], dict[str, Any]],
        faults: Faults | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.get_entity = get_entity
        self.faults = faults or Faults()
        self._wakeup = threading.Condition()
        self._woken = False
        self._stopping = False
        self._running: set[tuple[str, str]] = set()
        self._abandoned: set[tuple[str, str]] = set()
        self._abandon = threading.Event()  # set once a stop gave up waiting for the running jobs
        self._secrets: dict[tuple[str, str], dict[str, str]] = {}
        self._scheduler = threading.Thread(target=self._schedule_forever, name="aml-scheduler", daemon=True)

    def start(self) -> None:
        """Fail the jobs a previous process left in progress, then start scheduling."""
        for entity in self.store.with_status("INPROGRESS"):
            try:
                self._finish(entity.kind, entity.id, _failure(INTERRUPTED))
            except Exception:  # one entity must not keep the service from starting
                logger.exception("Cannot end %s %s left in progress", entity.kind, entity.id)
        self._scheduler.start()
        self.wake()

    def stop(self) -> None:
        """Start no more jobs; wait up to `shutdown_timeout` for running ones, then put the rest back to PENDING.

        Jobs that finish in time store their results. The threads of the others are left to end on their
        own (they are daemons, so the process does not wait for them); whatever they produce is discarded.
        """
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        if self._scheduler.is_alive():
            self._scheduler.join()
        with self._wakeup:
            self._wakeup.wait_for(lambda: not self._running, self.config.shutdown_timeout)
            left = sorted(self._running)
            self._abandoned.update(left)
        self._abandon.set()
        for kind, entity_id in left:
            self._requeue(kind, entity_id)

    def _requeue(self, kind: str, entity_id: str) -> None:
        requeued = self.store.update(
            kind,
            entity_id,
            {"Status": "PENDING", "StartedAt": None},
            when=lambda document: document["Status"] == "INPROGRESS",
        )
        if requeued is not None:
            message = REQUEUED.format(timeout=self.config.shutdown_timeout)
            logger.warning("%s %s: %s", kind, entity_id, message)
            self.log(kind, entity_id, f"{kind} {entity_id}: {message}")

    def wake(self) -> None:
        """Ask the scheduler to look for work now (after a create, a delete or a job's end)."""
        with self._wakeup:
            self._woken = True
            self._wakeup.notify_all()

    def keep_secrets(self, kind: str, entity_id: str, secrets: dict[str, str]) -> None:
        """Hold secrets (never stored) for the entity's job."""
        self._secrets[(kind, entity_id)] = secrets

    def artifacts_of(self, kind: str, entity_id: str) -> Path:
        return artifacts_dir(self.config, kind, entity_id)

    def log(self, kind: str, entity_id: str, line: str) -> None:
        append_log(self.artifacts_of(kind, entity_id), line)

    def _schedule_forever(self) -> None:
        while True:
            with self._wakeup:
                if not self._woken and not self._stopping:
                    self._wakeup.wait(RESCAN_SECONDS)
                if self._stopping:
                    return
                self._woken = False
            try:
                self._schedule()
            except Exception:
                logger.exception("The job scheduler failed; retrying on the next wake-up")

    def _schedule(self) -> None:
        for entity in self.store.with_status("PENDING"):
            if self._stopping:
                return
            reason, ready = self._readiness(entity)
            if reason is not None:
                self._finish(entity.kind, entity.id, _failure(reason), expected="PENDING")
            elif ready and len(self._running) < self.config.max_concurrent_jobs:
                self._dispatch(entity)

    def _readiness(self, entity: StoredEntity) -> tuple[str | None, bool]:
        """(why the entity can never run, or None; whether it can run now)."""
        if needs_password(entity.kind, entity.document) and (entity.kind, entity.id) not in self._secrets:
            return PASSWORD_LOST, False
        ready = True
        for kind, entity_id in dependencies(entity.kind, entity.document):
            needed = self.store.get(kind, entity_id)
            status = needed.status if needed else "DELETED"
            if status in ("FAILED", "DELETED"):
                return f"{kind} '{entity_id}' needed by this {entity.kind} is {status}.", False
            ready = ready and status == "COMPLETED"
        return None, ready

    def _dispatch(self, entity: StoredEntity) -> None:
        changes: dict[str, Any] = {"Status": "INPROGRESS", "StartedAt": now()}
        data_source = self._data_source_of(entity)
        if data_source is not None:
            # A Redshift/RDS datasource knows where its data is staged only once it is COMPLETED.
            changes["InputDataLocationS3"] = data_source.document.get("DataLocationS3")
        started = self.store.update(
            entity.kind, entity.id, changes, when=lambda document: document["Status"] == "PENDING"
        )
        if started is None:
            return
        with self._wakeup:
            self._running.add((entity.kind, entity.id))
        name = f"aml-job-{entity.kind}-{entity.id}"
        threading.Thread(target=self._run, args=(entity.kind, entity.id), name=name, daemon=True).start()

    def _data_source_of(self, entity: StoredEntity) -> StoredEntity | None:
        """The datasource a model, evaluation or batch prediction reads."""
        for kind, entity_id in dependencies(entity.kind, entity.document):
            if kind == "DataSource":
                return self.store.get(kind, entity_id)
        return None

    def _run(self, kind: str, entity_id: str) -> None:
        try:
            self.faults.reach(f"job:{kind}:start")
            orders = self.faults.job_started(kind)
            if orders.delay:
                self.log(kind, entity_id, f"Injected fault: the job waits {orders.delay:g} s before it runs")
                if self._abandon.wait(orders.delay):
                    return
            outcome = _failure(orders.failure) if orders.failure else self._execute(kind, entity_id)
            self.faults.reach(f"job:{kind}:before-finish")
            if (kind, entity_id) not in self._abandoned:
                self._finish(kind, entity_id, outcome)
        finally:
            self._secrets.pop((kind, entity_id), None)
            with self._wakeup:
                self._running.discard((kind, entity_id))
                self._woken = True
                self._wakeup.notify_all()

    def _execute(self, kind: str, entity_id: str) -> dict[str, Any]:
        """Run the job in a worker process (see `worker`) and turn its outcome into the fields to store."""
        self.log(kind, entity_id, f"{kind} {entity_id}: job started")
        try:
            outcome = run_in_worker(self._order(kind, entity_id), self.faults.reach, self._abandon)
        except JobFailed as failed:
            return _failure(str(failed))
        if outcome.trace:
            self.log(kind, entity_id, "Internal error:\n" + outcome.trace)
        if outcome.fields is None:
            return _failure(outcome.failure or "The job failed.")
        completed = {**outcome.fields, "Status": "COMPLETED", "FinishedAt": now(), "Message": None}
        stored = self.store.get(kind, entity_id)
        if kind != "DataSource" or (stored and stored.document.get("ComputeStatistics")):
            completed["ComputeTime"] = int(outcome.cpu_seconds * 1000)
        return completed

    def _order(self, kind: str, entity_id: str) -> JobOrder:
        stored = self.store.get(kind, entity_id)
        if stored is None:
            raise JobFailed(f"{kind} {entity_id} no longer exists.")
        artifacts = self.artifacts_of(kind, entity_id)
        artifacts.mkdir(parents=True, exist_ok=True)
        needed = dependencies(kind, stored.document)
        return JobOrder(
            kind=kind,
            entity=self.get_entity(kind, entity_id),
            request=stored.request,
            config=self.config,
            artifacts=artifacts,
            dependencies={(k, i): self.get_entity(k, i) for k, i in needed},
            secrets=dict(self._secrets.get((kind, entity_id), {})),
        )

    def _finish(
        self, kind: str, entity_id: str, outcome: dict[str, Any], expected: str = "INPROGRESS"
    ) -> None:
        """Store the outcome unless the entity left `expected` meanwhile (e.g. it was deleted)."""
        stored = self.store.update(
            kind, entity_id, outcome, when=lambda document: document["Status"] == expected
        )
        if stored is None:
            self.log(
                kind, entity_id, f"{kind} {entity_id}: result discarded, the entity is no longer {expected}"
            )
        elif outcome["Status"] == "FAILED":
            self.log(kind, entity_id, f"{kind} {entity_id}: FAILED: {outcome['Message']}")
        else:
            self.log(kind, entity_id, f"{kind} {entity_id}: COMPLETED")
        if stored is not None:
            extra = {"kind": kind, "entity_id": entity_id, "status": outcome["Status"]}
            logger.info("%s %s: %s", kind, entity_id, outcome["Status"], extra=extra)


def _failure(message: str) -> dict[str, Any]:
    return {"Status": "FAILED", "Message": message[:MAX_MESSAGE], "FinishedAt": now()}
