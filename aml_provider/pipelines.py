"""
DAG factories for a model family: retrain, batch scoring and rollback, one call per family.

``retrain_dag`` evaluates each run on the partition of its data interval (rows no model has trained
on), trains the challenger on the window before it, scores both models on the same rows, decides with
a paired, interval-aware comparison and gates, and promotes through the family record; every wait
defers. ``batch_score_dag`` scores with the champion, daily and after each promotion (the family's
champion Asset). ``rollback_dag`` brings back any retained model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from airflow.sdk import DAG, Asset, Param, task
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from aml_provider.family.partitions import DEFAULT_PARTITION
from aml_provider.operators import (
    AmlCheckDataOperator,
    AmlCleanupOperator,
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
    AmlDecideOperator,
    AmlFindChampionOperator,
    AmlPlanRetrainOperator,
    AmlPromoteMLModelOperator,
    AmlRollbackMLModelOperator,
)

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NAME = "{{ params.family }}/{{ run_id }}/"
PLANNED = "{{{{ ti.xcom_pull(task_ids='plan_data')['{}'] }}}}"
DECISION = "ti.xcom_pull(task_ids='decide')"


def champion_asset(family: str, reports_uri: str) -> Asset:
    """The family's champion: updated by every promotion (the event's extra names the model)."""
    return Asset(name=f"aml-champion-{family}", uri=f"{reports_uri.rstrip('/')}/{family}/family.json")


def _family_param(family: str) -> Param:
    return Param(family, type="string", const=family, description="The model family (fixed per DAG)")


def _defaults(waiter_delay: float, retries: int, retry_delay: dt.timedelta) -> dict[str, Any]:
    return {"deferrable": True, "waiter_delay": waiter_delay, "retries": retries, "retry_delay": retry_delay}


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
    params = _retrain_params(family, data_uri, schema_uri, model_type)
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
        default_args=_defaults(waiter_delay, retries, retry_delay),
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
        evaluation_data = _data_source("evaluation_data", PLANNED.format("evaluation_uri"), "evaluation")
        challenger, data_sources, extra = _challenger(family, candidates, checks)

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
        ).expand_kwargs(
            entrants.map(lambda c: {"ml_model_id": c["ml_model_id"], "output_uri": c["output_uri"]})
        )
        evaluations = AmlCreateEvaluationOperator.partial(
            task_id="evaluate",
            evaluation_data_source_id=evaluation_data.output,
            evaluation_name=NAME + "evaluation",
        ).expand(ml_model_id=entrants.map(lambda c: c["ml_model_id"]))
        decide = AmlDecideOperator(
            task_id="decide",
            plan=plan.output,
            schema_uri="{{ params.schema_uri }}",
            model_type="{{ params.model_type }}",
            contestants=entrants,
            batch_prediction_ids=scores.output,
            evaluations=evaluations.output,
            data_checks=checks.output,
            data_sources=[*data_sources, output(evaluation_data)],
            extra_evidence=extra,
            rules={
                "min_improvement": "{{ params.min_improvement }}",
                "confidence": "{{ params.confidence }}",
                "floor": "{{ params.floor }}",
                "min_rows": "{{ params.min_rows }}",
            },
            **family_args,
        )

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def promotes(decision: dict[str, Any]) -> bool:
            """Go on to promotion only when the decision says so."""
            return decision["action"] == "promote"

        gate = promotes(output(decide))
        promote = AmlPromoteMLModelOperator(
            task_id="promote",
            ml_model_id="{{ " + DECISION + "['ml_model_id'] }}",
            expected_champion="{{ " + DECISION + "['champion'] }}",
            metric="{{ " + DECISION + "['metric'] }}",
            smoke_record="{{ params.smoke_record or None }}",
            score_threshold="{{ params.score_threshold }}",
            endpoint_grace="{{ params.endpoint_grace }}",
            outlets=[champion_asset(family, reports_uri)],
            **family_args,
        )
        if require_approval:
            from airflow.providers.standard.operators.hitl import ApprovalOperator

            approve = ApprovalOperator(
                task_id="approve",
                subject=f"Promote a new {family} champion?",
                body="{{ "
                + DECISION
                + "['reason'] }}\n\nDecision report: {{ "
                + DECISION
                + "['report_uri'] }}",
                defaults=ApprovalOperator.REJECT,
                response_timeout=approval_timeout,
            )
            gate >> approve >> promote
        else:
            gate >> promote
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


def _challenger(
    family: str, candidates: list[dict[str, Any]] | None, checks: Any
) -> tuple[Any, list[Any], Any]:
    """The challenger's ID, the data sources it used, and the evidence of the candidates that lost."""
    if not candidates or len(candidates) < 2:
        training_data = _data_source("training_data", PLANNED.format("training_uri"), "training")
        checks >> training_data
        model = _training(AmlCreateMLModelOperator, "train_challenger", training_data, "challenger")(
            parameters=cast("Any", "{{ params.training_parameters }}"), recipe="{{ params.recipe or None }}"
        )
        return output(model), [output(training_data)], {}
    share = {
        "percentBegin": 0,
        "percentEnd": 80,
        "strategy": "random",
        "strategyParams": {"randomSeed": family},
    }
    training_data = _data_source("training_data", PLANNED.format("training_uri"), "training", share)
    validation_data = _data_source(
        "validation_data", PLANNED.format("training_uri"), "validation", {**share, "complement": True}
    )
    checks >> [training_data, validation_data]
    trained = _training(
        AmlCreateMLModelOperator.partial, "train_candidates", training_data, "candidate"
    )().expand_kwargs(
        [{"parameters": c.get("parameters") or {}, "recipe": c.get("recipe")} for c in candidates]
    )
    validated = AmlCreateEvaluationOperator.partial(
        task_id="validate_candidates",
        evaluation_data_source_id=output(validation_data),
        evaluation_name=NAME + "validation",
    ).expand(ml_model_id=output(trained))

    @task(multiple_outputs=True)
    def choose_challenger(results: Any) -> dict[str, Any]:
        """The candidate with the best metric on the validation share (never the evaluation partition)."""
        listed = [results[index] for index in range(len(results))]
        sign = 1 if listed[0]["higher_is_better"] else -1
        best = max(listed, key=lambda result: sign * result["metric_value"])
        print(
            f"Candidates on the validation share: {[(r['ml_model_id'], r['metric_value']) for r in listed]}"
        )
        return {
            "ml_model_id": best["ml_model_id"],
            "evidence": {
                "ml_models": [r["ml_model_id"] for r in listed if r is not best],
                "evaluations": [r["evaluation_id"] for r in listed],
            },
        }

    chosen: Any = choose_challenger(output(validated))
    return chosen["ml_model_id"], [output(training_data), output(validation_data)], chosen["evidence"]


