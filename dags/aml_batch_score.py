"""Score the day's records with the family's champion model; results land under the output prefix."""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, Param, task

from aml_provider.operators.aml import AmlCreateBatchPredictionOperator, AmlCreateDataSourceFromS3Operator
from aml_provider.operators.champion import AmlFindChampionOperator

WAITER_DELAY = float(os.environ.get("AML_DAGS_WAITER_DELAY", "30"))
NAME = "{{ params.family }}/{{ run_id }}/"

with DAG(
    dag_id="aml_batch_score",
    description="Batch predictions with the champion model",
    schedule="@daily",
    catchup=False,
    tags=["amazon-ml"],
    default_args={"waiter_delay": WAITER_DELAY, "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
    params={
        "family": Param("customer-churn", type="string"),
        "records_uri": Param("s3://aml-demo/to-score/", type="string", description="CSV records to score"),
        "schema_uri": Param("s3://aml-demo/schema/to-score.csv.schema", type="string"),
        "output_uri": Param("s3://aml-demo/scores/", type="string", description="Prefix for the results"),
    },
) as dag:
    champion = AmlFindChampionOperator(task_id="find_champion", family="{{ params.family }}")
    records = AmlCreateDataSourceFromS3Operator(
        task_id="records",
        data_location_s3="{{ params.records_uri }}",
        data_schema_location_s3="{{ params.schema_uri }}",
        compute_statistics=False,
        data_source_name=NAME + "records",
    )

    @task.short_circuit
    def has_champion(champion_id: str | None) -> bool:
        """Nothing to score with until a model has been promoted."""
        return champion_id is not None

    score = AmlCreateBatchPredictionOperator(
        task_id="score",
        ml_model_id=champion.output,
        batch_prediction_data_source_id=records.output,
        output_uri="{{ params.output_uri.rstrip('/') }}/{{ dag_run.run_after | ds }}/",
        batch_prediction_name=NAME + "scores",
    )
    has_champion(champion.output) >> records >> score
