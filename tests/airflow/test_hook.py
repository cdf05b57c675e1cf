"""AmlHook against the local service over HTTP: waiters, reattaching creates, listing, tags, failures."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.waiter import WaiterModel

import aml_provider
from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlError, AmlHook, entity_kind
from tests.airflow.data import SCHEMA
from tests.helpers import unique_id

CUSTOM_WAITERS = {
    "data_source_completed",
    "ml_model_completed",
    "evaluation_completed",
    "batch_prediction_completed",
    "realtime_endpoint_ready",
    "realtime_endpoint_deleted",
}


@pytest.fixture
def hook(aws_connection: str) -> AmlHook:
    return AmlHook(aws_conn_id=aws_connection)


def create_data_source(hook: AmlHook, location: str, name: str | None = None) -> str:
    return hook.create_data_source_from_s3(
        unique_id("ds"), data_location_s3=location, data_schema=json.dumps(SCHEMA), data_source_name=name
    )


def test_custom_waiters_ship_inside_the_package(hook: AmlHook) -> None:
    path = Path(hook.waiter_path)
    assert path.parent.parent == Path(aml_provider.__file__).parent
    model = WaiterModel(json.loads(path.read_text()))
    assert set(model.waiter_names) == CUSTOM_WAITERS
    assert set(hook.list_waiters()) >= CUSTOM_WAITERS


def test_connection_selects_the_local_service(
    hook: AmlHook, aml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hook.local_service_url == aml.endpoint_url
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_CLOUD", json.dumps({"conn_type": "aws", "extra": {"region_name": "us-east-1"}})
    )
    assert AmlHook(aws_conn_id="aws_cloud").local_service_url is None


def test_create_reattaches_to_the_entity_with_the_same_id(hook: AmlHook, training_csv: str) -> None:
    data_source_id = create_data_source(hook, training_csv)
    again = hook.create_data_source_from_s3(
        data_source_id, data_location_s3=training_csv, data_schema=json.dumps(SCHEMA)
    )
    assert again == data_source_id
    assert (
        hook.wait_for_completion(DATA_SOURCE, data_source_id, waiter_delay=0.2, waiter_max_attempts=100)[
            "Status"
        ]
        == "COMPLETED"
    )


def test_same_id_with_other_parameters_is_refused(hook: AmlHook, training_csv: str, bucket: str) -> None:
    data_source_id = create_data_source(hook, training_csv)
    with pytest.raises(AmlError, match="same ID .* but different parameters"):
        hook.create_data_source_from_s3(
            data_source_id, data_location_s3=f"s3://{bucket}/other.csv", data_schema=json.dumps(SCHEMA)
        )


def test_concurrent_creates_with_other_parameters_leave_one_entity(
    hook: AmlHook, training_csv: str, bucket: str
) -> None:
    """Whether the loser sees the entity or the service's IdempotentParameterMismatch, it gets one error."""
    data_source_id = unique_id("ds")
    outcomes: list[Any] = []

    def create(location: str) -> None:
        try:
            outcomes.append(
                AmlHook(aws_conn_id="aws_default").create_data_source_from_s3(
                    data_source_id, data_location_s3=location, data_schema=json.dumps(SCHEMA)
                )
            )
        except AmlError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=create, args=(uri,)) for uri in (training_csv, f"s3://{bucket}/x.csv")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [outcome for outcome in outcomes if isinstance(outcome, AmlError)]
    assert outcomes.count(data_source_id) == 1
    assert len(errors) == 1
    assert "same ID" in str(errors[0])


def test_describe_reads_every_page(hook: AmlHook, training_csv: str) -> None:
    name = unique_id("paged")
    created = {create_data_source(hook, training_csv, name=f"{name}-{n}") for n in range(3)}
    found = {
        entity["DataSourceId"]
        for entity in hook.describe(DATA_SOURCE, FilterVariable="Name", Prefix=name, Limit=1)
    }
    assert found == created


def test_tags_are_added_listed_and_removed(hook: AmlHook, training_csv: str) -> None:
    data_source_id = create_data_source(hook, training_csv)
    hook.add_tags(DATA_SOURCE, data_source_id, {"team": "ml", "stage": "dev"})
    hook.add_tags(DATA_SOURCE, data_source_id, {"stage": "prod"})
    assert hook.describe_tags(DATA_SOURCE, data_source_id) == {"team": "ml", "stage": "prod"}
    hook.delete_tags(DATA_SOURCE, data_source_id, ["team", "unknown"])
    assert hook.describe_tags(DATA_SOURCE, data_source_id) == {"stage": "prod"}


def test_failed_entity_raises_with_message_and_log(hook: AmlHook, bucket: str) -> None:
    data_source_id = create_data_source(hook, f"s3://{bucket}/missing/data.csv")
    with pytest.raises(AmlError) as failure:
        hook.wait_for_completion(DATA_SOURCE, data_source_id, waiter_delay=0.2, waiter_max_attempts=100)
    entity = hook.get(DATA_SOURCE, data_source_id)
    assert entity["Status"] == "FAILED"
    assert entity["Message"] in str(failure.value)
    assert entity["LogUri"] in str(failure.value)
    with urllib.request.urlopen(entity["LogUri"]) as response:
        assert response.status == 200


def test_rename_and_delete_twice(hook: AmlHook, training_csv: str) -> None:
    data_source_id = create_data_source(hook, training_csv)
    hook.update_name(DATA_SOURCE, data_source_id, "renamed by the hook")
    assert hook.get(DATA_SOURCE, data_source_id)["Name"] == "renamed by the hook"
    assert hook.delete(DATA_SOURCE, data_source_id) is True
    assert hook.delete(DATA_SOURCE, data_source_id) is False
    assert hook.status(DATA_SOURCE, data_source_id) == "DELETED"


def test_unknown_entity_is_none_and_predict_needs_an_endpoint(hook: AmlHook) -> None:
    assert hook.find(ML_MODEL, unique_id("ml")) is None
    with pytest.raises(Exception, match="ResourceNotFound"):
        hook.predict(unique_id("ml"), {"x1": "1"})


def test_entity_kind_names_the_allowed_values() -> None:
    assert entity_kind("MLModel") is ML_MODEL
    with pytest.raises(ValueError, match="DataSource, MLModel, Evaluation, BatchPrediction"):
        entity_kind("Model")
