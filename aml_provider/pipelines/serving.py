"""The DAGs that use the champion: batch scoring (daily and after each promotion) and rollback."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from aml_provider.operators import (
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlFindChampionOperator,
    AmlRollbackMLModelOperator,
)
from aml_provider.pipelines.common import (
    NAME,
    START,
    champion_asset,
    family_param,
    output,
    task_defaults,
)


def batch_score_dag(
    family: str,
    *,
    records_uri: str,
    schema_uri: str,
    output_uri: str,
    reports_uri: str,
    dag_id: str | None = None,
    cron: str = "@daily",
    waiter_delay: float = 30,
    retries: int = 1,
    retry_delay: dt.timedelta = dt.timedelta(seconds=30),
) -> DAG:
    """Score records with the champion daily and after each promotion; results keyed by the run's date."""
    with DAG(
        dag_id=dag_id or "aml_batch_score",
        description=f"Batch predictions with the {family} champion",
        doc_md=SCORE_DOC,
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=champion_asset(family, reports_uri)
        ),
        start_date=START,
        catchup=False,
        tags=["amazon-ml", family],
        default_args=task_defaults(waiter_delay, retries, retry_delay),
        params={
            "family": family_param(family),
            "records_uri": Param(
                records_uri, type="string", description="CSV records to score (object or prefix)"
            ),
            "schema_uri": Param(schema_uri, type="string", description="S3 URI of the records' schema"),
            "output_uri": Param(output_uri, type="string", description="Prefix for the results (per date)"),
        },
    ) as dag:
        champion = AmlFindChampionOperator(
            task_id="find_champion", family=family, reports_uri=reports_uri, skip_if_none=True
        )
        records = AmlCreateDataSourceFromS3Operator(
            task_id="records",
            data_location_s3="{{ params.records_uri }}",
            data_schema_location_s3="{{ params.schema_uri }}",
            compute_statistics=False,
            data_source_name=NAME + "records",
        )
        score = AmlCreateBatchPredictionOperator(
            task_id="score",
            ml_model_id=output(champion),
            batch_prediction_data_source_id=output(records),
            output_uri="{{ params.output_uri.rstrip('/') }}/{{ (dag_run.logical_date or dag_run.run_after) | ds }}/",
            batch_prediction_name=NAME + "scores",
        )
        champion >> records >> score
    return dag


def rollback_dag(
    family: str, *, reports_uri: str, dag_id: str | None = None, waiter_delay: float = 30
) -> DAG:
    """Bring back any retained model of the family (default: the previous champion), run by hand."""
    with DAG(
        dag_id=dag_id or "aml_rollback",
        description=f"Reinstate a retained {family} model: endpoint, smoke prediction, pointer, tags",
        doc_md=ROLLBACK_DOC,
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        tags=["amazon-ml", family],
        default_args=task_defaults(waiter_delay, 0, dt.timedelta(seconds=30)),
        params={
            "family": family_param(family),
            "ml_model_id": Param(
                "", type="string", description="Model to roll back to; empty for the previous champion"
            ),
            "smoke_record": Param({}, type="object", description="Record predicted before the model serves"),
            "endpoint_grace": Param(
                600, type="number", minimum=0, description="Seconds the replaced endpoint stays up"
            ),
        },
    ) as dag:
        AmlRollbackMLModelOperator(
            task_id="rollback",
            family=family,
            reports_uri=reports_uri,
            ml_model_id="{{ params.ml_model_id }}",
            smoke_record="{{ params.smoke_record or None }}",
            endpoint_grace="{{ params.endpoint_grace }}",
            outlets=[champion_asset(family, reports_uri)],
        )
    return dag


SCORE_DOC = """
### Batch scoring with the champion

Finds the champion in the family record (skips when there is none), creates a data source over
`records_uri` and writes the batch prediction under `output_uri/<date>/`. Runs daily and after each
promotion (the family's champion Asset).
"""
ROLLBACK_DOC = """
### Roll back

Brings back `ml_model_id` (any retained model of the family; empty: the previous champion) with the
same guarantees as a promotion: endpoint READY, smoke prediction, one pointer write, tags.
"""
