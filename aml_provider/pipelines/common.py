"""What the family DAGs share: names, defaults, the champion Asset and the data source task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, Param

from aml_provider.operators import (
    AmlCreateDataSourceFromS3Operator,
)

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NAME = "{{ params.family }}/{{ run_id }}/"
PLANNED = "{{{{ ti.xcom_pull(task_ids='plan_data')['{}'] }}}}"
DECISION = "ti.xcom_pull(task_ids='decide')"


def champion_asset(family: str, reports_uri: str) -> Asset:
    """The family's champion: updated by every promotion (the event's extra names the model)."""
    return Asset(name=f"aml-champion-{family}", uri=f"{reports_uri.rstrip('/')}/{family}/family.json")


def family_param(family: str) -> Param:
    return Param(family, type="string", const=family, description="The model family (fixed per DAG)")


def task_defaults(waiter_delay: float, retries: int, retry_delay: dt.timedelta) -> dict[str, Any]:
    return {"deferrable": True, "waiter_delay": waiter_delay, "retries": retries, "retry_delay": retry_delay}


def output(operator: Any) -> Any:
    """An operator's result for another task's argument (an XComArg, resolved when that task runs)."""
    return operator.output


def data_source(
    task_id: str, location: str, part: str, splitting: dict[str, Any] | None = None
) -> AmlCreateDataSourceFromS3Operator:
    return AmlCreateDataSourceFromS3Operator(
        task_id=task_id,
        data_location_s3=location,
        data_schema_location_s3="{{ params.schema_uri }}",
        data_rearrangement={"splitting": splitting} if splitting else None,
        data_source_name=NAME + part,
    )
