"""Every deferrable create operator and sensor really defers, and resumes when its trigger fires.

A service of this module delays every job by a fault plan (and mounts endpoints slowly), so each entity is
still running when its task looks at it. `dag.test()` runs a deferred task's trigger inline: the proof of a
deferral is the trigger row the API server wrote when the task instance went to `deferred` (its class and
entity), the inline trigger run logged between the task's start and end, and the task's success and result
after it resumed in `execute_complete`. A task that waited synchronously leaves no trigger row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aml_provider.local import LocalAml
from aml_provider.operators import (
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromRDSOperator,
    AmlCreateDataSourceFromRedshiftOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
    AmlCreateRealtimeEndpointOperator,
)
from aml_provider.pipelines.common import output
from aml_provider.sensors import (
    AmlBatchPredictionCompletedSensor,
    AmlDataSourceCompletedSensor,
    AmlEvaluationCompletedSensor,
    AmlMLModelCompletedSensor,
    AmlRealtimeEndpointReadySensor,
)
from tests.airflow.data import SCHEMA, trained_models
from tests.airflow.runner import DagRunner
from tests.airflow.test_database_operators import MYSQL_URL, POSTGRES_URL, load_table
from tests.helpers import unique_id, wait_for

CONNECTION = "aml_deferral"
#: Seconds every job waits before it runs: longer than a task takes to start after the one before it.
DELAY = 5
FAST: dict[str, Any] = {"waiter_delay": 0.5, "waiter_max_attempts": 120, "aws_conn_id": CONNECTION}
SENSING: dict[str, Any] = {"poke_interval": 0.5, "timeout": 120, "aws_conn_id": CONNECTION}
KINDS = ("DataSource", "MLModel", "Evaluation", "BatchPrediction")
DAG_TEST_LOGGER = "airflow.sdk.definitions.dag"


@pytest.fixture(scope="module")
def service(aml: LocalAml, aws_connection: str) -> Iterator[LocalAml]:
    """A service on the session's S3 whose endpoints take a while to mount; the connection CONNECTION."""
    with LocalAml(
        s3_endpoint_url=aml.s3_endpoint_url,
        endpoint_mount_seconds=DELAY,
        redshift_servers={"*": POSTGRES_URL},
        rds_servers={"*": MYSQL_URL},
    ) as deferral_service:
        os.environ[f"AIRFLOW_CONN_{CONNECTION.upper()}"] = json.dumps(deferral_service.airflow_connection)
        yield deferral_service
        os.environ.pop(f"AIRFLOW_CONN_{CONNECTION.upper()}", None)


@pytest.fixture(scope="module")
def trained(service: LocalAml, training_csv: str) -> dict[str, str]:
    """A COMPLETED datasource and two COMPLETED models, made before any delay is planned."""
    data_source_id, models = trained_models(service.client(), training_csv, 2, "deferral")
    return {"data_source": data_source_id, "model": models[0], "endpoint_model": models[1]}


@pytest.fixture
def delayed(service: LocalAml) -> Iterator[LocalAml]:
    """Every job started while the test runs waits DELAY seconds in INPROGRESS first."""
    service.set_faults({"delayJobs": [{"kind": kind, "seconds": DELAY} for kind in KINDS]})
    yield service
    service.set_faults({})


