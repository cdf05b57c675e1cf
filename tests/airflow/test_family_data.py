"""Fresh data by data interval, and the append-only decision log, on a real local S3."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aml_provider.family.log import DecisionLog, format_history, history_rows
from aml_provider.family.partitions import MissingPartition, plan_run
from tests.airflow.data import labelled_rows
from tests.helpers import put_text, unique_id

DAY = dt.timedelta(days=1)


def day(number: int) -> dt.datetime:
    return dt.datetime(2026, 3, number, tzinfo=dt.UTC)


@pytest.fixture
def landing(s3: Any, bucket: str) -> str:
    """Five daily partitions, two files each, under a fresh prefix (day 6 has not landed)."""
    prefix = unique_id("landing")
    for number in range(1, 6):
        for part in ("a", "b"):
            put_text(s3, bucket, f"{prefix}/ds=2026-03-0{number}/{part}.csv", labelled_rows(20, seed=number))
    put_text(s3, bucket, f"{prefix}/_SUCCESS", "")  # not a partition: ignored
    return f"s3://{bucket}/{prefix}/"


def keys(s3: Any, uri: str) -> list[str]:
    bucket, _, prefix = uri[5:].partition("/")
    return sorted(
        item["Key"][len(prefix) :]
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    )


def plan_for(s3: Any, landing: str, number: int, window: int, **kwargs: Any) -> Any:
    return plan_run(
        s3,
        data_uri=landing,
        template="ds=%Y-%m-%d/",
        interval=(day(number), day(number) + DAY),
        training_window=window,
        run_uri=f"{landing}runs/{number}/",
        **kwargs,
    )


def test_a_run_evaluates_on_its_interval_and_trains_on_the_window_before_it(s3: Any, landing: str) -> None:
    plan = plan_for(s3, landing, 4, window=2)
    assert plan.evaluation_partitions == [f"{landing}ds=2026-03-04/"]
    assert plan.training_partitions == [f"{landing}ds=2026-03-02/", f"{landing}ds=2026-03-03/"]
    assert (plan.evaluation_files, plan.training_files, plan.skip_reason) == (2, 4, None)
    assert keys(s3, plan.evaluation_uri) == ["ds=2026-03-04/a.csv", "ds=2026-03-04/b.csv"]
    assert keys(s3, plan.training_uri) == [
        "ds=2026-03-02/a.csv",
        "ds=2026-03-02/b.csv",
        "ds=2026-03-03/a.csv",
        "ds=2026-03-03/b.csv",
    ]
    assert set(plan.evaluation_partitions).isdisjoint(plan.training_partitions)


def test_a_window_of_zero_takes_every_earlier_partition(s3: Any, landing: str) -> None:
    assert len(plan_for(s3, landing, 5, window=0).training_partitions) == 4


def test_five_logical_dates_evaluate_five_distinct_partitions(s3: Any, landing: str) -> None:
    plans = [plan_for(s3, landing, number, window=7) for number in range(2, 6)]
    evaluated = [partition for plan in plans for partition in plan.evaluation_partitions]
    assert len(set(evaluated)) == 4
    for plan in plans:  # never evaluated on what it trains on
        assert set(plan.evaluation_partitions).isdisjoint(plan.training_partitions)


def test_a_missing_partition_fails_naming_where_the_data_was_expected(s3: Any, landing: str) -> None:
    with pytest.raises(MissingPartition, match=r"expected CSV files under .*ds=2026-03-06/"):
        plan_for(s3, landing, 6, window=7)


def test_no_new_data_since_the_champion_skips_without_copying(s3: Any, landing: str) -> None:
    trained = [f"{landing}ds=2026-03-0{number}/" for number in range(1, 4)]
    plan = plan_for(s3, landing, 4, window=2, champion_training=trained)
    assert plan.skip_reason is not None
    assert "no new data since ds=2026-03-03" in plan.skip_reason
    assert keys(s3, plan.training_uri) == []
    assert plan_for(s3, landing, 1, window=7).skip_reason == "no earlier partition to train on"


def test_the_decision_log_is_written_once_per_run_and_event(s3: Any, bucket: str) -> None:
    log = DecisionLog(s3, f"s3://{bucket}/families/", unique_id("log"))
    first = log.append("decision", "run-1", action="promote", reason="first model", logical_date="2026-03-01")
    assert log.append("decision", "run-1", action="keep", reason="a retry") == first
    log.append("promotion", "run-1", ml_model_id="ml-1")
    log.append(
        "decision",
        "run-2",
        action="keep",
        reason="within noise",
        logical_date="2026-03-02",
        challenger={"value": 0.81, "low": 0.79, "high": 0.83},
        champion={"value": 0.8},
        training_rows=1200,
    )
    rows = history_rows(list(log.events()))
    assert [(row["decision"], row["serving"]) for row in rows] == [("promote", "ml-1"), ("keep", "ml-1")]
    assert rows[0]["reason"] == "first model"  # the retry did not rewrite it
    table = format_history(rows)
    assert "0.8100 [0.7900, 0.8300]" in table
    assert "keep: within noise" in table
    assert "1,200" in table
