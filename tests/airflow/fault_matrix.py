"""
The fault matrix: every step of retrain, promotion, rollback and clean-up x four kinds of fault.

A cell sets up a family with a champion (real retrain runs), arms one fault at the request that is its
step's work (the proxies of :mod:`tests.airflow.fault_proxy` see every Amazon ML and S3 request of the
run), runs the DAG, retries it the way Airflow would (the task's retry, or Clear after a failed run or a
killed task process), runs the family's next clean-up, and checks the family with :func:`assert_sound`.

Run as ``python -m tests.airflow.fault_matrix SPEC`` it is the task process that a cell kills: it runs
the DAG described by the JSON ``SPEC`` with ``dag.test()`` on the same metadata database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.airflow.fault_proxy import Desk, Fault, FaultProxy, refused, server_error, unavailable
from tests.airflow.outages import RestartableService
from tests.airflow.runner import register
from tests.airflow.test_family_dags import SMOKE, Family, day, states

REPOSITORY = Path(__file__).resolve().parents[2]
#: Every run promotes (the matrix is about what fails, not what is decided) and clean-up keeps one run.
RETRAIN = {"retries": 1, "min_improvement": -1.0, "training_window": 1, "keep_runs": 1}
ROLLBACK_DAY = 20
OUTAGE_SECONDS = 3.0
CREATE_ENDPOINT = r"^ml:CreateRealtimeEndpoint "
RECORD_WRITE = r"^s3:PUT .*/family\.json$"


@dataclass(frozen=True)
class Step:
    """One step of the family's runs, found by the request(s) that do its work (in order)."""

    name: str
    dag: str  # "retrain" or "rollback"
    task_id: str
    trigger: tuple[str, ...]  # patterns over the requests' descriptions; "{champion}" is filled in
    job: str | None = None  # the Amazon ML job kind whose job is the step (its failure: a FAILED job)
    setup_runs: int = 1  # retrain runs before the faulted one (each promotes)

    @property
    def group(self) -> str:
        return self.name.split(":")[0]


def _created(operation: str, pattern: str) -> tuple[str, ...]:
    return (rf"^ml:{operation} .*{pattern}",)


STEPS = [
    Step("plan data", "retrain", "plan_data", (r"^s3:PUT .*/runs/.* copy$",)),
    Step("check data", "retrain", "check_data", (r"^s3:GET .*/runs/",)),
    Step(
        "datasource: training",
        "retrain",
        "training_data",
        _created("CreateDataSourceFromS3", r'"DataSourceName": "[^"]*/training"'),
        "DataSource",
    ),
    Step(
        "datasource: evaluation",
        "retrain",
        "evaluation_data",
        _created("CreateDataSourceFromS3", r'"DataSourceName": "[^"]*/evaluation"'),
        "DataSource",
    ),
    Step("training", "retrain", "train_challenger", (r"^ml:CreateMLModel ",), "MLModel"),
    Step(
        "batch: challenger",
        "retrain",
        "score_evaluation_data",
        _created("CreateBatchPrediction", "/scores/challenger/"),
        "BatchPrediction",
    ),
    Step(
        "batch: champion",
        "retrain",
        "score_evaluation_data",
        _created("CreateBatchPrediction", "/scores/champion/"),
        "BatchPrediction",
    ),
    Step(
        "evaluation: challenger",
        "retrain",
        "evaluate",
        _created("CreateEvaluation", r'"MLModelId": "(?!{champion}")'),
        "Evaluation",
    ),
    Step(
        "evaluation: champion",
        "retrain",
        "evaluate",
        _created("CreateEvaluation", r'"MLModelId": "{champion}"'),
        "Evaluation",
    ),
    Step("decide", "retrain", "decide", (r"^s3:PUT .*/log/[^/]*-decision\.json$",)),
    Step("promote: endpoint", "retrain", "promote", (CREATE_ENDPOINT,)),
    Step("promote: pointer", "retrain", "promote", (CREATE_ENDPOINT, RECORD_WRITE)),
    Step("promote: tags", "retrain", "promote", (CREATE_ENDPOINT, RECORD_WRITE, r"^ml:AddTags ")),
    Step("clean-up: drain", "retrain", "cleanup", (r"^ml:DeleteRealtimeEndpoint ",)),
    Step("clean-up: delete", "retrain", "cleanup", (r"^ml:DeleteMLModel ",), setup_runs=2),
    Step("rollback: endpoint", "rollback", "rollback", (CREATE_ENDPOINT,), setup_runs=2),
    Step("rollback: pointer", "rollback", "rollback", (CREATE_ENDPOINT, RECORD_WRITE), setup_runs=2),
    Step(
        "rollback: tags",
        "rollback",
        "rollback",
        (CREATE_ENDPOINT, RECORD_WRITE, r"^ml:AddTags "),
        setup_runs=2,
    ),
]


