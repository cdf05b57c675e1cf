"""The retrain DAG of a model family: plan, check, train, score both models on unseen rows, decide, promote."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task

from aml_provider.operators import (
    AmlCheckDataOperator,
    AmlCleanupOperator,
    AmlCreateBatchPredictionOperator,
    AmlCreateEvaluationOperator,
    AmlDecideOperator,
    AmlPlanRetrainOperator,
    AmlPromoteMLModelOperator,
)
from aml_provider.pipelines.candidates import build_challenger
from aml_provider.pipelines.common import (
    DECISION,
    NAME,
    PLANNED,
    START,
    champion_asset,
    data_source,
    output,
    task_defaults,
)
from aml_provider.pipelines.params import retrain_params


def retrain_dag(
    family: str,
    *,
    data_uri: str,
    schema_uri: str,
    reports_uri: str,
    work_uri: str,
    dag_id: str | None = None,
    schedule: Any = "@daily",
    model_type: str = "BINARY",
    candidates: list[dict[str, Any]] | None = None,
    partition_wait: dt.timedelta | None = None,
    require_approval: bool = False,
    approval_timeout: dt.timedelta = dt.timedelta(hours=24),
    waiter_delay: float = 30,
    retries: int = 1,
    retry_delay: dt.timedelta = dt.timedelta(seconds=30),
    **param_defaults: Any,
) -> DAG:
    """
    The retrain DAG of one family; ``param_defaults`` override the defaults of its Params.

    ``partition_wait`` waits (deferred) that long for the run's partition to land before planning.
    ``candidates`` (two or more ``{"parameters": ..., "recipe": ...}``) trains them in parallel on 80 % of
    the window and makes the best on the other 20 % the challenger; without, one model trains on all of it.
    """
    params = retrain_params(family, data_uri, schema_uri, model_type)
    for name, value in param_defaults.items():
        params[name] = Param(value, description=params[name].description, **params[name].schema)
    with DAG(
        dag_id=dag_id or "aml_retrain",
        description=f"Retrain {family} on fresh data; promote a challenger that beats the champion",
        doc_md=RETRAIN_DOC,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        render_template_as_native_obj=True,
        tags=["amazon-ml", family],
        default_args=task_defaults(waiter_delay, retries, retry_delay),
        params=params,
    ) as dag:
        family_args = {"family": family, "reports_uri": reports_uri}
        plan = AmlPlanRetrainOperator(
            task_id="plan_data",
            data_uri="{{ params.data_uri }}",
            partition_template="{{ params.partition_template }}",
            training_window="{{ params.training_window }}",
            missing_partition="{{ params.missing_partition }}",
            holdout_percent="{{ params.holdout_percent if params.layout == 'holdout' else 0 }}",
            schema_uri="{{ params.schema_uri }}",
            work_uri=work_uri,
            **family_args,
        )
        if partition_wait:
            _wait_for_partition(partition_wait, waiter_delay) >> plan
        checks = AmlCheckDataOperator(
            task_id="check_data",
            plan=plan.output,
            schema_uri="{{ params.schema_uri }}",
            checks="{{ params.checks }}",
            min_rows="{{ params.min_rows }}",
            **family_args,
        )
        evaluation_data = data_source("evaluation_data", PLANNED.format("evaluation_uri"), "evaluation")
        challenger, data_sources, extra = build_challenger(family, candidates, checks)
        decide = _decide(
            plan, checks, evaluation_data, challenger, [*data_sources, output(evaluation_data)], extra
        )
        promote = _promote(decide, family, reports_uri, require_approval, approval_timeout)
        cleanup = AmlCleanupOperator(
            task_id="cleanup",
            keep_runs="{{ params.keep_runs }}",
            list_only="{{ params.cleanup_dry_run }}",
            trigger_rule="none_failed",
            **family_args,
        )
        checks >> evaluation_data
        promote >> cleanup
    return dag


def _decide(
    plan: Any, checks: Any, evaluation_data: Any, challenger: Any, data_sources: list[Any], extra: Any
) -> AmlDecideOperator:
    """Score the challenger (and the champion) on the evaluation rows, evaluate both, then decide."""

    @task
    def contestants(plan: dict[str, Any], challenger_id: str) -> list[dict[str, Any]]:
        """The challenger, and the champion when there is one, to score on the same rows."""
        models = [("challenger", challenger_id)] + (
            [("champion", plan["champion"])] if plan["champion"] else []
        )
        run_uri = plan["evaluation_uri"].rsplit("/evaluation/", 1)[0]
        return [
            {"role": role, "ml_model_id": model, "output_uri": f"{run_uri}/scores/{role}/"}
            for role, model in models
        ]

    entrants = contestants(output(plan), challenger)
    scores = AmlCreateBatchPredictionOperator.partial(
        task_id="score_evaluation_data",
        batch_prediction_data_source_id=evaluation_data.output,
        batch_prediction_name=NAME + "scores",
    ).expand_kwargs(entrants.map(lambda c: {"ml_model_id": c["ml_model_id"], "output_uri": c["output_uri"]}))
    evaluations = AmlCreateEvaluationOperator.partial(
        task_id="evaluate",
        evaluation_data_source_id=evaluation_data.output,
        evaluation_name=NAME + "evaluation",
    ).expand(ml_model_id=entrants.map(lambda c: c["ml_model_id"]))
    return AmlDecideOperator(
        task_id="decide",
        family=plan.family,
        reports_uri=plan.reports_uri,
        plan=plan.output,
        schema_uri="{{ params.schema_uri }}",
        model_type="{{ params.model_type }}",
        contestants=entrants,
        batch_prediction_ids=scores.output,
        evaluations=evaluations.output,
        data_checks=checks.output,
        data_sources=data_sources,
        extra_evidence=extra,
        rules={
            "min_improvement": "{{ params.min_improvement }}",
            "confidence": "{{ params.confidence }}",
            "floor": "{{ params.floor }}",
            "min_rows": "{{ params.min_rows }}",
        },
    )


def _promote(
    decide: AmlDecideOperator,
    family: str,
    reports_uri: str,
    require_approval: bool,
    approval_timeout: dt.timedelta,
) -> AmlPromoteMLModelOperator:
    """Promote when the decision says so, after a person approves it when ``require_approval``."""

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def promotes(decision: dict[str, Any]) -> bool:
        """Go on to promotion only when the decision says so."""
        return decision["action"] == "promote"

    gate = promotes(output(decide))
    promote = AmlPromoteMLModelOperator(
        task_id="promote",
        family=family,
        reports_uri=reports_uri,
        ml_model_id="{{ " + DECISION + "['ml_model_id'] }}",
        expected_champion="{{ " + DECISION + "['champion'] }}",
        metric="{{ " + DECISION + "['metric'] }}",
        smoke_record="{{ params.smoke_record or None }}",
        score_threshold="{{ params.score_threshold }}",
        endpoint_grace="{{ params.endpoint_grace }}",
        outlets=[champion_asset(family, reports_uri)],
    )
    if require_approval:
        from airflow.providers.standard.operators.hitl import ApprovalOperator

        approve = ApprovalOperator(
            task_id="approve",
            subject=f"Promote a new {family} champion?",
            body="{{ " + DECISION + "['reason'] }}\n\nDecision report: {{ " + DECISION + "['report_uri'] }}",
            defaults=ApprovalOperator.REJECT,
            response_timeout=approval_timeout,
        )
        gate >> approve >> promote
    else:
        gate >> promote
    return promote


def _wait_for_partition(timeout: dt.timedelta, poke_interval: float) -> Any:
    """A deferred wait until a file lands in the run's partition (the same layout the plan reads)."""
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    partition = "{{ params.data_uri }}{{ (dag_run.logical_date or dag_run.run_after).strftime(params.partition_template) }}"
    return S3KeySensor(
        task_id="wait_for_partition",
        bucket_key=partition + "*",
        wildcard_match=True,
        deferrable=True,
        poke_interval=poke_interval,
        timeout=timeout.total_seconds(),
    )


RETRAIN_DOC = """
### Retrain a model family

Each run evaluates on the partition(s) of its data interval under `data_uri` (rows neither model has
trained on) and trains a challenger on the `training_window` partitions before it. Challenger and
champion batch-predict the same rows; the decision (promote, keep or reject) comes from the paired
difference of their metric with a bootstrap interval, the data checks and the floor, and is written to
`decision.html` (the *Decision report* link of `decide`) and the family's decision log
(`aml-family history FAMILY`). Promotion moves the family record's champion pointer in one
compare-and-set write after the new endpoint is READY and answers a smoke prediction.
"""
