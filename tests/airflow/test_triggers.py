"""Triggers: exact serialize round trip (as the triggerer stores them) and real waits on the local service."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlError, AmlHook
from aml_provider.triggers import (
    AmlBatchPredictionCompletedTrigger,
    AmlDataSourceCompletedTrigger,
    AmlEvaluationCompletedTrigger,
    AmlMLModelCompletedTrigger,
    AmlRealtimeEndpointDeletedTrigger,
    AmlRealtimeEndpointReadyTrigger,
)
from tests.airflow.data import SCHEMA
from tests.helpers import unique_id

TRIGGERS: list[tuple[type[Any], str]] = [
    (AmlDataSourceCompletedTrigger, "data_source_id"),
    (AmlMLModelCompletedTrigger, "ml_model_id"),
    (AmlEvaluationCompletedTrigger, "evaluation_id"),
    (AmlBatchPredictionCompletedTrigger, "batch_prediction_id"),
    (AmlRealtimeEndpointReadyTrigger, "ml_model_id"),
    (AmlRealtimeEndpointDeletedTrigger, "ml_model_id"),
]
HOOK_ARGUMENTS: dict[str, Any] = {
    "aws_conn_id": "aml_conn",
    "region_name": "eu-west-1",
    "verify": False,
    "botocore_config": {"retries": {"mode": "standard", "max_attempts": 2}},
}


@pytest.mark.parametrize(("trigger_class", "id_argument"), TRIGGERS)
def test_serialize_round_trips_through_the_trigger_table(trigger_class: type, id_argument: str) -> None:
    from airflow.models.trigger import Trigger

    trigger = trigger_class(
        **{id_argument: "entity-1"}, waiter_delay=2, waiter_max_attempts=7, **HOOK_ARGUMENTS
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == f"aml_provider.triggers.aml.{trigger_class.__name__}"
    assert kwargs == {id_argument: "entity-1", "waiter_delay": 2, "waiter_max_attempts": 7, **HOOK_ARGUMENTS}
    stored = Trigger.from_object(trigger)
    rebuilt = trigger_class(**stored.kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    hook = rebuilt.hook()
    assert isinstance(hook, AmlHook)
    assert (hook.aws_conn_id, hook.region_name, hook.verify) == ("aml_conn", "eu-west-1", False)
    assert hook.config.retries == HOOK_ARGUMENTS["botocore_config"]["retries"]  # type: ignore[attr-defined]


def test_unset_hook_arguments_are_not_serialized() -> None:
    _, kwargs = AmlMLModelCompletedTrigger(ml_model_id="m").serialize()
    assert set(kwargs) == {"ml_model_id", "waiter_delay", "waiter_max_attempts", "aws_conn_id"}


def first_event(trigger: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(run())


def test_trigger_waits_for_a_data_source_to_complete(aws_connection: str, training_csv: str) -> None:
    data_source_id = AmlHook().create_data_source_from_s3(
        unique_id("ds"), data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    trigger = AmlDataSourceCompletedTrigger(
        data_source_id=data_source_id, waiter_delay=0.2, waiter_max_attempts=100
    )
    assert first_event(trigger) == {"status": "success", "data_source_id": data_source_id}


def test_trigger_reports_a_failed_data_source(aws_connection: str, bucket: str) -> None:
    hook = AmlHook()
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds"),
        data_location_s3=f"s3://{bucket}/absent.csv",
        data_schema=json.dumps(SCHEMA),
    )
    event = first_event(
        AmlDataSourceCompletedTrigger(
            data_source_id=data_source_id, waiter_delay=0.2, waiter_max_attempts=100
        )
    )
    entity = hook.get(DATA_SOURCE, data_source_id)
    assert event["status"] == "error"
    assert event["data_source_id"] == data_source_id
    assert entity["Message"] in event["message"]
    assert entity["LogUri"] in event["message"]


def test_trigger_gives_up_after_its_attempts(aws_connection: str, training_csv: str) -> None:
    """A model without an endpoint never becomes READY: the trigger stops after its attempts."""
    hook = AmlHook()
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds"), data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    ml_model_id = hook.create_ml_model(
        unique_id("ml"), ml_model_type="BINARY", training_data_source_id=data_source_id
    )
    event = first_event(
        AmlRealtimeEndpointReadyTrigger(ml_model_id=ml_model_id, waiter_delay=0.1, waiter_max_attempts=3)
    )
    assert event == {
        "status": "error",
        "message": "Waiter error: max attempts reached",
        "ml_model_id": ml_model_id,
    }
    hook.wait_for_completion(ML_MODEL, ml_model_id, waiter_delay=0.2, waiter_max_attempts=300)


def test_endpoint_deleted_waits_until_the_endpoint_is_gone(aws_connection: str, training_csv: str) -> None:
    hook = AmlHook()
    data_source_id = hook.create_data_source_from_s3(
        unique_id("ds"), data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    ml_model_id = hook.create_ml_model(
        unique_id("ml"), ml_model_type="BINARY", training_data_source_id=data_source_id
    )
    hook.wait_for_completion(ML_MODEL, ml_model_id, waiter_delay=0.2, waiter_max_attempts=300)
    hook.create_realtime_endpoint(ml_model_id)
    hook.wait_for_endpoint(ml_model_id, waiter_delay=0.1, waiter_max_attempts=100)

    def deleted() -> AmlRealtimeEndpointDeletedTrigger:
        return AmlRealtimeEndpointDeletedTrigger(
            ml_model_id=ml_model_id, waiter_delay=0.1, waiter_max_attempts=3
        )

    assert first_event(deleted())["status"] == "error"  # still READY
    with pytest.raises(AmlError, match="did not finish within 3 checks"):
        hook.wait_for_endpoint(ml_model_id, status="NONE", waiter_delay=0.1, waiter_max_attempts=3)
    hook.delete_realtime_endpoint(ml_model_id)
    assert first_event(deleted()) == {"status": "success", "ml_model_id": ml_model_id}
    hook.wait_for_endpoint(ml_model_id, status="NONE", waiter_delay=0.1, waiter_max_attempts=3)
