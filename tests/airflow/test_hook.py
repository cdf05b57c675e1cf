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
from tests.airflow.data import SCHEMA, labelled_rows
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


def failure_warnings(output: str) -> list[str]:
    """The hook's warnings (Airflow's structured log lines) about attempts that ended FAILED or DELETED."""
    return [line for line in output.splitlines() if "[warning" in line and "creating a fresh one" in line]


def test_a_create_after_a_failed_attempt_creates_the_next_attempt(
    hook: AmlHook, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """FAILED (then DELETED) attempts are passed over, their failure logged; the live one is reused."""
    key = f"airflow/{unique_id('late')}.csv"
    data_source_id = create_data_source(hook, f"s3://{bucket}/{key}")
    with pytest.raises(AmlError):
        hook.wait_for_completion(DATA_SOURCE, data_source_id, waiter_delay=0.2, waiter_max_attempts=100)
    failed = hook.get(DATA_SOURCE, data_source_id)
    s3.put_object(Bucket=bucket, Key=key, Body=labelled_rows(50).encode())

    def create() -> str:
        return hook.create_data_source_from_s3(
            data_source_id, data_location_s3=f"s3://{bucket}/{key}", data_schema=json.dumps(SCHEMA)
        )

    second = create()
    assert second == f"{data_source_id}-a2"
    (warning,) = failure_warnings(capsys.readouterr().out)
    assert failed["Message"] in warning
    assert failed["LogUri"] in warning
    hook.wait_for_completion(DATA_SOURCE, second, waiter_delay=0.2, waiter_max_attempts=100)
    assert create() == second  # the live attempt is reattached to
    hook.delete(DATA_SOURCE, second)
    assert create() == f"{data_source_id}-a3"
    assert hook.status(DATA_SOURCE, data_source_id) == "FAILED"


RECIPE = {"groups": {}, "assignments": {}, "outputs": ["ALL_NUMERIC", "ALL_CATEGORICAL"]}
OTHER_SCHEMA = {
    **SCHEMA,
    "attributes": [
        {**attribute, "attributeType": "CATEGORICAL"} if attribute["attributeName"] == "x2" else attribute
        for attribute in SCHEMA["attributes"]
    ],
}


def data_source_inputs(location: str, **changes: Any) -> dict[str, Any]:
    inputs = {
        "data_location_s3": location,
        "data_schema": json.dumps(SCHEMA),
        "data_rearrangement": json.dumps({"splitting": {"percentBegin": 0, "percentEnd": 70}}),
        "compute_statistics": True,
    }
    return {**inputs, **changes}


def model_inputs(data_source_id: str, **changes: Any) -> dict[str, Any]:
    inputs = {
        "ml_model_type": "BINARY",
        "training_data_source_id": data_source_id,
        "recipe": json.dumps(RECIPE),
        "parameters": {"sgd.maxPasses": 5, "sgd.shuffleType": "auto"},
    }
    return {**inputs, **changes}


@pytest.fixture(scope="module")
def trained(aws_connection: str, training_csv: str) -> tuple[str, str]:
    """A COMPLETED data source and a model trained on it, both with every input set."""
    hook = AmlHook(aws_conn_id=aws_connection)
    data_source_id = hook.create_data_source_from_s3(unique_id("ds"), **data_source_inputs(training_csv))
    ml_model_id = hook.create_ml_model(unique_id("ml"), **model_inputs(data_source_id))
    hook.wait_for_completion(ML_MODEL, ml_model_id, waiter_delay=0.2, waiter_max_attempts=300)
    return data_source_id, ml_model_id


def test_reattach_accepts_the_same_inputs_in_any_spelling(
    hook: AmlHook, trained: tuple[str, str], training_csv: str
) -> None:
    data_source_id, ml_model_id = trained
    schema = json.dumps(SCHEMA, indent=4, sort_keys=True)
    same = data_source_inputs(
        training_csv + "/" if training_csv.endswith("/") else training_csv, data_schema=schema
    )
    assert hook.create_data_source_from_s3(data_source_id, **same) == data_source_id
    inputs = model_inputs(
        data_source_id, recipe=json.dumps(RECIPE, indent=2), parameters={"sgd.maxPasses": "5"}
    )
    assert hook.create_ml_model(ml_model_id, **inputs) == ml_model_id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"data_schema": json.dumps(OTHER_SCHEMA)}, "DataSpec.DataSchema"),
        ({"data_rearrangement": None}, "DataSpec.DataRearrangement"),
        (
            {"data_rearrangement": '{"splitting": {"percentBegin": 70, "percentEnd": 100}}'},
            "DataSpec.DataRearrangement",
        ),
        ({"compute_statistics": False}, "ComputeStatistics"),
    ],
    ids=["schema", "no-rearrangement", "rearrangement", "statistics"],
)
def test_reattach_to_a_data_source_names_the_changed_input(
    hook: AmlHook, trained: tuple[str, str], training_csv: str, changes: dict[str, Any], field: str
) -> None:
    data_source_id, _ = trained
    with pytest.raises(AmlError, match=rf"same ID {data_source_id} but different parameters \({field}"):
        hook.create_data_source_from_s3(data_source_id, **data_source_inputs(training_csv, **changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipe": json.dumps({**RECIPE, "outputs": ["ALL_NUMERIC"]})}, "Recipe"),
        ({"parameters": {"sgd.maxPasses": 6}}, "Parameters.sgd.maxPasses"),
        ({"parameters": {"sgd.l2RegularizationAmount": "1e-4"}}, "Parameters.sgd.l2RegularizationAmount"),
        ({"ml_model_type": "REGRESSION"}, "MLModelType"),
        ({"training_data_source_id": "ds-other"}, "TrainingDataSourceId"),
    ],
    ids=["recipe", "parameter", "default-parameter", "type", "data"],
)
def test_reattach_to_a_model_names_the_changed_input(
    hook: AmlHook, trained: tuple[str, str], changes: dict[str, Any], field: str
) -> None:
    data_source_id, ml_model_id = trained
    with pytest.raises(
        AmlError, match=rf"same ID {ml_model_id} but different parameters \({field}: existing"
    ):
        hook.create_ml_model(ml_model_id, **model_inputs(data_source_id, **changes))


def test_reattach_to_an_evaluation_or_batch_prediction_names_the_changed_input(
    hook: AmlHook, trained: tuple[str, str], bucket: str
) -> None:
    data_source_id, ml_model_id = trained
    evaluation_id = hook.create_evaluation(
        unique_id("ev"), ml_model_id=ml_model_id, evaluation_data_source_id=data_source_id
    )
    with pytest.raises(AmlError, match=r"\(EvaluationDataSourceId: existing"):
        hook.create_evaluation(evaluation_id, ml_model_id=ml_model_id, evaluation_data_source_id="ds-other")
    output = f"s3://{bucket}/airflow/{unique_id('scores')}/"
    batch = {
        "ml_model_id": ml_model_id,
        "batch_prediction_data_source_id": data_source_id,
        "output_uri": output,
    }
    batch_prediction_id = hook.create_batch_prediction(unique_id("bp"), **batch)
    assert hook.create_batch_prediction(batch_prediction_id, **{**batch, "output_uri": output.rstrip("/")})
    with pytest.raises(AmlError, match=r"\(OutputUri: existing"):
        hook.create_batch_prediction(batch_prediction_id, **{**batch, "output_uri": f"{output}other/"})
    with pytest.raises(AmlError, match=r"\(MLModelId: existing"):
        hook.create_batch_prediction(batch_prediction_id, **{**batch, "ml_model_id": "ml-other"})
