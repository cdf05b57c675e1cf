"""Airflow DAG: bring back a retained ``customer-churn`` model (by default the previous champion), run by hand."""

from __future__ import annotations

import os

from aml_provider.pipelines import rollback_dag

BUCKET = os.environ.get("AML_DAGS_BUCKET", "aml-demo")

dag = rollback_dag(
    "customer-churn",
    reports_uri=f"s3://{BUCKET}/families/",
    waiter_delay=float(os.environ.get("AML_DAGS_WAITER_DELAY", "30")),
)