def assert_deferred_and_resumed(
    dag_runner: DagRunner, dag_run: Any, task: Any, entity_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The task deferred with its trigger for `entity_id`, the trigger ran inline, the task then succeeded."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    instance = next(ti for ti in dag_run.get_task_instances() if ti.task_id == task.task_id)
    assert instance.trigger_id is not None, f"{task.task_id} never deferred"
    with create_session() as session:
        trigger = session.get(Trigger, instance.trigger_id)
        assert trigger is not None
        classpath, kwargs = trigger.classpath, trigger.kwargs
    assert classpath == f"{task.trigger_class.__module__}.{task.trigger_class.__name__}"
    assert task.trigger_class.entity_id_of(kwargs) == entity_id
    assert inline_trigger_runs(caplog, task.task_id) == 1


def created_id(dag_runner: DagRunner, dag_run: Any, create: Any) -> str:
    """The ID of the entity a create task made: its result, or the result's ID (an evaluation's metrics)."""
    result = dag_runner.xcom(dag_run, create.task_id)
    return result if isinstance(result, str) else str(result[create.kind.id_param])


def inline_trigger_runs(caplog: pytest.LogCaptureFixture, task_id: str) -> int:
    """How many triggers `dag.test()` ran for the task, counted in its log between the task's start and end."""
    messages = [record.getMessage() for record in caplog.records if record.name == DAG_TEST_LOGGER]
    start = messages.index(f"[DAG TEST] starting task_id={task_id} map_index=-1")
    end = messages.index(f"[DAG TEST] end task task_id={task_id} map_index=-1", start)
    return messages[start:end].count("[DAG TEST] Trigger completed")


def database_arguments(bucket: str, template: str) -> dict[str, Any]:
    return {
        "database_name": "test",
        "select_sql_query": f"SELECT x1, x2, colour, label FROM {load_table(template)}",
        "s3_staging_location": f"s3://{bucket}/airflow/{unique_id('staging')}/",
        "role_arn": "arn:aws:iam::123456789012:role/aml",
        "db_conn_id": "aml_deferral_db_login",
        "data_schema": {**SCHEMA, "dataFileContainsHeader": False},
    }


@pytest.fixture
def database_login() -> Iterator[None]:
    os.environ["AIRFLOW_CONN_AML_DEFERRAL_DB_LOGIN"] = json.dumps(
        {"conn_type": "generic", "login": "postgres", "password": "database-password-1"}
    )
    yield
    os.environ.pop("AIRFLOW_CONN_AML_DEFERRAL_DB_LOGIN", None)


#: name -> a create operator (task "create") of that kind, from (trained entities, training CSV, bucket,
#: how it waits).
CREATE_OPERATORS: dict[str, Callable[..., Any]] = {
    "datasource_from_s3": lambda trained, csv, bucket, **waiting: AmlCreateDataSourceFromS3Operator(
        task_id="create", data_location_s3=csv, data_schema=SCHEMA, **waiting, **FAST
    ),
    "datasource_from_redshift": lambda trained, csv, bucket, **waiting: (
        AmlCreateDataSourceFromRedshiftOperator(
            task_id="create",
            cluster_identifier="warehouse",
            **waiting,
            **database_arguments(bucket, POSTGRES_URL),
            **FAST,
        )
    ),
    "datasource_from_rds": lambda trained, csv, bucket, **waiting: AmlCreateDataSourceFromRDSOperator(
        task_id="create",
        instance_identifier="orders-db",
        resource_role="DataPipelineDefaultResourceRole",
        service_role="DataPipelineDefaultRole",
        subnet_id="subnet-0123",
        security_group_ids=["sg-0123"],
        **waiting,
        **database_arguments(bucket, MYSQL_URL),
        **FAST,
    ),
    "ml_model": lambda trained, csv, bucket, **waiting: AmlCreateMLModelOperator(
        task_id="create",
        ml_model_type="BINARY",
        training_data_source_id=trained["data_source"],
        **waiting,
        **FAST,
    ),
    "evaluation": lambda trained, csv, bucket, **waiting: AmlCreateEvaluationOperator(
        task_id="create",
        ml_model_id=trained["model"],
        evaluation_data_source_id=trained["data_source"],
        **waiting,
        **FAST,
    ),
    "batch_prediction": lambda trained, csv, bucket, **waiting: AmlCreateBatchPredictionOperator(
        task_id="create",
        ml_model_id=trained["model"],
        batch_prediction_data_source_id=trained["data_source"],
        output_uri=f"s3://{bucket}/airflow/{unique_id('deferred-batch')}/",
        **waiting,
        **FAST,
    ),
}


@pytest.mark.parametrize("name", CREATE_OPERATORS)
def test_create_operators_defer_while_the_entity_runs(
    name: str,
    dag_runner: DagRunner,
    delayed: LocalAml,
    trained: dict[str, str],
    training_csv: str,
    bucket: str,
    database_login: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger=DAG_TEST_LOGGER)
    with dag_runner.dag() as dag:
        create = CREATE_OPERATORS[name](trained, training_csv, bucket, deferrable=True)
    dag_run = dag_runner.run(dag)

    entity_id = created_id(dag_runner, dag_run, create)
    assert_deferred_and_resumed(dag_runner, dag_run, create, entity_id, caplog)
    assert wait_for(delayed.client(), create.kind.name, entity_id, timeout=1)["Status"] == "COMPLETED"


def test_the_endpoint_operator_defers_while_the_endpoint_mounts(
    dag_runner: DagRunner, service: LocalAml, trained: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=DAG_TEST_LOGGER)
    model_id = trained["model"]
    with dag_runner.dag() as dag:
        endpoint = AmlCreateRealtimeEndpointOperator(
            task_id="endpoint", ml_model_id=model_id, deferrable=True, **FAST
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.xcom(dag_run, "endpoint") == model_id
    assert_deferred_and_resumed(dag_runner, dag_run, endpoint, model_id, caplog)
    info = service.client().get_ml_model(MLModelId=model_id)["EndpointInfo"]
    assert info["EndpointStatus"] == "READY"


def entity_sensor(kind: str, upstream: Any) -> Any:
    sensors: dict[str, tuple[type[Any], str]] = {
        "DataSource": (AmlDataSourceCompletedSensor, "data_source_id"),
        "MLModel": (AmlMLModelCompletedSensor, "ml_model_id"),
        "Evaluation": (AmlEvaluationCompletedSensor, "evaluation_id"),
        "BatchPrediction": (AmlBatchPredictionCompletedSensor, "batch_prediction_id"),
    }
    sensor_class, id_argument = sensors[kind]
    return sensor_class(task_id="sense", deferrable=True, **{id_argument: output(upstream)}, **SENSING)


#: kind -> the create operator whose entity the sensor of that kind waits for.
STARTERS = {
    "DataSource": "datasource_from_s3",
    "MLModel": "ml_model",
    "Evaluation": "evaluation",
    "BatchPrediction": "batch_prediction",
}


@pytest.mark.parametrize("kind", KINDS)
def test_sensors_defer_while_the_entity_runs(
    kind: str,
    dag_runner: DagRunner,
    delayed: LocalAml,
    trained: dict[str, str],
    training_csv: str,
    bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger=DAG_TEST_LOGGER)
    with dag_runner.dag() as dag:
        start = CREATE_OPERATORS[STARTERS[kind]](trained, training_csv, bucket, wait_for_completion=False)
        sensor = entity_sensor(kind, start)
    dag_run = dag_runner.run(dag)

    entity_id = created_id(dag_runner, dag_run, start)
    assert_deferred_and_resumed(dag_runner, dag_run, sensor, entity_id, caplog)
    assert inline_trigger_runs(caplog, "create") == 0  # the entity was started, not waited for, upstream
    assert wait_for(delayed.client(), kind, entity_id, timeout=1)["Status"] == "COMPLETED"


def test_the_endpoint_sensor_defers_while_the_endpoint_mounts(
    dag_runner: DagRunner, service: LocalAml, trained: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=DAG_TEST_LOGGER)
    model_id = trained["endpoint_model"]
    with dag_runner.dag() as dag:
        mount = AmlCreateRealtimeEndpointOperator(
            task_id="mount", ml_model_id=model_id, wait_for_completion=False, **FAST
        )
        sensor = AmlRealtimeEndpointReadySensor(
            task_id="sense", ml_model_id=output(mount), deferrable=True, **SENSING
        )
    dag_run = dag_runner.run(dag)

    assert_deferred_and_resumed(dag_runner, dag_run, sensor, model_id, caplog)
    info = service.client().get_ml_model(MLModelId=model_id)["EndpointInfo"]
    assert info["EndpointStatus"] == "READY"
