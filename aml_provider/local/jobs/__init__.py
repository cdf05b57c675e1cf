"""The job runner and the work it runs: one job function per entity kind, `run(ctx) -> fields`."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from typing import Any

from aml_provider.local.jobs.context import JobContext

Job = Callable[[JobContext], dict[str, Any]]


def job_for(kind: str) -> Job:
    """The function that does the work of a new entity of `kind`; its scratch space goes when it ends."""
    job = _job_of(kind)

    @functools.wraps(job)
    def run(ctx: JobContext) -> dict[str, Any]:
        try:
            return job(ctx)
        finally:
            shutil.rmtree(ctx.scratch, ignore_errors=True)

    return run


def _job_of(kind: str) -> Job:
    if kind == "DataSource":
        from aml_provider.local.jobs.datasource import run_datasource

        return run_datasource
    if kind == "MLModel":
        from aml_provider.local.jobs.training import run_training

        return run_training
    if kind == "Evaluation":
        from aml_provider.local.jobs.evaluation import run_evaluation

        return run_evaluation
    if kind == "BatchPrediction":
        from aml_provider.local.jobs.batch import run_batch_prediction

        return run_batch_prediction
    raise ValueError(f"no job for {kind}")


__all__ = ["Job", "JobContext", "job_for"]