@dataclass
class Matrix:
    """The service the cells break (restartable, behind the proxies) and the desk that arms the faults."""

    service: RestartableService
    desk: Desk
    proxies: tuple[FaultProxy, FaultProxy]
    victim: int | None = None  # the task process a "killed" fault ends

    @property
    def ml(self) -> Any:
        return self.service.service.client()

    def connection(self) -> dict[str, Any]:
        """``aws_default`` for the cells: Amazon ML and S3 through the proxies, botocore's default retries."""
        ml_proxy, s3_proxy = self.proxies
        return {
            "conn_type": "aws",
            "login": self.service.service.access_key_id,
            "password": self.service.service.secret_access_key,
            "extra": {
                "region_name": "us-east-1",
                "service_config": {
                    "machinelearning": {"endpoint_url": ml_proxy.url},
                    "s3": {"endpoint_url": s3_proxy.url},
                },
            },
        }

    def kill_victim(self) -> None:
        assert self.victim is not None
        os.kill(self.victim, signal.SIGKILL)

    def fail_jobs(self, kind: str | None) -> None:
        """From now on the first job of `kind` that starts fails (the plan's counts start again)."""
        self.service.service.set_faults({"failJobs": [{"kind": kind, "nth": 1}]})

    def outage(self) -> None:
        self.service.begin_outage(OUTAGE_SECONDS)


#: Fault kind -> the fault it arms at the step's request.
FAULT_KINDS: dict[str, Callable[[Matrix, Step], Fault]] = {
    # The step's job ends FAILED, or its request takes effect but answers an error no client retries.
    "task fails, then retries": lambda matrix, step: (
        Fault(before=lambda: matrix.fail_jobs(step.job)) if step.job else Fault(answer=refused)
    ),
    # SIGKILL of the task process right after its request took effect; then the task's next try.
    "task process killed, then retried": lambda matrix, step: Fault(
        after=matrix.kill_victim, answer=unavailable
    ),
    # The request takes effect, its answer and the next two to that service are 500s.
    "service answers 5xx": lambda matrix, step: Fault(answer=server_error, fail_next=2),
    # The Amazon ML service stops right after the request and starts again 3 s later, same data.
    "service killed and restarted": lambda matrix, step: Fault(after=matrix.outage, answer=unavailable),
}
FAILED, KILLED = "task fails, then retries", "task process killed, then retried"


def retrain(family: Family, suffix: str = "", **params: Any) -> Any:
    return family.retrain(suffix=suffix, **{**RETRAIN, **params})


def rollback(family: Family) -> Any:
    from aml_provider.pipelines import rollback_dag

    return register(
        rollback_dag(
            family.name,
            dag_id=f"rollback_{family.name}".replace("-", "_"),
            reports_uri=family.uris["reports_uri"],
            waiter_delay=0.3,
        )
    )


def next_cleanup(family: Family) -> Any:
    """The family's next run that touches it: a clean-up (repairs projections, drains, retention)."""
    from airflow.sdk import DAG

    from aml_provider.operators import AmlCleanupOperator

    with DAG(f"cleanup_{family.name}".replace("-", "_"), schedule=None, catchup=False) as dag:
        AmlCleanupOperator(
            task_id="cleanup", family=family.name, reports_uri=family.uris["reports_uri"], keep_runs=1
        )
    return register(dag)


def faulted_run(family: Family, step: Step, target: str | None) -> tuple[Any, int, dict[str, Any]]:
    """The DAG, logical day and run conf of the run the cell breaks."""
    if step.dag == "rollback":
        conf = {"ml_model_id": target, "smoke_record": SMOKE, "endpoint_grace": 0}
        return rollback(family), ROLLBACK_DAY, conf
    return retrain(family), step.setup_runs + 2, {}


def run(dag: Any, number: int, conf: dict[str, Any] | None = None) -> Any:
    """Run `dag` for day `number`; running it again is Clear of that run (the same run ID)."""
    return dag.test(run_after=day(number), logical_date=day(number), run_conf=conf or {})


