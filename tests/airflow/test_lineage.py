"""OpenLineage: the events Airflow's OpenLineage listener emits for the provider's operators, read back
from a file transport, name the S3 data each task read and wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aml_provider.operators import (
    AmlCreateBatchPredictionOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateMLModelOperator,
)
from aml_provider.pipelines.common import output
from aml_provider.utils import s3_dataset_name, s3_lineage
from tests.airflow.data import SCHEMA, SCHEMA_WITHOUT_TARGET, labelled_rows
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

FAST: dict[str, Any] = {"waiter_delay": 0.5, "waiter_max_attempts": 120}


def test_s3_uris_become_openlineage_datasets() -> None:
    assert s3_dataset_name("s3://bucket/folder/data.csv") == ("s3://bucket", "folder/data.csv")
    assert s3_dataset_name("s3://bucket") == ("s3://bucket", "/")
    lineage = s3_lineage(["s3://bucket/in.csv"], ["s3://bucket/out/"])
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://bucket", "in.csv")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("s3://bucket", "out/")]


@pytest.fixture
def lineage_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Airflow's OpenLineage listener, enabled with a file transport for this test only."""
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.sdk.listener import get_listener_manager

    events = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    listener = get_openlineage_listener()
    manager = get_listener_manager()
    manager.add_listener(listener)
    yield events
    manager.pm.unregister(listener)


def completed_datasets(events: Path) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per task id, the (inputs, outputs) of its COMPLETE event, as (namespace, name) pairs."""
    found: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
    for line in events.read_text().splitlines():
        event: dict[str, Any] = json.loads(line)
        if event["eventType"] == "COMPLETE" and "." in event["job"]["name"]:
            task_id = event["job"]["name"].rsplit(".", 1)[1]
            inputs, outputs = (
                [(dataset["namespace"], dataset["name"]) for dataset in event[side]]
                for side in ("inputs", "outputs")
            )
            found[task_id] = (inputs, outputs)
    return found


def test_data_source_and_batch_prediction_tasks_emit_their_s3_datasets(
    dag_runner: DagRunner, lineage_events: Path, s3: Any, bucket: str
) -> None:
    folder = unique_id("lineage")
    s3.put_object(Bucket=bucket, Key=f"{folder}/train.csv", Body=labelled_rows(120).encode())
    s3.put_object(Bucket=bucket, Key=f"{folder}/records/part-1.csv", Body=labelled_rows(20, seed=3).encode())
    with dag_runner.dag() as dag:
        train_data = AmlCreateDataSourceFromS3Operator(
            task_id="train_data",
            data_location_s3=f"s3://{bucket}/{folder}/train.csv",
            data_schema=SCHEMA,
            **FAST,
        )
        records_data = AmlCreateDataSourceFromS3Operator(
            task_id="records_data",
            data_location_s3=f"s3://{bucket}/{folder}/records/",
            data_schema=SCHEMA_WITHOUT_TARGET,
            compute_statistics=False,
            **FAST,
        )
        model = AmlCreateMLModelOperator(
            task_id="train", ml_model_type="BINARY", training_data_source_id=output(train_data), **FAST
        )
        AmlCreateBatchPredictionOperator(
            task_id="score",
            ml_model_id=output(model),
            batch_prediction_data_source_id=output(records_data),
            output_uri=f"s3://{bucket}/{folder}/scores/",
            **FAST,
        )
    dag_run = dag_runner.run(dag)

    assert set(dag_runner.states(dag_run).values()) == {"success"}, dag_runner.failure_text()
    datasets = completed_datasets(lineage_events)
    namespace = f"s3://{bucket}"
    assert datasets["train_data"] == ([(namespace, f"{folder}/train.csv")], [])
    assert datasets["records_data"] == ([(namespace, f"{folder}/records/")], [])
    assert datasets["score"] == ([(namespace, f"{folder}/records/")], [(namespace, f"{folder}/scores/")])
