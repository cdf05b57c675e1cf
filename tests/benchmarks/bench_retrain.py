"""Benchmark: one full retrain cycle with a champion, on 41,000 bank-marketing-sized rows.

Lands three daily partitions of generated customers (about 13,700 rows each), runs ``aml_retrain`` once
to make a champion, then times the second run with ``dag.test()``: plan and S3 copies, data checks, two
data sources, training, both batch predictions and evaluations, the paired comparison, the report,
the promotion or not, clean-up. The reference printed beside it is the service's own job time for the
entities of that run (from each entity's CreatedAt to its FinishedAt, overlapping jobs counted once):
what remains is the price of orchestration, checks and the comparison.

    .venv/bin/python -m tests.benchmarks.bench_retrain [rows]

It exits 1 when the target is missed or a run fails (in smoke mode, AML_BENCH_SMOKE=1, 1,500 rows, only
a failed run fails).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from typing import Any

from tests.benchmarks.harness import SMOKE, settings, size, verdict

ROWS = 41_000
TARGET_SECONDS = 20.0


def main(rows: int = ROWS) -> int:
    home = tempfile.mkdtemp(prefix="aml-bench-retrain-")
    os.environ.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    from airflow.utils.db import resetdb

    from aml_provider.demo import customers, schema
    from aml_provider.local import LocalAml
    from aml_provider.pipelines import retrain_dag
    from tests.airflow.runner import register

    resetdb()
    settings(waiter_delay="0.2 s", retries=0, training_window=1, endpoint_grace=0)
    per_day = rows // 3
    with LocalAml() as aml:
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(aml.airflow_connection)
        s3, ml = aml.client("s3"), aml.client()
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="schema.json", Body=schema(with_target=True).encode())
        for day in (1, 2, 3):
            body = customers(per_day, seed=day).encode()
            s3.put_object(Bucket="bench", Key=f"landing/ds=2026-06-0{day}/part-0.csv", Body=body)
        dag = register(
            retrain_dag(
                "bench",
                dag_id="bench_retrain",
                data_uri="s3://bench/landing/",
                schema_uri="s3://bench/schema.json",
                reports_uri="s3://bench/families/",
                work_uri="s3://bench/runs/",
                waiter_delay=0.2,
                retries=0,
                training_window=1,
                endpoint_grace=0,
            )
        )
        first = dag.test(logical_date=moment(2))
        started = time.perf_counter()
        second = dag.test(logical_date=moment(3))
        elapsed = time.perf_counter() - started
        jobs = job_seconds(ml, f"bench/{second.run_id}/")
    states = (str(first.state), str(second.state))
    print(f"rows: {rows:,} ({per_day:,} per partition: training window 1 partition, evaluation 1)")
    print(f"{'measure':44} {'seconds':>9} {'target':>9}")
    print(f"{'retrain cycle with a champion (dag.test)':44} {elapsed:9.2f} {TARGET_SECONDS:9.1f}")
    print(f"{'  reference: the service jobs of that run':44} {jobs:9.2f}")
    print(f"{'  ratio cycle / jobs':44} {elapsed / jobs if jobs else float('nan'):9.2f}")
    print(f"runs: {states}")
    if SMOKE and states != ("success", "success"):
        raise SystemExit(f"a retrain run did not succeed: {states}")
    return verdict(elapsed <= TARGET_SECONDS and states == ("success", "success"))


def moment(day: int) -> dt.datetime:
    return dt.datetime(2026, 6, day, tzinfo=dt.UTC)


def job_seconds(ml: Any, prefix: str) -> float:
    """Wall time during which at least one of the run's jobs was running (CreatedAt to FinishedAt)."""
    spans = []
    for kind in ("data_sources", "ml_models", "evaluations", "batch_predictions"):
        for entity in getattr(ml, f"describe_{kind}")(FilterVariable="Name", Prefix=prefix)["Results"]:
            if "FinishedAt" in entity:
                spans.append((entity["CreatedAt"].timestamp(), entity["FinishedAt"].timestamp()))
    covered, end = 0.0, float("-inf")
    for start, finish in sorted(spans):
        covered += max(0.0, finish - max(start, end))
        end = max(end, finish)
    return covered


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else size(ROWS, 1_500)))
