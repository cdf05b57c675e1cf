"""The retrain, scoring and rollback DAGs end to end, with logical dates, on the local service."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import threading
import time
from typing import Any

import pandas as pd
import pytest

from aml_provider.demo import customers, schema, without_column, without_target
from aml_provider.pipelines import batch_score_dag, retrain_dag, rollback_dag
from tests.airflow.runner import register
from tests.helpers import put_text, unique_id

os.environ["AML_DAGS_WAITER_DELAY"] = "0.3"
SMOKE = {"age": "40", "tenure_months": "3", "monthly_charges": "95", "support_calls": "4", "plan": "basic"}
ROWS = 1500


def day(number: int) -> dt.datetime:
    return dt.datetime(2026, 5, number, tzinfo=dt.UTC)


class Family:
    """One family's landing prefix, DAGs and what its runs left in S3 and Amazon ML."""

    def __init__(self, s3: Any, ml: Any, bucket: str, name: str | None = None) -> None:
        """A new family (its schemas and records to score uploaded), or the family `name` already set up."""
        self.s3, self.ml, self.bucket = s3, ml, bucket
        self.name = name or unique_id("churn")
        self.root = f"s3://{bucket}/{self.name}"
        if name is None:
            put_text(s3, bucket, f"{self.name}/schema.json", schema(with_target=True))
            put_text(s3, bucket, f"{self.name}/score-schema.json", schema(with_target=False))
            put_text(s3, bucket, f"{self.name}/score/records.csv", without_target(customers(200, 9)))
        self.uris: dict[str, Any] = {
            "data_uri": f"{self.root}/landing/",
            "schema_uri": f"{self.root}/schema.json",
            "reports_uri": f"{self.root}/families/",
            "work_uri": f"{self.root}/runs/",
        }

    def land(self, number: int, seed: int, regime: int = 0, shuffle: bool = False) -> None:
        text = customers(ROWS, seed, regime=regime)
        if shuffle:
            frame = pd.read_csv(io.StringIO(text))
            frame["churned"] = frame["churned"].sample(frac=1, random_state=seed).to_numpy()
            text = frame.to_csv(index=False)
        put_text(self.s3, self.bucket, f"{self.name}/landing/ds={day(number):%Y-%m-%d}/part-0.csv", text)

    def retrain(
        self,
        suffix: str = "",
        require_approval: bool = False,
        retries: int = 0,
        retry_delay: dt.timedelta = dt.timedelta(seconds=1),
        **param_defaults: Any,
    ) -> Any:
        return register(
            retrain_dag(
                self.name,
                dag_id=f"retrain_{self.name}{suffix}".replace("-", "_"),
                require_approval=require_approval,
                waiter_delay=0.3,
                retries=retries,
                retry_delay=retry_delay,
                smoke_record=SMOKE,
                endpoint_grace=0,
                **self.uris,
                **param_defaults,
            )
        )

    def run(self, dag: Any, number: int, **conf: Any) -> Any:
        return dag.test(logical_date=day(number), run_conf=conf)

    def record(self) -> dict[str, Any]:
        return self.json(f"{self.name}/families/{self.name}/family.json")

    def json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def customer_ids(self, uris: list[str]) -> set[str]:
        """Every customer ID in the CSV files under the given prefixes (read from S3, as the test's own check)."""
        found: set[str] = set()
        for uri in uris:
            prefix = uri[len(f"s3://{self.bucket}/") :]
            for item in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", []):
                body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                found |= set(pd.read_csv(io.BytesIO(body))["customer_id"])
        return found


