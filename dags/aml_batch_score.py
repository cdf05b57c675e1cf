"""Airflow DAG: score the day's records with the ``customer-churn`` champion, daily and after every promotion."""

from __future__ import annotations

import os

from aml_provider.pipelines import batch_score_dag

BUCKET = os.environ.get("AML_DAGS_BUCKET", "aml-demo")

dag = batch_score_dag(
    "customer-churn",
    records_uri=f"s3://{BUCKET}/to-score/",
    schema_uri=f"s3://{BUCKET}/schema/to-score.csv.schema",
    output_uri=f"s3://{BUCKET}/scores/",
    reports_uri=f"s3://{BUCKET}/families/",
    waiter_delay=float(os.environ.get("AML_DAGS_WAITER_DELAY", "30")),
)