def _training(factory: Any, task_id: str, training_data: Any, part: str) -> Any:
    """The model operator (or its partial) with what every challenger's training shares."""

    def build(**kwargs: Any) -> Any:
        return factory(
            task_id=task_id,
            ml_model_type="{{ params.model_type }}",
            training_data_source_id=output(training_data),
            ml_model_name=NAME + part,
            **kwargs,
        )

    return build


def output(operator: Any) -> Any:
    """An operator's result for another task's argument (an XComArg, resolved when that task runs)."""
    return operator.output


def _data_source(
    task_id: str, location: str, part: str, splitting: dict[str, Any] | None = None
) -> AmlCreateDataSourceFromS3Operator:
    return AmlCreateDataSourceFromS3Operator(
        task_id=task_id,
        data_location_s3=location,
        data_schema_location_s3="{{ params.schema_uri }}",
        data_rearrangement={"splitting": splitting} if splitting else None,
        data_source_name=NAME + part,
    )


def _retrain_params(family: str, data_uri: str, schema_uri: str, model_type: str) -> dict[str, Param]:
    return {
        "family": _family_param(family),
        "data_uri": Param(data_uri, type="string", description="S3 prefix the partitions land under"),
        "partition_template": Param(
            DEFAULT_PARTITION,
            type="string",
            description="strftime pattern of one partition below data_uri (one folder per day by default)",
        ),
        "layout": Param(
            "partitions",
            enum=["partitions", "holdout"],
            description="partitions: dated folders (out of time); holdout: undated files, rows split by hash",
        ),
        "holdout_percent": Param(
            20, type="number", exclusiveMinimum=0, maximum=50, description="Evaluation share of the hold-out"
        ),
        "missing_partition": Param(
            "fail", enum=["fail", "skip"], description="When the run's partition has not landed: fail or skip"
        ),
        "schema_uri": Param(schema_uri, type="string", description="S3 URI of the data's Amazon ML schema"),
        "model_type": Param(
            model_type, enum=["BINARY", "MULTICLASS", "REGRESSION"], description="Model type"
        ),
        "training_window": Param(
            7,
            type="integer",
            minimum=0,
            description="Partitions before the evaluation one to train on (0: all)",
        ),
        "training_parameters": Param(
            {"sgd.maxPasses": "10", "sgd.shuffleType": "auto"},
            type="object",
            description="Amazon ML training parameters of the challenger",
        ),
        "recipe": Param(
            None, type=["null", "object"], description="Recipe of the challenger (null: default)"
        ),
        "min_improvement": Param(
            0.0,
            type="number",
            description="Improvement (metric units) the interval's lower bound must exceed",
        ),
        "confidence": Param(
            0.95,
            type="number",
            exclusiveMinimum=0,
            exclusiveMaximum=1,
            description="Confidence of the intervals",
        ),
        "floor": Param(
            None,
            type=["null", "number"],
            description="Metric any model must reach to serve (null: beat Amazon ML's baseline with confidence)",
        ),
        "min_rows": Param(
            100, type="integer", minimum=1, description="Fewest rows for training and evaluation"
        ),
        "checks": Param(
            {}, type="object", description="Data check name -> warn, fail or off (others keep their default)"
        ),
        "smoke_record": Param({}, type="object", description="Record predicted before a new champion serves"),
        "score_threshold": Param(
            None, type=["null", "number"], description="Champion ScoreThreshold (null: carry the current one)"
        ),
        "endpoint_grace": Param(
            600, type="number", minimum=0, description="Seconds the old champion's endpoint stays up"
        ),
        "keep_runs": Param(3, type="integer", minimum=1, description="Newest challengers kept by clean-up"),
        "cleanup_dry_run": Param(
            False, type="boolean", description="Clean-up only lists what it would delete"
        ),
    }


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
        default_args=_defaults(waiter_delay, retries, retry_delay),
        params={
            "family": _family_param(family),
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
        default_args=_defaults(waiter_delay, 0, dt.timedelta(seconds=30)),
        params={
            "family": _family_param(family),
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
