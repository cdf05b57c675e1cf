"""A REGRESSION family through Airflow (RMSE: lower is better), and scoring that waits for a champion."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aml_provider.pipelines import batch_score_dag, retrain_dag
from tests.airflow.runner import register
from tests.family.service import generate, schema_of
from tests.helpers import put_text, unique_id

SMOKE = {"x0": "0.1", "x1": "-0.2", "x2": "0.3", "color": "red"}
ROWS = 1500


def day(number: int) -> dt.datetime:
    return dt.datetime(2026, 5, number, tzinfo=dt.UTC)


def without_target(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "targetAttributeName"}


def states(dag_run: Any) -> dict[str, Any]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def decision(s3: Any, bucket: str, family: str, number: int) -> dict[str, Any]:
    key = f"{family}/families/{family}/{day(number):%Y-%m-%d}/decision.json"
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_a_regression_challenger_with_the_lower_rmse_is_promoted(
    s3: Any, ml: Any, bucket: str, aws_connection: str
) -> None:
    """Days 1-2: x2 carries no signal; days 3-4 it does. The champion (trained on day 1) misses it, the
    challenger (trained on day 3) learns it, so on day 4 its RMSE is lower and it must be promoted."""
    family = unique_id("prices")
    root = f"s3://{bucket}/{family}"
    for number in (1, 2, 3, 4):
        frame = generate("REGRESSION", ROWS, seed=number, informative=0.0 if number <= 2 else 1.0)
        put_text(
            s3, bucket, f"{family}/landing/ds={day(number):%Y-%m-%d}/part-0.csv", frame.to_csv(index=False)
        )
    put_text(s3, bucket, f"{family}/schema.json", json.dumps(schema_of(frame, "REGRESSION")))
    dag = register(
        retrain_dag(
            family,
            dag_id=f"retrain_{family}".replace("-", "_"),
            data_uri=f"{root}/landing/",
            schema_uri=f"{root}/schema.json",
            reports_uri=f"{root}/families/",
            work_uri=f"{root}/runs/",
            model_type="REGRESSION",
            waiter_delay=0.3,
            retries=0,
            training_window=1,
            smoke_record=SMOKE,
            endpoint_grace=0,
        )
    )
    first = dag.test(logical_date=day(2))
    assert first.state == "success", states(first)
    assert decision(s3, bucket, family, 2)["decision"]["action"] == "promote"

    second = dag.test(logical_date=day(4))
    assert second.state == "success", states(second)
    report = decision(s3, bucket, family, 4)
    metrics = {model["role"]: model["metric"] for model in report["evidence"]["models"]}
    assert report["evidence"]["metric_name"] == "RegressionRMSE"
    assert metrics["challenger"] < 0.9 * metrics["champion"], metrics
    assert report["decision"]["action"] == "promote", report["decision"]["reason"]
    assert report["evidence"]["improvement"]["low"] > 0  # an improvement is a fall in RMSE
    assert states(second)["promote"] == "success"


def test_batch_scoring_skips_while_the_family_has_no_champion(
    s3: Any, ml: Any, bucket: str, aws_connection: str
) -> None:
    family = unique_id("unscored")
    root = f"s3://{bucket}/{family}"
    frame = generate("BINARY", 50, seed=1).drop(columns=["y"])
    put_text(s3, bucket, f"{family}/score/records.csv", frame.to_csv(index=False))
    put_text(
        s3, bucket, f"{family}/score-schema.json", json.dumps(without_target(schema_of(frame, "BINARY")))
    )
    score = register(
        batch_score_dag(
            family,
            dag_id=f"score_{family}".replace("-", "_"),
            records_uri=f"{root}/score/",
            schema_uri=f"{root}/score-schema.json",
            output_uri=f"{root}/scores/",
            reports_uri=f"{root}/families/",
            waiter_delay=0.3,
        )
    )
    run = score.test(logical_date=day(8))
    assert run.state == "success", states(run)
    assert states(run) == {"find_champion": "skipped", "records": "skipped", "score": "skipped"}
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"{family}/scores/")
    assert ml.describe_data_sources(FilterVariable="DataLocationS3", Prefix=f"{root}/score/")["Results"] == []