def states(dag_run: Any) -> dict[str, Any]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def xcom(dag_run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key="return_value"
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def assert_out_of_time(family: Family, dag_run: Any) -> None:
    """No evaluation row was training data of the challenger or of the champion (checked from the data)."""
    plan = xcom(dag_run, "plan_data")
    members = family.record()["members"]
    trained = [plan["training_uri"]] + list(members.get(plan["champion"] or "", {}).get("training", []))
    assert family.customer_ids([plan["evaluation_uri"]]).isdisjoint(family.customer_ids(trained))


@pytest.fixture
def family(s3: Any, ml: Any, bucket: str, aws_connection: str) -> Family:
    return Family(s3, ml, bucket)


def test_five_days_promote_a_real_improvement_keep_noise_and_score_with_the_champion(family: Family) -> None:
    """Days 1-5 come from one world, 6-7 from another; each run trains on the day before it."""
    for number in range(1, 6):
        family.land(number, seed=number)
    for number in range(6, 8):
        family.land(number, seed=number, regime=1)  # the customers change on day 6
    dag = family.retrain(training_window=1)
    decisions, evaluated = {}, []
    for number in range(3, 8):  # five logical dates, as a backfill runs them
        dag_run = family.run(dag, number)
        assert dag_run.state == "success", states(dag_run)
        assert_out_of_time(family, dag_run)
        decisions[number] = xcom(dag_run, "decide")
        evaluated += xcom(dag_run, "plan_data")["evaluation_partitions"]
    # Day 6 is the first of the new world: no model has seen it, either decision is honest.
    assert [decisions[n]["action"] for n in (3, 5, 7)] == ["promote", "keep", "promote"], decisions
    assert len(set(evaluated)) == 5  # five logical dates, five distinct evaluation partitions

    record = family.record()
    assert record["champion"] == decisions[7]["ml_model_id"]
    assert family.ml.get_ml_model(MLModelId=record["champion"])["EndpointInfo"]["EndpointStatus"] == "READY"
    tags = {
        t["Key"]: t["Value"]
        for t in family.ml.describe_tags(ResourceId=record["champion"], ResourceType="MLModel")["Tags"]
    }
    assert tags["aml:role"] == "champion"
    assert tags["aml:family"] == family.name
    assert tags["aml:training-window"] == "ds=2026-05-06..ds=2026-05-06"
    assert tags["aml:decision"] == "promote"
    assert len(tags["aml:evaluation-ids"].split()) == 2

    report = family.json(f"{family.name}/families/{family.name}/2026-05-07/decision.json")
    contestants = {model["role"]: model for model in report["evidence"]["models"]}
    assert set(contestants) == {"challenger", "champion"}
    for model in contestants.values():
        low, high = model["interval"]
        assert low <= model["metric"] <= high
    html = family.s3.get_object(
        Bucket=family.bucket, Key=f"{family.name}/families/{family.name}/2026-05-07/decision.html"
    )
    assert b"<svg" in html["Body"].read()

    score = register(
        batch_score_dag(
            family.name,
            dag_id=f"score_{family.name}".replace("-", "_"),
            records_uri=f"{family.root}/score/",
            schema_uri=f"{family.root}/score-schema.json",
            output_uri=f"{family.root}/scores/",
            reports_uri=family.uris["reports_uri"],
            waiter_delay=0.3,
        )
    )
    assert f"aml-champion-{family.name}" in str(score.timetable.asset_condition)  # runs after each promotion
    scored = score.test(logical_date=day(8))
    assert scored.state == "success", states(scored)
    results = family.s3.list_objects_v2(Bucket=family.bucket, Prefix=f"{family.name}/scores/2026-05-08/")[
        "Contents"
    ]
    result = next(item["Key"] for item in results if item["Key"].endswith(".gz"))
    assert (
        len(
            gzip.decompress(
                family.s3.get_object(Bucket=family.bucket, Key=result)["Body"].read()
            ).splitlines()
        )
        == 201
    )
    batch = family.ml.describe_batch_predictions(
        FilterVariable="Name", Prefix=f"{family.name}/{scored.run_id}/"
    )["Results"]
    assert [item["MLModelId"] for item in batch] == [record["champion"]]


def test_a_champion_asset_event_names_the_promoted_model(family: Family) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    family.land(1, seed=1)
    family.land(2, seed=2)
    dag_run = family.run(family.retrain(), 2)
    assert states(dag_run)["promote"] == "success", states(dag_run)
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == f"aml-champion-{family.name}")
        ).all()
        assert [event.extra["ml_model_id"] for event in events] == [family.record()["champion"]]


