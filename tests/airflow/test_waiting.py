"""Waits (hook, trigger, sensor) poll on while the service restarts or answers throttling and 5xx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlError, AmlHook
from aml_provider.sensors import AmlDataSourceCompletedSensor
from aml_provider.triggers import AmlDataSourceCompletedTrigger, AmlRealtimeEndpointReadyTrigger
from tests.airflow.data import SCHEMA
from tests.airflow.outages import FlakyProxy, RestartableService, connection
from tests.airflow.runner import DagRunner
from tests.airflow.test_triggers import first_event
from tests.helpers import unique_id

UNREACHABLE = "cannot reach the service"


@pytest.fixture(scope="module")
def restarting(aml: Any, aws_connection: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    service = RestartableService(Path(tmp_path_factory.mktemp("restarting")), aml.s3_endpoint_url)
    yield service
    service.close()


@pytest.fixture(scope="module")
def flaky(aml: Any, aws_connection: str) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(aml.endpoint_url)
    proxy.conn_id = connection("aml_flaky", proxy.url, aml.access_key_id, aml.secret_access_key)
    yield proxy
    proxy.close()


def completed_data_source(conn_id: str, location: str) -> str:
    """A data source, COMPLETED (so that a restart does not cut its job off)."""
    hook = AmlHook(aws_conn_id=conn_id)
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds"), data_location_s3=location, data_schema=json.dumps(SCHEMA)
    )
    hook.wait_for_completion(DATA_SOURCE, data_source_id, waiter_delay=0.2, waiter_max_attempts=100)
    return data_source_id


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_a_wait_polls_on_while_the_service_restarts(
    restarting: RestartableService, training_csv: str, caplog: pytest.LogCaptureFixture
) -> None:
    data_source_id = completed_data_source(restarting.conn_id, training_csv)
    hook = AmlHook(aws_conn_id=restarting.conn_id)
    with restarting.down_for(2):
        entity = hook.wait_for_completion(
            DATA_SOURCE, data_source_id, waiter_delay=0.3, waiter_max_attempts=60
        )
    assert entity["Status"] == "COMPLETED"
    assert warnings(caplog, UNREACHABLE)


def test_a_deferred_wait_polls_on_while_the_service_restarts(
    restarting: RestartableService, training_csv: str, caplog: pytest.LogCaptureFixture
) -> None:
    data_source_id = completed_data_source(restarting.conn_id, training_csv)
    trigger = AmlDataSourceCompletedTrigger(
        data_source_id=data_source_id,
        waiter_delay=0.3,
        waiter_max_attempts=60,
        aws_conn_id=restarting.conn_id,
    )
    with restarting.down_for(2):
        event = first_event(trigger)
    assert event == {"status": "success", "data_source_id": data_source_id}
    assert warnings(caplog, UNREACHABLE)


def test_a_sensor_pokes_on_while_the_service_restarts(
    dag_runner: DagRunner, restarting: RestartableService, training_csv: str
) -> None:
    data_source_id = completed_data_source(restarting.conn_id, training_csv)
    with dag_runner.dag() as dag:
        AmlDataSourceCompletedSensor(
            task_id="sense",
            data_source_id=data_source_id,
            aws_conn_id=restarting.conn_id,
            poke_interval=0.3,
            timeout=60,
            pre_execute=lambda context: restarting.begin_outage(3),  # down from the sensor's start
        )
    dag_run = dag_runner.run(dag)
    restarting.restart.join()
    assert dag_runner.states(dag_run) == {"sense": "success"}, dag_runner.failure_text()


ERRORS = pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServerException"), (400, "ThrottlingException")],
    ids=["5xx", "throttled"],
)


@ERRORS
def test_a_wait_polls_on_through_errors_worth_retrying(
    flaky: FlakyProxy, training_csv: str, caplog: pytest.LogCaptureFixture, status: int, code: str
) -> None:
    data_source_id = completed_data_source("aws_default", training_csv)
    flaky.fail(3, status, code)
    entity = AmlHook(aws_conn_id=flaky.conn_id).wait_for_completion(
        DATA_SOURCE, data_source_id, waiter_delay=0.1, waiter_max_attempts=10
    )
    assert entity["Status"] == "COMPLETED"
    assert flaky.answered == [code] * 3
    assert len(warnings(caplog, f"answered {code}")) == 3


@ERRORS
def test_a_deferred_wait_polls_on_through_errors_worth_retrying(
    flaky: FlakyProxy, training_csv: str, status: int, code: str
) -> None:
    data_source_id = completed_data_source("aws_default", training_csv)
    flaky.fail(3, status, code)
    trigger = AmlDataSourceCompletedTrigger(
        data_source_id=data_source_id, waiter_delay=0.1, waiter_max_attempts=10, aws_conn_id=flaky.conn_id
    )
    assert first_event(trigger) == {"status": "success", "data_source_id": data_source_id}
    assert flaky.answered == [code] * 3


@ERRORS
def test_errors_worth_retrying_count_against_the_attempts(
    flaky: FlakyProxy, training_csv: str, status: int, code: str
) -> None:
    """Retries stay within waiter_max_attempts: a service that keeps failing ends the wait."""
    data_source_id = completed_data_source("aws_default", training_csv)
    flaky.fail(50, status, code)
    with pytest.raises(AmlError, match="did not finish within 3 checks"):
        AmlHook(aws_conn_id=flaky.conn_id).wait_for_completion(
            DATA_SOURCE, data_source_id, waiter_delay=0.05, waiter_max_attempts=3
        )
    assert flaky.answered == [code] * 3


def test_a_client_error_fails_the_wait_at_once(flaky: FlakyProxy, training_csv: str) -> None:
    data_source_id = completed_data_source("aws_default", training_csv)
    flaky.fail(5, 400, "AccessDeniedException")
    with pytest.raises(AirflowException, match="AccessDeniedException"):
        AmlHook(aws_conn_id=flaky.conn_id).wait_for_completion(
            DATA_SOURCE, data_source_id, waiter_delay=0.05, waiter_max_attempts=10
        )
    assert flaky.answered == ["AccessDeniedException"]
    assert flaky.forwarded == 0


def test_a_sensor_pokes_on_through_errors_worth_retrying(
    dag_runner: DagRunner, flaky: FlakyProxy, training_csv: str
) -> None:
    data_source_id = completed_data_source("aws_default", training_csv)
    flaky.fail(2, 500, "InternalServerException")
    with dag_runner.dag() as dag:
        AmlDataSourceCompletedSensor(
            task_id="sense", data_source_id=data_source_id, aws_conn_id=flaky.conn_id, poke_interval=0.1
        )
    dag_run = dag_runner.run(dag)
    assert dag_runner.states(dag_run) == {"sense": "success"}, dag_runner.failure_text()
    assert flaky.answered == ["InternalServerException"] * 2


def test_a_deferred_wait_resumes_after_a_triggerer_restart(aws_connection: str, training_csv: str) -> None:
    """The triggerer dies mid-wait; a new one rebuilds the trigger from its stored row and finishes it."""
    from airflow.models.trigger import Trigger

    hook = AmlHook()
    data_source_id = completed_data_source(aws_connection, training_csv)
    ml_model_id = hook.create_ml_model(
        unique_id("ml"), ml_model_type="BINARY", training_data_source_id=data_source_id
    )
    hook.wait_for_completion(ML_MODEL, ml_model_id, waiter_delay=0.2, waiter_max_attempts=300)
    stored = Trigger.from_object(
        AmlRealtimeEndpointReadyTrigger(ml_model_id=ml_model_id, waiter_delay=0.2, waiter_max_attempts=100)
    )

    async def killed_after(seconds: float) -> None:
        trigger = AmlRealtimeEndpointReadyTrigger(**stored.kwargs)
        with pytest.raises(TimeoutError):  # no endpoint yet: still waiting when the triggerer dies
            await asyncio.wait_for(anext(aiter(trigger.run())), seconds)

    asyncio.run(killed_after(1))
    hook.create_realtime_endpoint(ml_model_id)
    assert first_event(AmlRealtimeEndpointReadyTrigger(**stored.kwargs)) == {
        "status": "success",
        "ml_model_id": ml_model_id,
    }