def set_up(family: Family, step: Step) -> list[str]:
    """Land the days and run the set-up retrains (each promotes); return the champions in order."""
    for number in range(1, step.setup_runs + 3):
        family.land(number, seed=number)
    dag, champions = retrain(family), []
    for number in range(2, step.setup_runs + 2):
        dag_run = run(dag, number)
        assert dag_run.state == "success", states(dag_run)
        champions.append(family.record()["champion"])
    return champions


def spawn(
    family: Family, dag: str, number: int, conf: dict[str, Any], suffix: str = "", **params: Any
) -> subprocess.Popen[bytes]:
    """A task process running the family's `dag` for day `number`; its output goes to ``<AIRFLOW_HOME>``."""
    spec = {"family": family.name, "bucket": family.bucket, "dag": dag, "day": number, "conf": conf}
    spec |= {"suffix": suffix, "params": params}
    out = (Path(os.environ["AIRFLOW_HOME"]) / f"{family.name}-{dag}{suffix}-{number}.out").open("wb")
    with out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.airflow.fault_matrix", json.dumps(spec)],
            cwd=REPOSITORY,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def output_of(family: Family, dag: str, number: int, suffix: str = "") -> str:
    return (Path(os.environ["AIRFLOW_HOME"]) / f"{family.name}-{dag}{suffix}-{number}.out").read_text()


def run_killed(matrix: Matrix, family: Family, step: Step, number: int, conf: dict[str, Any]) -> None:
    """Run the DAG in a task process the armed fault kills; then mark what it left running as failed."""
    process = spawn(family, step.dag, number, conf)
    matrix.victim = process.pid
    returncode = process.wait(timeout=600)
    assert returncode == -signal.SIGKILL, f"the task process was not killed (exit {returncode})"
    dag_id = (rollback if step.dag == "rollback" else retrain)(family).dag_id
    fail_dead_tasks(dag_id, day(number))


