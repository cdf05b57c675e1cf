"""
Retrain a model family on fresh data and promote the better of challenger and champion.

Every run splits the fresh data 70/30 (a random split seeded by the run), trains a challenger on the
70 %, evaluates the challenger and the current champion on the same 30 %, promotes the challenger when
it wins (tags, real-time endpoint switch, smoke prediction), and deletes the entities of old runs.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param, task

from aml_provider.champion import compare
from aml_provider.operators.aml import (
    AmlCreateDataSourceFromS3Operator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
)
from aml_provider.operators.champion import (
    AmlCleanupOperator,
    AmlFindChampionOperator,
    AmlPromoteMLModelOperator,
)

#: Seconds between status checks; the local service answers in seconds, Amazon ML in minutes.
WAITER_DELAY = float(os.environ.get("AML_DAGS_WAITER_DELAY", "30"))
NAME = "{{ params.family }}/{{ run_id }}/"


def fresh_data(part: str, complement: bool) -> AmlCreateDataSourceFromS3Operator:
    """The run's 70 % (training) or 30 % (evaluation, the complement) of the fresh data, split at random
    with the run as seed."""
    splitting = {
        "percentBegin": 0,
        "percentEnd": 70,
        "complement": complement,
        "strategy": "random",
        "strategyParams": {"randomSeed": "{{ run_id }}"},
    }
    return AmlCreateDataSourceFromS3Operator(
        task_id=f"{part}_data",
        data_location_s3="{{ params.data_uri }}",
        data_schema_location_s3="{{ params.schema_uri }}",
        data_rearrangement={"splitting": splitting},
        data_source_name=NAME + part,
    )


with DAG(
    dag_id="aml_retrain",
    description="Retrain on fresh data, evaluate challenger and champion on the same data, promote the better",
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["amazon-ml"],
    default_args={"waiter_delay": WAITER_DELAY, "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
    params={
        "family": Param("customer-churn", type="string", description="Model family (no '/')"),
        "data_uri": Param("s3://aml-demo/fresh/", type="string", description="Fresh labelled CSV data"),
        "schema_uri": Param("s3://aml-demo/schema/customers.csv.schema", type="string"),
        "model_type": Param("BINARY", enum=["BINARY", "MULTICLASS", "REGRESSION"]),
        "training_parameters": Param({"sgd.maxPasses": "10", "sgd.shuffleType": "auto"}, type="object"),
        "min_improvement": Param(0.0, type="number", description="Margin the challenger must win by"),
        "smoke_record": Param({}, type="object", description="Record to predict after promotion"),
        "keep_runs": Param(3, type="integer", minimum=1, description="Runs whose entities are kept"),
    },
) as dag:
    training_data = fresh_data("training", complement=False)
    evaluation_data = fresh_data("evaluation", complement=True)
    challenger = AmlCreateMLModelOperator(
        task_id="train_challenger",
        ml_model_type="{{ params.model_type }}",
        training_data_source_id=training_data.output,
        parameters="{{ params.training_parameters }}",
        ml_model_name=NAME + "challenger",
    )
    champion = AmlFindChampionOperator(task_id="find_champion", family="{{ params.family }}")
    evaluate_challenger = AmlCreateEvaluationOperator(
        task_id="evaluate_challenger",
        ml_model_id=challenger.output,
        evaluation_data_source_id=evaluation_data.output,
        evaluation_name=NAME + "challenger-evaluation",
    )

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def has_champion(champion_id: str | None) -> bool:
        """Skip the champion's evaluation when the family has no champion yet."""
        return champion_id is not None

    evaluate_champion = AmlCreateEvaluationOperator(
        task_id="evaluate_champion",
        ml_model_id=champion.output,
        evaluation_data_source_id=evaluation_data.output,
        evaluation_name=NAME + "champion-evaluation",
    )

    @task.branch(trigger_rule="none_failed")
    def decide(
        challenger_result: dict[str, Any], champion_result: dict[str, Any] | None, params: Any = None
    ) -> str:
        """Promote when the challenger beats the champion on the same evaluation data."""
        decision = compare(challenger_result, champion_result, float(params["min_improvement"]))
        print(f"Decision: {'promote' if decision.promote else 'keep the champion'}; {decision.reason}")
        return "promote" if decision.promote else "keep_champion"

    promote = AmlPromoteMLModelOperator(
        task_id="promote",
        family="{{ params.family }}",
        ml_model_id=challenger.output,
        smoke_record="{{ params.smoke_record or None }}",
    )
    keep_champion = EmptyOperator(task_id="keep_champion")
    cleanup = AmlCleanupOperator(
        task_id="cleanup",
        family="{{ params.family }}",
        keep_runs="{{ params.keep_runs }}",
        trigger_rule="none_failed_min_one_success",
    )

    has_champion(champion.output) >> evaluate_champion
    decision = decide(evaluate_challenger.output, evaluate_champion.output)
    decision >> [promote, keep_champion] >> cleanup
