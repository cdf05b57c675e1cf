"""Fault injection: a plan of failed or delayed jobs, error answers and process exits, and its matching.

Off unless a plan is given (`AML_LOCAL_FAULTS`, `aml-local serve --faults`, `ServiceConfig.faults`, or
the signed `AmlLocal.PutFaultPlan` admin call). The protocol asks it which error to answer and the job
runner which job to fail or delay; both report the named points they reach, where a planned exit ends the
process. Imports nothing of the service.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

KINDS = ("DataSource", "MLModel", "Evaluation", "BatchPrediction")
#: Error codes a plan can answer with, and their HTTP status (as Amazon ML sends them).
ERROR_STATUS = {"InternalServerException": 500, "ThrottlingException": 400}
#: Exit status of a process ended by a planned exit.
EXIT_STATUS = 86
JOB_POINTS = ("start", "before-finish")
OTHER_POINTS = ("batch:after-first-file",)
FIELDS = ("failJobs", "delayJobs", "errors", "exits")


class FaultPlanError(ValueError):
    """A fault plan that cannot be used; the message names the field and what it accepts."""


@dataclass(frozen=True)
class JobFault:
    """Jobs of `kind` to fail or delay: the `nth` one started (1-based), or every one when None."""

    kind: str
    nth: int | None = None
    seconds: float = 0.0  # delays only

    def matches(self, kind: str, count: int) -> bool:
        return kind == self.kind and self.nth in (None, count)


@dataclass(frozen=True)
class ErrorFault:
    """Answer the next `times` calls of `operation` with `error` instead of running them."""

    operation: str
    error: str = "InternalServerException"
    times: int = 1


@dataclass(frozen=True)
class FaultPlan:
    fail_jobs: tuple[JobFault, ...] = ()
    delay_jobs: tuple[JobFault, ...] = ()
    errors: tuple[ErrorFault, ...] = ()
    exits: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.fail_jobs or self.delay_jobs or self.errors or self.exits)

    @classmethod
    def parse(cls, document: Any) -> FaultPlan:
        """The plan a JSON document describes; FaultPlanError names the first wrong field."""
        if not isinstance(document, dict):
            raise FaultPlanError(f"The fault plan must be a JSON object with the fields {', '.join(FIELDS)}.")
        unknown = sorted(set(document) - set(FIELDS))
        if unknown:
            raise FaultPlanError(f"Unknown fault plan field '{unknown[0]}': use {', '.join(FIELDS)}.")
        return cls(
            fail_jobs=tuple(_job_fault(f"failJobs[{i}]", item) for i, item in _items(document, "failJobs")),
            delay_jobs=tuple(
                _job_fault(f"delayJobs[{i}]", item, delay=True) for i, item in _items(document, "delayJobs")
            ),
            errors=tuple(_error_fault(f"errors[{i}]", item) for i, item in _items(document, "errors")),
            exits=tuple(_exit_point(f"exits[{i}]", item) for i, item in _items(document, "exits")),
        )

    def to_json(self) -> dict[str, Any]:
        def job(fault: JobFault, delay: bool) -> dict[str, Any]:
            seconds = {"seconds": fault.seconds} if delay else {}
            return {"kind": fault.kind, **({"nth": fault.nth} if fault.nth else {}), **seconds}

        return {
            "failJobs": [job(fault, delay=False) for fault in self.fail_jobs],
            "delayJobs": [job(fault, delay=True) for fault in self.delay_jobs],
            "errors": [{"operation": e.operation, "error": e.error, "times": e.times} for e in self.errors],
            "exits": list(self.exits),
        }


@dataclass(frozen=True)
class JobOrders:
    """What the plan has in store for one job: an injected failure message, and a delay before it runs."""

    failure: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class InjectedError:
    code: str
    status: int
    message: str


class Faults:
    """The plan in force and its counters, shared by the protocol and the job runner (thread-safe)."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._jobs_started: Counter[str] = Counter()
        self._errors_left: list[int] = []
        self.plan = FaultPlan()
        self.set_plan(plan or FaultPlan())

    def set_plan(self, plan: FaultPlan) -> None:
        """Put `plan` in force; job counts and error budgets start again from zero."""
        with self._lock:
            self.plan = plan
            self._jobs_started.clear()
            self._errors_left = [fault.times for fault in plan.errors]
        if plan:
            logger.warning("Fault plan in force: %s", plan.to_json())
        else:
            logger.info("No fault plan in force")

    def job_started(self, kind: str) -> JobOrders:
        """Count a job of `kind` as started; answer whether to fail it and how long to delay it."""
        with self._lock:
            plan = self.plan
            if not (plan.fail_jobs or plan.delay_jobs):
                return JobOrders()
            self._jobs_started[kind] += 1
            count = self._jobs_started[kind]
        failure = next((f for f in plan.fail_jobs if f.matches(kind, count)), None)
        delay = sum(f.seconds for f in plan.delay_jobs if f.matches(kind, count))
        message = f"Injected fault: {kind} job {count} fails as the fault plan asks." if failure else None
        return JobOrders(message, delay)

    def error_for(self, operation: str) -> InjectedError | None:
        """The error to answer this call of `operation` with, if the plan still has one for it."""
        with self._lock:
            for index, fault in enumerate(self.plan.errors):
                if fault.operation == operation and self._errors_left[index] > 0:
                    self._errors_left[index] -= 1
                    message = f"Injected fault: {fault.error} for {operation}, as the fault plan asks."
                    return InjectedError(fault.error, ERROR_STATUS[fault.error], message)
        return None

    def reach(self, point: str) -> None:
        """Called at a named point; ends the process at once (no clean-up) if the plan exits there."""
        if point in self.plan.exits:
            logger.critical("Injected fault: exiting at %s, as the fault plan asks.", point)
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_STATUS)


