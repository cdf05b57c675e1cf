"""What a job sees of the service: its entity, its dependencies' files, S3, its own files and its log."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aml_provider.local.config import ServiceConfig
from aml_provider.local.data.s3 import S3Store
from aml_provider.local.store.names import storage_name

#: A job's scratch space inside its artifacts; removed when the job ends and at every start-up.
SCRATCH = "scratch"
#: The plan of a batch prediction's publication while it is under way (see writers.BatchOutput).
PUBLICATION_PLAN = "publication.json"
#: Locked by the job's worker process for as long as it lives (the kernel lets go when it dies).
WORKER_LOCK = "worker.lock"
_log_lock = threading.Lock()


def artifacts_dir(config: ServiceConfig, kind: str, entity_id: str) -> Path:
    """The directory of an entity's files (artifacts and log.txt), kept across restarts."""
    return config.data_dir / "artifacts" / kind / storage_name(entity_id)


def append_log(directory: Path, line: str) -> None:
    """Append a timestamped line to `log.txt` in `directory`."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    directory.mkdir(parents=True, exist_ok=True)
    with _log_lock, (directory / "log.txt").open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {line}\n")


def hold_worker_lock(directory: Path) -> int:
    """Lock `directory`'s worker lock for the rest of this process, waiting while an earlier worker of the
    same job (one a killed service left running for a moment) still holds it; answer the lock's fd."""
    fd = os.open(directory / WORKER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def wait_for_worker(directory: Path, timeout: float) -> bool:
    """Wait until no worker process holds `directory`'s worker lock; False if one still does at `timeout`."""
    try:
        fd = os.open(directory / WORKER_LOCK, os.O_RDWR)
    except FileNotFoundError:
        return True  # no worker ever ran the job
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(fd)


@dataclass
class JobContext:
    """Handed to a job function `run(ctx) -> dict`.

    The job returns the API fields to set when it completes (e.g. `DataSizeInBytes`) and raises
    `errors.JobFailed(message)` to end FAILED. The runner sets Status, StartedAt, FinishedAt and
    ComputeTime itself. Jobs hand results to later jobs through files in `artifacts`.
    """

    kind: str  # "DataSource" | "MLModel" | "Evaluation" | "BatchPrediction"
    entity: dict[str, Any]  # the entity as GetX returns it
    request: dict[str, Any]  # the create request as received (passwords removed)
    config: ServiceConfig
    s3: S3Store
    artifacts: Path  # this entity's own directory, kept across restarts
    artifacts_of: Callable[[str, str], Path]  # (kind, id) -> another entity's directory
    get_entity: Callable[[str, str], dict[str, Any]]  # (kind, id) -> that entity as GetX returns it
    log: Callable[[str], None]  # append a line to the log served at LogUri
    secrets: dict[str, str] = field(default_factory=dict)  # e.g. {"Password": ...}, never persisted
    reach: Callable[[str], None] = lambda point: None  # report a named point to the fault plan

    @property
    def scratch(self) -> Path:
        """A folder for the job's temporary files, removed when the job ends."""
        return self.artifacts / SCRATCH