def fail_dead_tasks(dag_id: str, logical_date: dt.datetime) -> None:
    """What the scheduler does once a killed task's heartbeat stops: the task instance is failed."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    alive = (TaskInstanceState.RUNNING, TaskInstanceState.DEFERRED, TaskInstanceState.QUEUED)
    with create_session() as session:
        for ti in session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.state.in_(alive))
        ):
            if ti.dag_run.logical_date == logical_date:
                ti.state = TaskInstanceState.FAILED


def run_cell(matrix: Matrix, family: Family, step: Step, kind: str) -> None:
    """Set up, break the step with the fault `kind`, retry, run the next clean-up, check the family."""
    champions = set_up(family, step)
    target = champions[-2] if step.dag == "rollback" else None
    dag, number, conf = faulted_run(family, step, target)
    trigger = tuple(pattern.replace("{champion}", champions[-1]) for pattern in step.trigger)
    matrix.desk.arm(trigger, FAULT_KINDS[kind](matrix, step))
    cleared = False
    try:
        if kind == KILLED:
            run_killed(matrix, family, step, number, conf)
            dag_run = run(dag, number, conf)  # the killed task's next try
        else:
            dag_run = run(dag, number, conf)
            cleared = dag_run.state != "success"
            if cleared:  # Clear in the UI after a failed run
                dag_run = run(dag, number, conf)
        fired = matrix.desk.fired
    finally:
        matrix.desk.disarm()
        restart = getattr(matrix.service, "restart", None)
        if restart is not None:
            restart.join()
            del matrix.service.restart
        matrix.service.service.set_faults({})
    assert fired, f"the fault never found its request in the run of {step.name}"
    assert dag_run.state == "success", states(dag_run)
    if kind == FAILED:  # the step's task did fail: its retry ran, or the failed run was cleared
        tries = [ti.try_number for ti in dag_run.get_task_instances() if ti.task_id == step.task_id]
        assert max(tries) >= 2 or cleared, f"{step.task_id} did not fail and retry: tries {tries}"
    expected = target or challenger_of(family, dag_run.run_id)
    cleaned = next_cleanup(family).test(logical_date=day(ROLLBACK_DAY + 1))
    assert cleaned.state == "success", states(cleaned)
    assert_sound(family, matrix.ml, expected)


def challenger_of(family: Family, run_id: str) -> str:
    """The model the run trained (a member of the family since its decision)."""
    members = family.record()["members"]
    return next(model for model, facts in members.items() if facts["run_id"] == run_id)


def assert_sound(family: Family, ml: Any, champion: str) -> None:
    """
    The family's invariants, from the record, the tags, the endpoints, the decision log and the evidence.

    Exactly one champion (`champion`) in the record and in the tags, nothing pending; its endpoint READY
    and no other endpoint left once the grace period (0 here) is over; every entity the champion's and
    the previous champion's decisions cite still COMPLETED; the log's promotions and rollbacks are the
    record's history, each promotion backed by that run's decision to promote that model.
    """
    record = family.record()
    assert (record["champion"], record["pending"], record["draining"]) == (champion, None, [])
    models = {m["MLModelId"]: m for m in _family_models(family, ml)}
    serving = sorted(m for m, model in models.items() if _endpoint(model) != "NONE")
    assert serving == [champion], f"endpoints up: {serving}, champion {champion}"
    assert _endpoint(models[champion]) == "READY"
    roles = {m: _tags(ml, m) for m in models if models[m]["Status"] != "DELETED"}
    assert [m for m, tags in roles.items() if tags.get("aml:role") == "champion"] == [champion], roles
    if record["previous"]:
        assert roles[record["previous"]].get("aml:role") == "previous-champion", roles
    assert all(roles[m].get("aml:family") == family.name for m in record["members"]), roles
    for model in filter(None, (record["champion"], record["previous"])):
        for kind, ids in record["members"].get(model, {}).get("evidence", {}).items():
            for entity_id in ids:
                status = _status(ml, kind, entity_id)
                assert status == "COMPLETED", f"evidence {kind} {entity_id} of {model} is {status}"
    events = _events(family)
    switches = [e for e in events if e["event"] in ("promotion", "rollback")]
    assert [e["ml_model_id"] for e in switches] == [h["ml_model_id"] for h in record["history"]], (
        switches,
        record["history"],
    )
    decisions = {e["run_id"]: e for e in events if e["event"] == "decision"}
    for event in switches:
        if event["event"] == "promotion":
            decision = decisions[event["run_id"]]
            assert (decision["action"], decision["ml_model_id"]) == ("promote", event["ml_model_id"]), event
    for model, facts in record["members"].items():
        decision = decisions[facts["run_id"]]
        assert decision["ml_model_id"] == model
        assert (roles[model].get("aml:run"), roles[model].get("aml:decision")) == (
            facts["run_id"],
            decision["action"],
        ), roles[model]
        if model in (record["champion"], record["previous"]):
            bucket, _, key = decision["report_uri"][5:].partition("/")
            family.s3.head_object(Bucket=bucket, Key=key)  # the report the decision points to is there


def _family_models(family: Family, ml: Any) -> list[dict[str, Any]]:
    pages = ml.get_paginator("describe_ml_models").paginate(FilterVariable="Name", Prefix=f"{family.name}/")
    return [model for page in pages for model in page["Results"]]


def _endpoint(model: dict[str, Any]) -> str:
    return str(model.get("EndpointInfo", {}).get("EndpointStatus", "NONE"))


def _tags(ml: Any, model: str) -> dict[str, str]:
    tags = ml.describe_tags(ResourceId=model, ResourceType="MLModel")["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def _status(ml: Any, kind: str, entity_id: str) -> str:
    get = {
        "data_sources": ("get_data_source", "DataSourceId"),
        "evaluations": ("get_evaluation", "EvaluationId"),
        "batch_predictions": ("get_batch_prediction", "BatchPredictionId"),
        "ml_models": ("get_ml_model", "MLModelId"),
    }[kind]
    try:
        return str(getattr(ml, get[0])(**{get[1]: entity_id})["Status"])
    except ml.exceptions.ResourceNotFoundException:
        return "MISSING"


def _events(family: Family) -> list[dict[str, Any]]:
    prefix = f"{family.name}/families/{family.name}/log/"
    listed = family.s3.list_objects_v2(Bucket=family.bucket, Prefix=prefix).get("Contents", [])
    return [family.json(item["Key"]) for item in sorted(listed, key=lambda item: item["Key"])]


def main(spec: dict[str, Any]) -> None:
    """The task process of a "killed" cell: run the described DAG in this process."""
    family = Family(None, None, spec["bucket"], name=spec["family"])
    dag = (
        rollback(family)
        if spec["dag"] == "rollback"
        else retrain(family, spec.get("suffix", ""), **spec.get("params", {}))
    )
    run(dag, spec["day"], spec["conf"])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
