"""Data source operators in real DAGs, synchronous and deferred, against the local service."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlHook
from aml_provider.operators import AmlCreateDataSourceFromS3Operator
from aml_provider.utils import entity_id_for
from tests.airflow.data import SCHEMA, labelled_rows
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

FAST: dict[str, Any] = {"waiter_delay": 0.5, "waiter_max_attempts": 120}
MODES = pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])


def unique_csv(s3: Any, bucket: str, rows: int = 200) -> str:
    key = f"airflow/{unique_id('data')}/data.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=labelled_rows(rows).encode())
    return f"s3://{bucket}/{key}"


@MODES
def test_creates_a_data_source_and_returns_its_id(
    dag_runner: DagRunner, deferrable: bool, training_csv: str, aml: Any, tmp_path: Path
) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromS3Operator(
            task_id="load",
            data_location_s3="{{ params.location }}",
            data_schema=str(schema_file) if deferrable else SCHEMA,
            data_rearrangement={"splitting": {"percentBegin": 0, "percentEnd": 70}},
            data_source_name="{{ run_id }}",
            deferrable=deferrable,
            params={"location": training_csv},
            **FAST,
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"load": "success"}, dag_runner.failure_text()
    data_source_id = dag_runner.xcom(dag_run, "load")
    assert data_source_id == entity_id_for("ds", dag.dag_id, "load", dag_run.run_id)
    entity = AmlHook().get(DATA_SOURCE, data_source_id)
    assert entity["Status"] == "COMPLETED"
    assert entity["Name"] == dag_run.run_id
    assert entity["DataLocationS3"] == training_csv
    assert dag_runner.xcom(dag_run, "load", "_link_AmlDataSourceLink") == (
        f"{aml.endpoint_url}/console/DataSource/{data_source_id}"
    )


@MODES
def test_a_failed_data_source_fails_the_task_with_its_message(
    dag_runner: DagRunner, deferrable: bool, bucket: str
) -> None:
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromS3Operator(
            task_id="load",
            data_location_s3=f"s3://{bucket}/nothing/here.csv",
            data_schema=SCHEMA,
            deferrable=deferrable,
            **FAST,
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"load": "failed"}
    entity = AmlHook().get(DATA_SOURCE, entity_id_for("ds", dag.dag_id, "load", dag_run.run_id))
    assert entity["Status"] == "FAILED"
    assert entity["Message"] in dag_runner.failure_text()
    assert entity["LogUri"] in dag_runner.failure_text()


@MODES
def test_running_the_task_again_reattaches(
    dag_runner: DagRunner, deferrable: bool, s3: Any, bucket: str
) -> None:
    location = unique_csv(s3, bucket)
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromS3Operator(
            task_id="load", data_location_s3=location, data_schema=SCHEMA, deferrable=deferrable, **FAST
        )
    run_after = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    first = dag_runner.run(dag, run_after=run_after)
    first_id = dag_runner.xcom(first, "load")
    second = dag_runner.run(dag, run_after=run_after)

    assert second.run_id == first.run_id
    assert dag_runner.states(second) == {"load": "success"}, dag_runner.failure_text()
    assert dag_runner.xcom(second, "load") == first_id
    found = list(AmlHook().describe(DATA_SOURCE, FilterVariable="DataLocationS3", EQ=location))
    assert [entity["DataSourceId"] for entity in found] == [first_id]


def test_not_waiting_never_defers(dag_runner: DagRunner, training_csv: str) -> None:
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromS3Operator(
            task_id="load",
            data_location_s3=training_csv,
            data_schema=json.dumps(SCHEMA),
            wait_for_completion=False,
            deferrable=True,
        )
    dag_run = dag_runner.run(dag)

    (task_instance,) = dag_run.get_task_instances()
    assert task_instance.state == "success", dag_runner.failure_text()
    assert task_instance.next_method is None
    assert AmlHook().find(DATA_SOURCE, dag_runner.xcom(dag_run, "load")) is not None


DAG_FILE = """
from airflow.sdk import DAG
from aml_provider.operators import AmlCreateDataSourceFromS3Operator, AmlCreateMLModelOperator

with DAG({dag_id!r}, schedule=None) as dag:
    data = AmlCreateDataSourceFromS3Operator(
        task_id="data", data_location_s3={location!r}, data_schema="schemas/train.json",
        compute_statistics=True, waiter_delay=0.5,
    )
    AmlCreateMLModelOperator(
        task_id="model", ml_model_type="BINARY", training_data_source_id=data.output,
        recipe="recipes/numbers.json", waiter_delay=0.5,
    )
"""


def test_relative_schema_and_recipe_paths_start_at_the_dag_files_folder(
    training_csv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_connection: str
) -> None:
    """The DAG file is parsed from its own folder; the run happens from another working directory."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.airflow.runner import register

    folder = tmp_path / "dags"
    (folder / "schemas").mkdir(parents=True)
    (folder / "recipes").mkdir()
    (folder / "schemas" / "train.json").write_text(json.dumps(SCHEMA))
    recipe = {"groups": {}, "assignments": {}, "outputs": ["ALL_NUMERIC"]}
    (folder / "recipes" / "numbers.json").write_text(json.dumps(recipe))
    dag_id = unique_id("relative_paths").replace("-", "_")
    (folder / "relative.py").write_text(DAG_FILE.format(dag_id=dag_id, location=training_csv))
    monkeypatch.chdir(tmp_path)  # not the DAG folder: a path relative to the working directory would fail
    bag = DagBag(dag_folder=folder)
    assert bag.import_errors == {}
    dag = register(bag.dags[dag_id])
    dag_run = dag.test()

    assert {ti.task_id: ti.state for ti in dag_run.get_task_instances()} == {
        "data": "success",
        "model": "success",
    }
    hook = AmlHook()
    data_source_id = entity_id_for("ds", dag_id, "data", dag_run.run_id)
    stored = json.loads(hook.get(DATA_SOURCE, data_source_id, verbose=True)["DataSourceSchema"])
    assert {key: stored[key] for key in SCHEMA} == SCHEMA  # the service adds its defaults (rowId: null)
    model = hook.get(ML_MODEL, entity_id_for("ml", dag_id, "model", dag_run.run_id), verbose=True)
    assert json.loads(model["Recipe"]) == recipe
