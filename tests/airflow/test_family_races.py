"""Runs of one family that overlap, each in its own process: one champion, and the loser never promotes blindly."""

from __future__ import annotations

import time
from typing import Any

from tests.airflow.fault_matrix import (
    CREATE_ENDPOINT,
    ROLLBACK_DAY,
    SMOKE,
    Matrix,
    Step,
    assert_sound,
    challenger_of,
    next_cleanup,
    output_of,
    retrain,
    rollback,
    run,
    set_up,
    spawn,
)
from tests.airflow.fault_proxy import Fault
from tests.airflow.test_family_dags import Family, day, states

ONE_RUN = Step("one run", "retrain", "promote", ())


def task_states(dag: Any, number: int) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run_id(number)
            )
        )
        return {ti.task_id: ti.state for ti in found}


def run_id(number: int) -> str:
    return f"manual__{day(number).isoformat()}"


def test_a_rollback_during_a_promotion_finds_the_family_busy_and_its_retry_rolls_back(
    matrix: Matrix, s3: Any, bucket: str
) -> None:
    family = Family(s3, matrix.ml, bucket)
    (first,) = set_up(family, ONE_RUN)
    conf = {"ml_model_id": first, "smoke_record": SMOKE, "endpoint_grace": 0}
    outcome: dict[str, Any] = {}

    def roll_back_meanwhile() -> None:
        """While the retrain's promotion holds the family (pending, endpoint asked for), a rollback runs."""
        process = spawn(family, "rollback", ROLLBACK_DAY, conf)
        outcome["exit"] = process.wait(timeout=300)

    matrix.desk.arm((CREATE_ENDPOINT,), Fault(before=roll_back_meanwhile))
    try:
        promoted = run(retrain(family), 3)
    finally:
        matrix.desk.disarm()
    assert promoted.state == "success", states(promoted)
    challenger = challenger_of(family, promoted.run_id)
    assert family.record()["champion"] == challenger
    assert outcome["exit"] == 0
    assert task_states(rollback(family), ROLLBACK_DAY)["rollback"] == "failed"
    assert "is busy: promote of " + challenger in output_of(family, "rollback", ROLLBACK_DAY)

    retried = run(rollback(family), ROLLBACK_DAY, conf)  # Clear: the rollback's retry
    assert retried.state == "success", states(retried)
    assert (family.record()["champion"], family.record()["previous"]) == (first, challenger)
    assert next_cleanup(family).test(logical_date=day(ROLLBACK_DAY + 1)).state == "success"
    assert_sound(family, matrix.ml, first)


def test_two_concurrent_retrain_runs_of_one_family_give_one_champion(
    matrix: Matrix, s3: Any, bucket: str
) -> None:
    """A scheduled run and a manual one (another DAG of the same family) decide and promote at once."""
    family = Family(s3, matrix.ml, bucket)
    for number in (1, 2, 3):
        family.land(number, seed=number)
    days = {"": 2, "_manual": 3}
    keep = {"keep_runs": 1}  # the winner's clean-up may delete the superseded challenger before it promotes
    dags = {suffix: retrain(family, suffix, **keep) for suffix in days}

    def hold_until_both_decided() -> None:
        """The first promotion waits, pending, until the other run has decided against the same champion."""
        deadline = time.monotonic() + 120
        while len(family.record()["members"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    matrix.desk.arm((CREATE_ENDPOINT,), Fault(before=hold_until_both_decided))
    try:
        processes = [spawn(family, "retrain", days[suffix], {}, suffix, **keep) for suffix in days]
        exits = [process.wait(timeout=600) for process in processes]
    finally:
        matrix.desk.disarm()
    assert exits == [0, 0]
    runs = {suffix: task_states(dags[suffix], days[suffix]) for suffix in days}
    (winner,) = [suffix for suffix, found in runs.items() if found["promote"] == "success"]
    (loser,) = [suffix for suffix in days if suffix != winner]
    if runs[loser]["promote"] == "failed":  # it found the family busy; Clear is its retry
        output = output_of(family, "retrain", days[loser], loser)
        assert "is busy: promote of " + challenger_of(family, run_id(days[winner])) in output
        retried = run(dags[loser], days[loser])
        assert retried.state == "success", states(retried)
        runs[loser] = task_states(dags[loser], days[loser])
    assert runs[loser]["promote"] == "skipped", runs  # the champion changed: it never promotes blindly
    record = family.record()
    assert record["champion"] == challenger_of(family, run_id(days[winner]))
    events = [e for e in _log(family) if e["event"] == "superseded"]
    assert [e["run_id"] for e in events] == [run_id(days[loser])]
    assert next_cleanup(family).test(logical_date=day(ROLLBACK_DAY + 1)).state == "success"
    assert_sound(family, matrix.ml, record["champion"])


def _log(family: Family) -> list[dict[str, Any]]:
    prefix = f"{family.name}/families/{family.name}/log/"
    listed = family.s3.list_objects_v2(Bucket=family.bucket, Prefix=prefix).get("Contents", [])
    return [family.json(item["Key"]) for item in sorted(listed, key=lambda item: item["Key"])]
