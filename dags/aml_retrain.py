"""Airflow DAG: retrain the ``customer-churn`` family daily on fresh data; promote a challenger that beats the champion."""

from __future__ import annotations

import os

from aml_provider.pipelines import retrain_dag

BUCKET = os.environ.get("AML_DAGS_BUCKET", "aml-demo")

dag = retrain_dag(
    "customer-churn",
    data_uri=f"s3://{BUCKET}/landing/",
    schema_uri=f"s3://{BUCKET}/schema/customers.csv.schema",
    reports_uri=f"s3://{BUCKET}/families/",
    work_uri=f"s3://{BUCKET}/runs/",
    waiter_delay=float(os.environ.get("AML_DAGS_WAITER_DELAY", "30")),
)