def test_shuffled_labels_never_serve_and_no_new_data_skips_without_a_model(family: Family) -> None:
    for number in (1, 2, 3):
        family.land(number, seed=number, shuffle=True)
    dag = family.retrain()
    rejected = family.run(dag, 3)
    assert rejected.state == "success", states(rejected)
    assert xcom(rejected, "decide")["action"] == "reject"
    assert states(rejected)["promote"] == "skipped"
    assert family.record()["champion"] is None

    family.land(4, seed=4)
    family.land(5, seed=5)
    promoted = family.run(family.retrain(suffix="_b", training_window=1), 5)
    assert xcom(promoted, "decide")["action"] == "promote", xcom(promoted, "decide")
    models_before = len(
        family.ml.describe_ml_models(FilterVariable="Name", Prefix=f"{family.name}/")["Results"]
    )
    again = family.run(family.retrain(suffix="_c", training_window=1), 5)  # a re-run: the champion saw day 4
    assert (states(again)["plan_data"], states(again)["train_challenger"]) == ("skipped", "skipped")
    assert (
        len(family.ml.describe_ml_models(FilterVariable="Name", Prefix=f"{family.name}/")["Results"])
        == models_before
    )


def test_a_missing_partition_fails_with_a_clear_message(family: Family) -> None:
    family.land(1, seed=1)
    dag_run = family.run(family.retrain(), 3)
    assert dag_run.state == "failed"
    assert states(dag_run)["plan_data"] == "failed"


def test_a_data_check_stops_a_day_whose_schema_drifted(family: Family) -> None:
    family.land(1, seed=1)
    dropped = without_column(customers(ROWS, 2), "monthly_charges")
    put_text(family.s3, family.bucket, f"{family.name}/landing/ds=2026-05-02/part-0.csv", dropped)
    dag_run = family.run(family.retrain(), 2)
    assert dag_run.state == "success", states(dag_run)
    assert (states(dag_run)["check_data"], states(dag_run)["train_challenger"]) == ("skipped", "skipped")
    report = family.json(f"{family.name}/families/{family.name}/2026-05-02/decision.json")
    assert report["decision"]["action"] == "reject"
    assert "monthly_charges" in report["decision"]["reason"]


def test_rollback_to_a_chosen_model_and_to_an_unknown_one(family: Family) -> None:
    for number in (1, 2, 3):
        family.land(number, seed=number)
    dag = family.retrain(min_improvement=-1.0, confidence=0.5, training_window=1)
    first = xcom(family.run(dag, 2), "decide")["ml_model_id"]
    second = xcom(family.run(dag, 3), "decide")["ml_model_id"]
    assert family.record()["champion"] == second
    rollback = register(
        rollback_dag(
            family.name,
            dag_id=f"rollback_{family.name}".replace("-", "_"),
            reports_uri=family.uris["reports_uri"],
            waiter_delay=0.3,
        )
    )
    wrong = rollback.test(logical_date=day(10), run_conf={"ml_model_id": "ml-nope", "smoke_record": SMOKE})
    assert wrong.state == "failed"
    rolled = rollback.test(logical_date=day(11), run_conf={"ml_model_id": first, "smoke_record": SMOKE})
    assert rolled.state == "success", states(rolled)
    assert (family.record()["champion"], family.record()["previous"]) == (first, second)


