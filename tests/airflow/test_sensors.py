"""Sensors and the real-time endpoint operator in real DAGs, poking and deferred."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlHook
from aml_provider.local import LocalAml
from aml_provider.operators import (
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
    AmlCreateRealtimeEndpointOperator,
    AmlDeleteRealtimeEndpointOperator,
    AmlPredictOperator,
)
from aml_provider.pipelines.common import output
from aml_provider.sensors import (
    AmlBatchPredictionCompletedSensor,
    AmlDataSourceCompletedSensor,
    AmlEvaluationCompletedSensor,
    AmlMLModelCompletedSensor,
    AmlRealtimeEndpointReadySensor,
)
from tests.airflow.data import SCHEMA
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

MODES = pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
NO_WAIT: dict[str, Any] = {"wait_for_completion": False}
SENSING: dict[str, Any] = {"poke_interval": 0.5, "timeout": 120}


@MODES
def test_sensors_wait_for_each_kind_of_entity(
    dag_runner: DagRunner, deferrable: bool, training_csv: str, bucket: str
) -> None:
    with dag_runner.dag() as dag:
        data = AmlCreateDataSourceFromS3Operator(
            task_id="data", data_location_s3=training_csv, data_schema=SCHEMA, **NO_WAIT
        )
        model = AmlCreateMLModelOperator(
            task_id="model", ml_model_type="BINARY", training_data_source_id=output(data), **NO_WAIT
        )
        evaluation = AmlCreateEvaluationOperator(
            task_id="evaluation", ml_model_id=output(model), evaluation_data_source_id=output(data), **NO_WAIT
        )
        batch = AmlCreateBatchPredictionOperator(
            task_id="batch",
            ml_model_id=output(model),
            batch_prediction_data_source_id=output(data),
            output_uri=f"s3://{bucket}/airflow/{unique_id('sensed')}/",
            **NO_WAIT,
        )
        sensors = [
            AmlDataSourceCompletedSensor(
                task_id="data_done", data_source_id=output(data), deferrable=deferrable, **SENSING
            ),
            AmlMLModelCompletedSensor(
                task_id="model_done", ml_model_id=output(model), deferrable=deferrable, **SENSING
            ),
            AmlEvaluationCompletedSensor(
                task_id="evaluation_done", evaluation_id=output(evaluation), deferrable=deferrable, **SENSING
            ),
            AmlBatchPredictionCompletedSensor(
                task_id="batch_done", batch_prediction_id=output(batch), deferrable=deferrable, **SENSING
            ),
        ]
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    hook = AmlHook()
    for sensor in sensors:
        entity_id = dag_runner.xcom(dag_run, sensor.task_id.removesuffix("_done"))
        assert hook.status(sensor.kind, entity_id) == "COMPLETED"


@MODES
def test_a_sensor_fails_with_the_entity_message(dag_runner: DagRunner, deferrable: bool, bucket: str) -> None:
    with dag_runner.dag() as dag:
        data = AmlCreateDataSourceFromS3Operator(
            task_id="data", data_location_s3=f"s3://{bucket}/no/such.csv", data_schema=SCHEMA, **NO_WAIT
        )
        AmlDataSourceCompletedSensor(
            task_id="data_done", data_source_id=output(data), deferrable=deferrable, **SENSING
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"data": "success", "data_done": "failed"}
    entity = AmlHook().get(DATA_SOURCE, dag_runner.xcom(dag_run, "data"))
    assert entity["Message"] in dag_runner.failure_text()


@MODES
def test_a_sensor_fails_on_a_deleted_entity(
    dag_runner: DagRunner, deferrable: bool, training_csv: str
) -> None:
    hook = AmlHook()
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds-deleted"), data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    hook.wait_for_completion(DATA_SOURCE, data_source_id, waiter_delay=0.2, waiter_max_attempts=300)
    hook.delete(DATA_SOURCE, data_source_id)
    with dag_runner.dag() as dag:
        AmlDataSourceCompletedSensor(
            task_id="data_done", data_source_id=data_source_id, deferrable=deferrable, **SENSING
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"data_done": "failed"}
    assert f"Amazon ML data source {data_source_id} ended DELETED" in dag_runner.failure_text()


@pytest.fixture(scope="module")
def slow_endpoints(aml: LocalAml, aws_connection: str) -> Iterator[str]:
    """A second service sharing the S3, whose endpoints take 1.5 s to become READY; its connection id."""
    with LocalAml(s3_endpoint_url=aml.s3_endpoint_url, endpoint_mount_seconds=1.5) as service:
        connection = {
            "conn_type": "aws",
            "login": service.access_key_id,
            "password": service.secret_access_key,
            "extra": {"region_name": "us-east-1", "endpoint_url": service.endpoint_url},
        }
        os.environ["AIRFLOW_CONN_AML_SLOW"] = json.dumps(connection)
        yield "aml_slow"
        os.environ.pop("AIRFLOW_CONN_AML_SLOW", None)


def trained_model(conn_id: str, training_csv: str) -> str:
    hook = AmlHook(aws_conn_id=conn_id)
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds"), data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    ml_model_id = hook.create_ml_model(
        unique_id("ml"), ml_model_type="BINARY", training_data_source_id=data_source_id
    )
    hook.wait_for_completion(ML_MODEL, ml_model_id, waiter_delay=0.2, waiter_max_attempts=300)
    return ml_model_id


@MODES
def test_endpoints_become_ready_before_predictions(
    dag_runner: DagRunner, deferrable: bool, slow_endpoints: str, training_csv: str
) -> None:
    waited, sensed = trained_model(slow_endpoints, training_csv), trained_model(slow_endpoints, training_csv)
    common: dict[str, Any] = {"aws_conn_id": slow_endpoints, "deferrable": deferrable}
    with dag_runner.dag() as dag:
        open_waiting = AmlCreateRealtimeEndpointOperator(
            task_id="open_waiting", ml_model_id=waited, waiter_delay=0.5, **common
        )
        open_only = AmlCreateRealtimeEndpointOperator(
            task_id="open_only", ml_model_id=sensed, **NO_WAIT, **common
        )
        ready = AmlRealtimeEndpointReadySensor(task_id="ready", ml_model_id=sensed, **SENSING, **common)
        record = {"x1": "-2", "x2": "-1", "colour": "blue"}
        open_waiting >> AmlPredictOperator(
            task_id="predict_waited", ml_model_id=waited, record=record, aws_conn_id=slow_endpoints
        )
        (
            open_only
            >> ready
            >> AmlPredictOperator(
                task_id="predict_sensed", ml_model_id=sensed, record=record, aws_conn_id=slow_endpoints
            )
        )
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    assert dag_runner.xcom(dag_run, "open_waiting") == waited
    for task_id in ("predict_waited", "predict_sensed"):
        assert dag_runner.xcom(dag_run, task_id)["predictedLabel"] == "0"


@MODES
def test_deleting_an_endpoint_waits_until_it_is_gone(
    dag_runner: DagRunner, deferrable: bool, slow_endpoints: str, training_csv: str
) -> None:
    ml_model_id = trained_model(slow_endpoints, training_csv)
    common: dict[str, Any] = {"aws_conn_id": slow_endpoints, "deferrable": deferrable, "waiter_delay": 0.3}
    with dag_runner.dag() as dag:
        (
            AmlCreateRealtimeEndpointOperator(task_id="open", ml_model_id=ml_model_id, **common)
            >> AmlDeleteRealtimeEndpointOperator(task_id="close", ml_model_id=ml_model_id, **common)
        )
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    assert dag_runner.xcom(dag_run, "close") == ml_model_id
    model = AmlHook(aws_conn_id=slow_endpoints).get(ML_MODEL, ml_model_id)
    assert model["EndpointInfo"]["EndpointStatus"] == "NONE"
