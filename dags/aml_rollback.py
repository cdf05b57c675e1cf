"""Bring back the family's previous champion model (run by hand when a promotion went wrong)."""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from aml_provider.operators.champion import AmlRollbackMLModelOperator

WAITER_DELAY = float(os.environ.get("AML_DAGS_WAITER_DELAY", "30"))

with DAG(
    dag_id="aml_rollback",
    description="Reinstate the previous champion: endpoint switch, smoke prediction and tags",
    schedule=None,
    catchup=False,
    tags=["amazon-ml"],
    render_template_as_native_obj=True,
    params={
        "family": Param("customer-churn", type="string"),
        "smoke_record": Param({}, type="object", description="Record to predict after the switch"),
    },
) as dag:
    AmlRollbackMLModelOperator(
        task_id="rollback",
        family="{{ params.family }}",
        smoke_record="{{ params.smoke_record or None }}",
        waiter_delay=WAITER_DELAY,
    )