def answer_when_asked(dag_id: str, task_id: str, option: str) -> threading.Thread:
    """Answer a human-in-the-loop task through Airflow's REST API once it waits for input, as a person would."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def answer() -> None:
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with create_session() as session:
                waiting = session.scalars(
                    select(TaskInstance).where(
                        TaskInstance.dag_id == dag_id,
                        TaskInstance.task_id == task_id,
                        TaskInstance.state == "awaiting_input",
                    )
                ).first()
                run_id = waiting.run_id if waiting else None
            if run_id:
                client = TestClient(create_app("core"))
                response = client.patch(
                    f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails",
                    json={"chosen_options": [option]},
                )
                assert response.status_code == 200, response.text
                return
            time.sleep(0.5)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_a_promotion_waits_for_approval(family: Family, answer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    family.land(1, seed=1)
    family.land(2, seed=2)
    dag = family.retrain(suffix=f"_{answer}", require_approval=True)
    thread = answer_when_asked(dag.dag_id, "approve", answer)
    dag_run = family.run(dag, 2)
    thread.join()
    assert dag_run.state == "success", states(dag_run)
    promoted = answer == "Approve"
    assert states(dag_run)["promote"] == ("success" if promoted else "skipped")
    assert (family.record()["champion"] is not None) == promoted


def test_candidates_train_in_parallel_and_the_best_on_the_validation_share_is_the_challenger(
    family: Family,
) -> None:
    family.land(1, seed=1)
    family.land(2, seed=2)
    weak = {"parameters": {"sgd.maxPasses": "1", "sgd.l2RegularizationAmount": "1"}}
    strong = {"parameters": {"sgd.maxPasses": "10"}}
    dag = register(
        retrain_dag(
            family.name,
            dag_id=f"candidates_{family.name}".replace("-", "_"),
            candidates=[weak, strong],
            waiter_delay=0.3,
            retries=0,
            smoke_record=SMOKE,
            **family.uris,
        )
    )
    dag_run = family.run(dag, 2)
    assert dag_run.state == "success", states(dag_run)
    validated = {e["ml_model_id"]: e["metric_value"] for e in xcom_list(dag_run, "validate_candidates")}
    assert len(validated) == 2
    challenger = xcom(dag_run, "decide")["ml_model_id"]
    assert challenger == max(validated, key=validated.__getitem__)
    loser = next(model for model in validated if model != challenger)
    assert family.record()["members"][challenger]["evidence"]["ml_models"] == [loser]


def xcom_list(dag_run: Any, task_id: str) -> list[Any]:
    """The XCom values of every mapped instance of a task."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key="return_value"
        )
        return [XComModel.deserialize_value(row) for row in session.scalars(query).all()]


def test_undated_data_is_held_out_by_row_so_no_row_ever_changes_sides(family: Family) -> None:
    put_text(family.s3, family.bucket, f"{family.name}/landing/customers-1.csv", customers(ROWS, 1))
    dag = family.retrain(layout="holdout", holdout_percent=25)
    first = family.run(dag, 1)
    assert xcom(first, "decide")["action"] == "promote", states(first)
    put_text(family.s3, family.bucket, f"{family.name}/landing/customers-2.csv", customers(ROWS, 2))
    second = family.run(dag, 2)
    assert second.state == "success", states(second)
    plans = [xcom(run, "plan_data") for run in (first, second)]
    held_out = [family.customer_ids([plan["evaluation_uri"]]) for plan in plans]
    trained = [family.customer_ids([plan["training_uri"]]) for plan in plans]
    assert held_out[0] <= held_out[1]  # day 1's held-out rows stay held out
    assert trained[0] <= trained[1]
    assert held_out[1].isdisjoint(trained[0] | trained[1])
    assert 0.15 < len(held_out[1]) / (len(held_out[1]) + len(trained[1])) < 0.35


def test_a_run_can_wait_for_its_partition_to_land(family: Family) -> None:
    family.land(1, seed=1)
    dag = register(
        retrain_dag(
            family.name,
            dag_id=f"wait_{family.name}".replace("-", "_"),
            partition_wait=dt.timedelta(seconds=60),
            waiter_delay=0.5,
            retries=0,
            smoke_record=SMOKE,
            **family.uris,
        )
    )
    landing = threading.Timer(5, family.land, args=(2,), kwargs={"seed": 2})
    landing.start()
    dag_run = family.run(dag, 2)
    landing.join()
    assert dag_run.state == "success", states(dag_run)
    assert states(dag_run)["wait_for_partition"] == "success"
    assert xcom(dag_run, "decide")["action"] == "promote"
