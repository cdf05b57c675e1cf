"""The scheduled DAGs end to end: retrain and promote, keep the champion, score, clean up, roll back."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest

from aml_provider.demo import customers, schema, without_target
from tests.helpers import put_text, unique_id

os.environ["AML_DAGS_WAITER_DELAY"] = "0.3"
SMOKE = {"age": "40", "tenure_months": "3", "monthly_charges": "95", "support_calls": "4", "plan": "basic"}


@pytest.fixture(scope="module")
def dags(aws_connection: str) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags


def run(dag: Any, day: int, **conf: Any) -> Any:
    return dag.test(logical_date=dt.datetime(2026, 1, day, tzinfo=dt.UTC), run_conf=conf)


def states(dag_run: Any) -> dict[str, Any]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def roles(ml: Any, family: str) -> dict[str, str | None]:
    """Role tag of every model of the family that is not deleted, in creation order."""
    models = ml.describe_ml_models(FilterVariable="Name", Prefix=f"{family}/", SortOrder="asc")["Results"]
    found = {}
    for model in models:
        if model["Status"] != "DELETED":
            tags = ml.describe_tags(ResourceId=model["MLModelId"], ResourceType="MLModel")["Tags"]
            found[model["MLModelId"]] = {t["Key"]: t.get("Value") for t in tags}.get("aml:role")
    return found


def endpoint(ml: Any, model_id: str) -> str:
    return ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"]


def test_retrain_promote_score_cleanup_and_rollback(
    dags: dict[str, Any], ml: Any, s3: Any, bucket: str
) -> None:
    family = unique_id("churn")
    prefix = f"{family}-data"
    put_text(s3, bucket, f"{prefix}/schema.json", schema(with_target=True))
    put_text(s3, bucket, f"{prefix}/score-schema.json", schema(with_target=False))
    put_text(s3, bucket, f"{prefix}/score/records.csv", without_target(customers(200, 9)))
    retrain = {
        "family": family,
        "data_uri": f"s3://{bucket}/{prefix}/fresh/",
        "schema_uri": f"s3://{bucket}/{prefix}/schema.json",
        "smoke_record": SMOKE,
        "keep_runs": 1,
    }

    put_text(s3, bucket, f"{prefix}/fresh/day1.csv", customers(1500, 1))
    first = run(dags["aml_retrain"], 1, **retrain)
    assert first.state == "success", states(first)
    assert states(first)["evaluate_champion"] == "skipped"  # no champion yet: promoted without a contest
    assert states(first)["promote"] == "success"
    (model1,) = roles(ml, family)
    assert roles(ml, family) == {model1: "champion"}
    assert endpoint(ml, model1) == "READY"

    # A challenger that must win by more than a whole AUC point never does: the champion stays.
    put_text(s3, bucket, f"{prefix}/fresh/day2.csv", customers(1500, 2))
    second = run(dags["aml_retrain"], 2, **retrain, min_improvement=1.0)
    assert second.state == "success", states(second)
    assert states(second)["evaluate_champion"] == "success"
    assert (states(second)["promote"], states(second)["keep_champion"]) == ("skipped", "success")
    # keep_runs=1: the first run's data sources and evaluations are gone, its champion model stays.
    assert roles(ml, family)[model1] == "champion"
    assert list(roles(ml, family).values()) == ["champion", None]  # the day-2 challenger has no role
    sources = ml.describe_data_sources(FilterVariable="Name", Prefix=f"{family}/{first.run_id}/")["Results"]
    assert {source["Status"] for source in sources} == {"DELETED"}

    # Any improvement is enough now: the challenger of day 3 becomes champion, the old one is kept as previous.
    third = run(dags["aml_retrain"], 3, **retrain, min_improvement=-1.0)
    assert third.state == "success", states(third)
    model3 = next(m for m, role in roles(ml, family).items() if role == "champion")
    assert model3 != model1
    assert roles(ml, family)[model1] == "previous-champion"
    assert (endpoint(ml, model3), endpoint(ml, model1)) == ("READY", "NONE")

    output = f"s3://{bucket}/{prefix}/scores/"
    scored = run(
        dags["aml_batch_score"],
        3,
        family=family,
        records_uri=f"s3://{bucket}/{prefix}/score/",
        schema_uri=f"s3://{bucket}/{prefix}/score-schema.json",
        output_uri=output,
    )
    assert scored.state == "success", states(scored)
    manifests = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/scores/")["Contents"]
    manifest = next(item["Key"] for item in manifests if item["Key"].endswith(".manifest"))
    assert list(json.loads(s3.get_object(Bucket=bucket, Key=manifest)["Body"].read())) == [
        f"s3://{bucket}/{prefix}/score/records.csv"
    ]
    batch = ml.describe_batch_predictions(FilterVariable="Name", Prefix=f"{family}/")["Results"]
    assert [b["MLModelId"] for b in batch] == [model3]

    rolled = run(dags["aml_rollback"], 4, family=family, smoke_record=SMOKE)
    assert rolled.state == "success", states(rolled)
    assert roles(ml, family)[model1] == "champion"
    assert roles(ml, family)[model3] == "retired"
    assert (endpoint(ml, model1), endpoint(ml, model3)) == ("READY", "NONE")


def test_rollback_without_a_previous_champion_fails_with_a_clear_message(aws_connection: str) -> None:
    from aml_provider.champion import ModelFamily
    from aml_provider.hooks.aml import AmlError, AmlHook

    with pytest.raises(AmlError, match="has no previous champion to roll back to"):
        ModelFamily(AmlHook(aws_conn_id=aws_connection), unique_id("empty")).rollback(None)
