"""The full stack (docker-compose.yml's topology as native processes) runs ``aml_retrain`` through the
REST API: the waits defer to the triggerer, a worker killed during training is survived by a retry that
reattaches to the model it created, and the family ends with exactly one champion."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from aml_provider import demo
from tests.deploy.processes import wait_until
from tests.deploy.proxy import HoldingProxy
from tests.deploy.stack import POSTGRES, NativeStack, postgres_admin, redis_client
from tests.helpers import service_unavailable

pytestmark = pytest.mark.deploy

DAG_ID = "aml_retrain"
FINISHED = {"success", "failed"}
#: As aml_provider/demo.py runs its first day: the day's partition only, no grace for the old endpoint.
FIRST_DAY = "2026-11-04T00:00:00Z"
DEMO_CONF = {
    "smoke_record": demo.SMOKE,
    "training_window": 1,
    "missing_partition": "skip",
    "endpoint_grace": 0,
}


def require_servers() -> None:
    try:
        with postgres_admin() as cursor:
            cursor.execute("SELECT 1")
        redis_client(0).ping()
    except Exception as error:  # psycopg2 or redis: either is a missing server
        service_unavailable(f"the stack test needs PostgreSQL at {POSTGRES} and Redis: {error}")


class RunWatch:
    """Polls a DAG run's task instances in the metadata DB and remembers every state each one passed."""

    def __init__(self, stack: NativeStack, run_id: str) -> None:
        self.stack, self.run_id = stack, run_id
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.latest: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        self.stack.groups.check_running()
        self.latest = self.stack.task_instances(DAG_ID, self.run_id)
        for ti in self.latest:
            self.seen[ti["task_id"]].add(str(ti["state"]))
        return self.latest

    def finished(self) -> str | None:
        """The run's state once it is over (through the REST API), polling its task instances meanwhile."""
        self.poll()
        state = self.stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(self.run_id)}")["state"]
        return state if state in FINISHED else None

    def until(self, condition: Callable[[list[dict[str, Any]]], Any], timeout: float, what: str) -> Any:
        return wait_until(lambda: condition(self.poll()), timeout, what, interval=0.2)


def test_retrain_on_the_full_stack_defers_survives_a_killed_worker_and_promotes_one_champion(
    tmp_path: Path,
) -> None:
    require_servers()
    started = time.monotonic()
    stack = NativeStack(tmp_path, heartbeat_timeout=30, scheduled_runs=False)
    proxy = HoldingProxy(f"127.0.0.1:{stack.aml_port}")
    stack.ml_endpoint = proxy.url
    with proxy.running(), stack:
        stack.land_demo_data()
        stack.wait_for_dag(DAG_ID)
        stack.api("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
        proxy.armed.set()  # the training task's first status check hangs, on a worker we then kill
        run = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": FIRST_DAY, "conf": DEMO_CONF})
        watch = RunWatch(stack, run["dag_run_id"])

        watch.until(lambda tis: proxy.holding.is_set(), 180, "the training task's first status check")
        training = next(ti for ti in watch.poll() if "MLModel" in ti["operator"] and ti["state"] == "running")
        stack.groups.kill("celery-worker")
        proxy.release()
        stack.start_component("celery worker")

        final = wait_until(watch.finished, 240, f"{DAG_ID} to finish", interval=0.5)
        tis = watch.poll()
        ml = stack.client("machinelearning")
        models = ml.describe_ml_models()["Results"]
        roles = [role_of(ml, model["MLModelId"]) for model in models]

    assert final == "success", {ti["task_id"]: ti["state"] for ti in tis}
    # The retry reattached: one model, created once, by a training task that needed a second try.
    retried = next(ti for ti in tis if ti["task_id"] == training["task_id"])
    assert (retried["state"], retried["try_number"]) == ("success", 2)
    assert [model["MLModelId"] for model in models] == proxy.created
    assert len(proxy.created) == 1
    assert roles == ["champion"]
    # The waits deferred and resumed: tasks seen deferred, whose triggers ran in the triggerer to a
    # success event, and which then finished on a worker.
    deferred = deferred_tasks(stack, run["dag_run_id"])
    assert len(deferred) >= 2, (deferred, watch.seen)
    for task_id in deferred:
        log = trigger_log(stack, run["dag_run_id"], task_id)
        assert re.search(r"trigger .* starting", log), log
        assert re.search(r"Trigger fired event.*'status': 'success'", log), log
        assert next(ti["state"] for ti in tis if ti["task_id"] == task_id) == "success"
    # A run that succeeded logs no error, except in the try that was killed on purpose.
    killed = f"task_id={training['task_id']}/attempt=1.log"
    assert error_lines(stack, run["dag_run_id"], skip=killed) == []
    assert time.monotonic() - started < 300


def error_lines(stack: NativeStack, run_id: str, skip: str) -> list[str]:
    """The error-level lines of every task and trigger log of the run (Airflow writes JSON lines)."""
    folder = stack.root / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    found = []
    for path in sorted(folder.rglob("*.log")):
        if path.as_posix().endswith(skip):
            continue
        for line in path.read_text().splitlines():
            try:
                level = str(json.loads(line).get("level", "")).lower()
            except (ValueError, AttributeError):
                level = "error" if re.search(r"\bERROR\b", line) else ""
            if level in ("error", "critical"):
                found.append(f"{path.relative_to(folder)}: {line[:300]}")
    return found


def deferred_tasks(stack: NativeStack, run_id: str) -> set[str]:
    """The tasks whose triggers ran in the triggerer: Airflow writes a trigger log beside their task log
    (polled states can miss a short deferral)."""
    folder = stack.root / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    return {
        path.relative_to(folder).parts[0].removeprefix("task_id=") for path in folder.rglob("*.trigger.*.log")
    }


def trigger_log(stack: NativeStack, run_id: str, task_id: str) -> str:
    """What the triggerer logged for a task's triggers (Airflow writes it beside the task's log)."""
    folder = stack.root / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    return "\n".join(path.read_text() for path in sorted(folder.rglob("*.trigger.*.log")))  # map_index=N/


def role_of(ml: Any, model_id: str) -> str | None:
    tags = ml.describe_tags(ResourceId=model_id, ResourceType="MLModel")["Tags"]
    return next((tag["Value"] for tag in tags if tag["Key"] == "aml:role"), None)
