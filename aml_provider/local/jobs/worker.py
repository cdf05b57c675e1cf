"""Job worker processes: each job runs in a child process at a lower CPU priority than the request path.

A job in a thread of the service would hold the GIL between NumPy calls and delay every request (a
real-time Predict waits up to the interpreter's switch interval for it each time). In a process of its
own, niced, it competes with the service only for the CPU, and the kernel favours the service.

Children are forked from a fork server started once, which has already imported the job modules, so a
job starts in milliseconds. A child gets everything it needs in one picklable `JobOrder` and talks to the
service over a pipe: it reports the fault points it reaches (the service decides whether to exit there)
and sends its outcome last. It dies with the service (PR_SET_PDEATHSIG), and holds its job's worker lock
while it lives, so that a restarted service can wait for it to be gone before cleaning up after it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aml_provider.local.config import ServiceConfig
from aml_provider.local.errors import JobFailed
from aml_provider.local.faults import EXIT_STATUS
from aml_provider.local.jobs.context import hold_worker_lock

#: Modules the fork server imports once, so that children start with them loaded.
PRELOAD = [
    "aml_provider.local.jobs.datasource",
    "aml_provider.local.jobs.training",
    "aml_provider.local.jobs.evaluation",
    "aml_provider.local.jobs.batch",
    "aml_provider.local.jobs.predict",
]
_PR_SET_PDEATHSIG = 1
_context_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class JobOrder:
    """What a job needs from the service, sent to its worker process."""

    kind: str
    entity: dict[str, Any]
    request: dict[str, Any]
    config: ServiceConfig
    artifacts: Path
    #: the entities the job depends on, as GetX returns them, by (kind, id)
    dependencies: dict[tuple[str, str], dict[str, Any]]
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its fields (completed), or a failure message; `trace` for internal errors."""

    fields: dict[str, Any] | None = None
    failure: str | None = None
    trace: str | None = None
    cpu_seconds: float = 0.0


def run_in_worker(order: JobOrder, reach: Callable[[str], None], abandon: threading.Event) -> Outcome:
    """Run the job of `order` in a worker process and wait for its outcome.

    `reach` is called (in this process) with every fault point the job reaches; when `abandon` is set,
    the worker is killed and the outcome is a failure nobody stores.
    """
    parent, child = multiprocessing.Pipe()
    process = forkserver().Process(target=_work, args=(order, child), daemon=True)
    process.start()
    child.close()
    try:
        while True:
            if abandon.is_set():
                return Outcome(failure="abandoned at stop")
            if not parent.poll(0.2):
                continue
            try:
                message, value = parent.recv()
            except EOFError:
                process.join(5)
                return Outcome(
                    failure=f"The job's worker process ended unexpectedly (exit code "
                    f"{process.exitcode}); create the entity again with a new ID."
                )
            if message == "reach":
                reach(value)
                parent.send(True)
            else:
                return value  # type: ignore[no-any-return]
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        process.join()


def forkserver() -> Any:
    """The multiprocessing context of worker processes: forked from one server that preloaded `PRELOAD`."""
    global _context
    with _context_lock:
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(PRELOAD)
        return _context


def _work(order: JobOrder, conn: Connection) -> None:
    """The worker process: lower priority, die with the service, run the job, send the outcome."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which decides about its jobs
    _lower_priority(order.config)
    hold_worker_lock(order.artifacts)  # released by the kernel when this process ends, however it ends
    started = time.process_time()
    try:
        fields = _run(order, conn)
        outcome = Outcome(fields=fields)
    except JobFailed as failed:
        outcome = Outcome(failure=str(failed))
    except Exception as error:
        outcome = Outcome(
            failure=f"Internal error while running the job: {error}", trace=traceback.format_exc()
        )
    conn.send(
        ("outcome", Outcome(outcome.fields, outcome.failure, outcome.trace, time.process_time() - started))
    )
    conn.close()


def _run(order: JobOrder, conn: Connection) -> dict[str, Any]:
    from aml_provider.local.data.s3 import S3Store
    from aml_provider.local.jobs import JobContext, job_for
    from aml_provider.local.jobs.context import append_log, artifacts_dir

    def reach(point: str) -> None:
        try:
            conn.send(("reach", point))
            conn.recv()
        except (EOFError, OSError):  # the service ended (at this point, if its fault plan said so): so do we
            os._exit(EXIT_STATUS)

    def dependency(kind: str, entity_id: str) -> dict[str, Any]:
        return order.dependencies[(kind, entity_id)]

    ctx = JobContext(
        kind=order.kind,
        entity=order.entity,
        request=order.request,
        config=order.config,
        s3=S3Store.from_config(order.config),
        artifacts=order.artifacts,
        artifacts_of=functools.partial(artifacts_dir, order.config),
        get_entity=dependency,
        log=functools.partial(append_log, order.artifacts),
        secrets=order.secrets,
        reach=reach,
    )
    return job_for(order.kind)(ctx)


def _lower_priority(config: ServiceConfig) -> None:
    """The configured niceness and, with `job_scheduling` "idle", SCHED_IDLE where the system has it
    (elsewhere, or where it is not allowed, the niceness alone)."""
    os.nice(config.job_niceness)
    if config.job_scheduling == "idle" and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent (the fork server, so the service) ends."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the worker ends when its pipe closes
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