def _items(document: Mapping[str, Any], name: str) -> list[tuple[int, Any]]:
    items = document.get(name, [])
    if not isinstance(items, list):
        raise FaultPlanError(f"Fault plan field '{name}' must be a list.")
    return list(enumerate(items))


def _job_fault(where: str, item: Any, delay: bool = False) -> JobFault:
    allowed = {"kind", "nth", "seconds"} if delay else {"kind", "nth"}
    _check_fields(where, item, allowed)
    kind = item.get("kind")
    if kind not in KINDS:
        raise FaultPlanError(f"{where}.kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    nth = item.get("nth")
    if nth is not None and (not isinstance(nth, int) or isinstance(nth, bool) or nth < 1):
        raise FaultPlanError(
            f"{where}.nth must be a whole number from 1 (or absent for every job); got {nth!r}."
        )
    seconds = item.get("seconds", 0)
    if delay and (not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds > 0):
        raise FaultPlanError(f"{where}.seconds must be a number of seconds above 0; got {seconds!r}.")
    return JobFault(kind, nth, float(seconds) if delay else 0.0)


def _error_fault(where: str, item: Any) -> ErrorFault:
    _check_fields(where, item, {"operation", "error", "times"})
    operation = item.get("operation")
    if operation not in _operation_names():
        raise FaultPlanError(
            f"{where}.operation must name an Amazon ML operation (e.g. GetMLModel); got {operation!r}."
        )
    error = item.get("error", "InternalServerException")
    if error not in ERROR_STATUS:
        raise FaultPlanError(f"{where}.error must be one of {', '.join(ERROR_STATUS)}; got {error!r}.")
    times = item.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise FaultPlanError(f"{where}.times must be a whole number from 1; got {times!r}.")
    return ErrorFault(operation, error, times)


def _exit_point(where: str, point: Any) -> str:
    if isinstance(point, str) and point in _points():
        return point
    raise FaultPlanError(
        f"{where} must name a point: job:<Kind>:start, job:<Kind>:before-finish (Kind one of "
        f"{', '.join(KINDS)}), batch:after-first-file or request:<Operation>; got {point!r}."
    )


def _check_fields(where: str, item: Any, allowed: set[str]) -> None:
    if not isinstance(item, dict):
        raise FaultPlanError(f"{where} must be a JSON object with the fields {', '.join(sorted(allowed))}.")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise FaultPlanError(f"Unknown field {where}.{unknown[0]}: use {', '.join(sorted(allowed))}.")


@functools.cache
def _operation_names() -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("machinelearning").operation_names)


@functools.cache
def _points() -> frozenset[str]:
    jobs = {f"job:{kind}:{point}" for kind in KINDS for point in JOB_POINTS}
    return frozenset(jobs | set(OTHER_POINTS) | {f"request:{name}" for name in _operation_names()})
