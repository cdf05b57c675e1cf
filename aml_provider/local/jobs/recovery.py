"""Start-up recovery: what a previous process left behind is cleaned up before jobs are scheduled.

Jobs never resume half-way after a restart (the runner fails the INPROGRESS ones; those a stop put back
to PENDING run again from the start), so every scratch folder is stale, once the job's worker from the
previous process has ended (it dies with that process, but may still be writing for a moment); a batch prediction cut off while
publishing (killed, or requeued by a stop) has its half-written outputs removed from S3; and an entity
whose ID cannot be a folder name (stored before IDs were checked) ends FAILED instead of running.
Nothing here stops the service from starting: each entity's problem is logged and left at that.
"""

from __future__ import annotations

import logging
import shutil

from aml_provider.local.config import ServiceConfig
from aml_provider.local.data.s3 import S3Store
from aml_provider.local.jobs.context import (
    PUBLICATION_PLAN,
    SCRATCH,
    append_log,
    artifacts_dir,
    wait_for_worker,
)
from aml_provider.local.jobs.runner import MAX_MESSAGE
from aml_provider.local.store import EntityStore, StoredEntity, now
from aml_provider.local.store.names import is_safe_id
from aml_provider.local.writers import discard_publication

logger = logging.getLogger(__name__)

UNSAFE_ID = (
    "{kind}Id '{id}' cannot be used: IDs may not be '.' or '..' and must match [a-zA-Z0-9_.-]{{1,64}}; "
    "create the entity again with another ID."
)
LEGACY_SCRATCH = ("training-cache", "results")
#: How long start-up waits for a job's worker that the previous process left (it dies with that process,
#: a moment later) before cleaning up after the job.
WORKER_EXIT_SECONDS = 30.0


def recover(config: ServiceConfig, store: EntityStore) -> None:
    """Clean up after the previous process; call before the job runner starts."""
    unfinished = store.with_status("INPROGRESS") + store.with_status("PENDING")
    for entity in unfinished:
        try:
            _recover_entity(config, store, entity)
        except Exception:
            logger.exception("Cannot clean up after %s %s; leaving it as it is", entity.kind, entity.id)
    _remove_scratch(config)


def _recover_entity(config: ServiceConfig, store: EntityStore, entity: StoredEntity) -> None:
    if not is_safe_id(entity.id):
        message = UNSAFE_ID.format(kind=entity.kind, id=entity.id)[:MAX_MESSAGE]
        failed = {"Status": "FAILED", "Message": message, "FinishedAt": now()}
        store.update(
            entity.kind, entity.id, failed, when=lambda doc: doc["Status"] in ("PENDING", "INPROGRESS")
        )
        logger.warning("%s", message)
        return
    artifacts = artifacts_dir(config, entity.kind, entity.id)
    if not wait_for_worker(artifacts, WORKER_EXIT_SECONDS):
        logger.warning(
            "A worker of %s %s is still running; cleaning up after it anyway", entity.kind, entity.id
        )
    plan = artifacts / PUBLICATION_PLAN
    if plan.exists():
        for uri in discard_publication(S3Store.from_config(config), plan):
            append_log(plan.parent, f"removed {uri}, left by the interrupted upload")


def _remove_scratch(config: ServiceConfig) -> None:
    """Every job's scratch folder (and those of earlier layouts): no job resumes after a restart."""
    root = config.data_dir / "artifacts"
    for name in (SCRATCH, *LEGACY_SCRATCH):
        for folder in root.glob(f"*/*/{name}"):
            shutil.rmtree(folder, ignore_errors=True)
