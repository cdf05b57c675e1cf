"""Train, evaluate, predict, rename, tag and delete in one real DAG, synchronous and deferred."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from airflow.sdk import task

from aml_provider.hooks import BATCH_PREDICTION, DATA_SOURCE, EVALUATION, ML_MODEL, AmlHook
from aml_provider.operators import (
    AmlAddTagsOperator,
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
    AmlCreateRealtimeEndpointOperator,
    AmlDeleteBatchPredictionOperator,
    AmlDeleteDataSourceOperator,
    AmlDeleteEvaluationOperator,
    AmlDeleteMLModelOperator,
    AmlDeleteRealtimeEndpointOperator,
    AmlPredictOperator,
    AmlRemoveTagsOperator,
    AmlUpdateBatchPredictionOperator,
    AmlUpdateDataSourceOperator,
    AmlUpdateEvaluationOperator,
    AmlUpdateMLModelOperator,
)
from aml_provider.pipelines.common import output
from tests.airflow.data import SCHEMA, SCHEMA_WITHOUT_TARGET
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

FAST: dict[str, Any] = {"waiter_delay": 0.5, "waiter_max_attempts": 240}
MODES = pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
RECIPE = {
    "groups": {"NUMERIC_VARS": "group('x1','x2')"},
    "assignments": {},
    "outputs": ["ALL_NUMERIC", "ALL_CATEGORICAL"],
}


def split(
    task_id: str, location: str, begin: int, end: int, deferrable: bool
) -> AmlCreateDataSourceFromS3Operator:
    return AmlCreateDataSourceFromS3Operator(
        task_id=task_id,
        data_location_s3=location,
        data_schema=SCHEMA,
        data_rearrangement={"splitting": {"percentBegin": begin, "percentEnd": end}},
        deferrable=deferrable,
        **FAST,
    )


@MODES
def test_a_model_goes_from_data_to_predictions_and_away(
    dag_runner: DagRunner, deferrable: bool, training_csv: str, s3: Any, bucket: str
) -> None:
    output_prefix = f"airflow/{unique_id('out')}"
    with dag_runner.dag() as dag:
        train_data = split("train_data", training_csv, 0, 70, deferrable)
        test_data = split("test_data", training_csv, 70, 100, deferrable)
        train = AmlCreateMLModelOperator(
            task_id="train",
            ml_model_type="BINARY",
            training_data_source_id=output(train_data),
            recipe=RECIPE,
            parameters={"sgd.maxPasses": 20, "sgd.shuffleType": "auto"},
            deferrable=deferrable,
            **FAST,
        )
        evaluate = AmlCreateEvaluationOperator(
            task_id="evaluate",
            ml_model_id=output(train),
            evaluation_data_source_id=output(test_data),
            deferrable=deferrable,
            **FAST,
        )
        batch = AmlCreateBatchPredictionOperator(
            task_id="batch",
            ml_model_id=output(train),
            batch_prediction_data_source_id=output(test_data),
            output_uri=f"s3://{bucket}/{output_prefix}/",
            deferrable=deferrable,
            **FAST,
        )
        endpoint = AmlCreateRealtimeEndpointOperator(
            task_id="endpoint", ml_model_id=output(train), deferrable=deferrable, **FAST
        )
        predict = AmlPredictOperator(
            task_id="predict", ml_model_id=output(train), record={"x1": 2.5, "x2": 1.5, "colour": "red"}
        )
        update = AmlUpdateMLModelOperator(
            task_id="update",
            ml_model_id=output(train),
            ml_model_name="champion",
            score_threshold="{{ 0.25 }}",
        )
        tag = AmlAddTagsOperator(
            task_id="tag",
            resource_type="MLModel",
            resource_id=output(train),
            tags={"role": "champion", "auc": "{{ ti.xcom_pull(task_ids='evaluate')['metric_value'] }}"},
        )
        untag = AmlRemoveTagsOperator(
            task_id="untag", resource_type="MLModel", resource_id=output(train), tag_keys=["role"]
        )

        @task
        def inspect(ml_model_id: str) -> dict[str, Any]:
            hook = AmlHook()
            model = hook.get(ML_MODEL, ml_model_id)
            return {
                "tags": hook.describe_tags(ML_MODEL, ml_model_id),
                "name": model["Name"],
                "threshold": model["ScoreThreshold"],
                "endpoint": model["EndpointInfo"]["EndpointStatus"],
            }

        inspected = inspect(output(train))
        close = AmlDeleteRealtimeEndpointOperator(task_id="close", ml_model_id=output(train))
        renames = [
            AmlUpdateDataSourceOperator(
                task_id="rename_data", data_source_id=output(test_data), data_source_name="held out"
            ),
            AmlUpdateEvaluationOperator(
                task_id="rename_evaluation",
                evaluation_id="{{ ti.xcom_pull(task_ids='evaluate')['evaluation_id'] }}",
                evaluation_name="first look",
            ),
            AmlUpdateBatchPredictionOperator(
                task_id="rename_batch", batch_prediction_id=output(batch), batch_prediction_name="scores"
            ),
        ]
        deletes = [
            AmlDeleteBatchPredictionOperator(task_id="delete_batch", batch_prediction_id=output(batch)),
            AmlDeleteEvaluationOperator(
                task_id="delete_evaluation",
                evaluation_id="{{ ti.xcom_pull(task_ids='evaluate')['evaluation_id'] }}",
            ),
            AmlDeleteMLModelOperator(task_id="delete_model", ml_model_id=output(train)),
            AmlDeleteDataSourceOperator(task_id="delete_data", data_source_id=output(train_data)),
        ]
        [evaluate, batch] >> endpoint >> predict >> update >> tag >> untag >> inspected >> close
        (
            close
            >> renames[0]
            >> renames[1]
            >> renames[2]
            >> deletes[0]
            >> deletes[1]
            >> deletes[2]
            >> deletes[3]
        )
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    ml_model_id = dag_runner.xcom(dag_run, "train")
    evaluation = dag_runner.xcom(dag_run, "evaluate")
    assert evaluation["ml_model_id"] == ml_model_id
    assert evaluation["metric_name"] == "BinaryAUC"
    assert evaluation["higher_is_better"] is True
    assert 0.8 < evaluation["metric_value"] <= 1.0

    batch_prediction_id = dag_runner.xcom(dag_run, "batch")
    manifest = s3.get_object(
        Bucket=bucket, Key=f"{output_prefix}/batch-prediction/{batch_prediction_id}.manifest"
    )
    assert manifest["ContentLength"] > 0

    prediction = dag_runner.xcom(dag_run, "predict")
    assert prediction["predictedLabel"] == "1"
    assert prediction["details"]["PredictiveModelType"] == "BINARY"
    assert dag_runner.xcom(dag_run, "inspect") == {
        "tags": {"auc": str(evaluation["metric_value"])},
        "name": "champion",
        "threshold": 0.25,
        "endpoint": "READY",
    }

    hook = AmlHook()
    test_data_id = dag_runner.xcom(dag_run, "test_data")
    assert hook.get(DATA_SOURCE, test_data_id)["Name"] == "held out"
    assert hook.get(EVALUATION, evaluation["evaluation_id"])["Name"] == "first look"
    assert hook.get(BATCH_PREDICTION, batch_prediction_id)["Name"] == "scores"
    assert hook.get(ML_MODEL, ml_model_id)["EndpointInfo"]["EndpointStatus"] == "NONE"
    for kind, entity_id in [
        (BATCH_PREDICTION, batch_prediction_id),
        (EVALUATION, evaluation["evaluation_id"]),
        (ML_MODEL, ml_model_id),
        (DATA_SOURCE, dag_runner.xcom(dag_run, "train_data")),
    ]:
        assert hook.status(kind, entity_id) == "DELETED"


@MODES
def test_a_failed_model_fails_the_task_with_its_message(
    dag_runner: DagRunner, deferrable: bool, training_csv: str
) -> None:
    with dag_runner.dag() as dag:
        data = AmlCreateDataSourceFromS3Operator(
            task_id="data", data_location_s3=training_csv, data_schema=SCHEMA_WITHOUT_TARGET, **FAST
        )
        AmlCreateMLModelOperator(
            task_id="train",
            ml_model_type="BINARY",
            training_data_source_id=output(data),
            deferrable=deferrable,
            **FAST,
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"data": "success", "train": "failed"}
    models = list(
        AmlHook().describe(
            ML_MODEL, FilterVariable="TrainingDataSourceId", EQ=dag_runner.xcom(dag_run, "data")
        )
    )
    assert len(models) == 1
    assert models[0]["Status"] == "FAILED"
    assert models[0]["Message"] in dag_runner.failure_text()


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_a_training_that_failed_succeeds_on_the_retry_under_a_derived_id(
    dag_runner: DagRunner, deferrable: bool, training_csv: str, s3: Any, bucket: str
) -> None:
    """Attempt 1 fails (its recipe is not in S3 yet); the retry trains `<id>-a2`, which downstream uses."""
    recipe_key = f"airflow/{unique_id('recipe')}.json"

    def upload_the_recipe(context: Any) -> None:
        dag_runner.record_failure(context)
        s3.put_object(Bucket=bucket, Key=recipe_key, Body=json.dumps(RECIPE).encode())

    with dag_runner.dag() as dag:
        data = split("data", training_csv, 0, 100, deferrable=False)
        train = AmlCreateMLModelOperator(
            task_id="train",
            ml_model_type="BINARY",
            training_data_source_id=output(data),
            recipe_uri=f"s3://{bucket}/{recipe_key}",
            retries=1,
            retry_delay=dt.timedelta(0),
            on_retry_callback=upload_the_recipe,
            deferrable=deferrable,
            **FAST,
        )
        AmlCreateEvaluationOperator(
            task_id="evaluate", ml_model_id=output(train), evaluation_data_source_id=output(data), **FAST
        )
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert states == {"data": "success", "train": "success", "evaluate": "success"}, dag_runner.failure_text()
    hook = AmlHook()
    ml_model_id = dag_runner.xcom(dag_run, "train")
    first_id = ml_model_id.removesuffix("-a2")
    assert ml_model_id == f"{first_id}-a2"
    first = hook.get(ML_MODEL, first_id)
    assert first["Status"] == "FAILED"
    assert first["Message"] in dag_runner.failure_text()
    assert hook.get(ML_MODEL, ml_model_id)["Status"] == "COMPLETED"
    assert dag_runner.xcom(dag_run, "evaluate")["ml_model_id"] == ml_model_id


def test_clearing_a_failed_task_trains_anew(
    dag_runner: DagRunner, training_csv: str, s3: Any, bucket: str
) -> None:
    """A run whose training failed, cleared (run again with the same run id) once the cause is fixed."""
    recipe_key = f"airflow/{unique_id('recipe')}.json"
    with dag_runner.dag() as dag:
        data = split("data", training_csv, 0, 100, deferrable=False)
        AmlCreateMLModelOperator(
            task_id="train",
            ml_model_type="BINARY",
            training_data_source_id=output(data),
            recipe_uri=f"s3://{bucket}/{recipe_key}",
            **FAST,
        )
    run_after = dt.datetime.now(dt.UTC)
    assert dag_runner.states(dag_runner.run(dag, run_after)) == {"data": "success", "train": "failed"}
    s3.put_object(Bucket=bucket, Key=recipe_key, Body=json.dumps(RECIPE).encode())
    dag_run = dag_runner.run(dag, run_after)

    assert dag_runner.states(dag_run) == {"data": "success", "train": "success"}, dag_runner.failure_text()
    ml_model_id = dag_runner.xcom(dag_run, "train")
    assert ml_model_id.endswith("-a2")
    assert AmlHook().get(ML_MODEL, ml_model_id)["Status"] == "COMPLETED"
