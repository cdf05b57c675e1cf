"""Dicts and lists passed through Jinja arrive as text unless the DAG renders native objects."""

from __future__ import annotations

from typing import Any

import pytest

from aml_provider.hooks import DATA_SOURCE, ML_MODEL, AmlHook
from aml_provider.operators import (
    AmlAddTagsOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateMLModelOperator,
    AmlPredictOperator,
    AmlPromoteMLModelOperator,
    AmlRemoveTagsOperator,
)
from aml_provider.pipelines.common import output
from aml_provider.utils import as_dict, as_list
from tests.airflow.data import SCHEMA
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

FAST: dict[str, Any] = {"waiter_delay": 0.3, "waiter_max_attempts": 400}


def template(text: str) -> Any:
    """A Jinja template for an argument of another type: the task renders it to that type."""
    return text


def test_templated_dicts_and_lists_are_parsed_back(
    dag_runner: DagRunner, training_csv: str, bucket: str
) -> None:
    params = {
        "split": {"splitting": {"percentBegin": 0, "percentEnd": 80}},
        "parameters": {"sgd.maxPasses": 3, "sgd.shuffleType": "auto"},
        "record": {"x1": "2", "x2": "1", "colour": "red"},
        "tags": {"team": "growth", "stage": "dev"},
        "stale_tags": ["stage"],
    }
    with dag_runner.dag(params=params) as dag:
        data = AmlCreateDataSourceFromS3Operator(
            task_id="data",
            data_location_s3=training_csv,
            data_schema=SCHEMA,
            data_rearrangement="{{ params.split }}",
            **FAST,
        )
        model = AmlCreateMLModelOperator(
            task_id="train",
            ml_model_type="BINARY",
            training_data_source_id=output(data),
            parameters=template("{{ params.parameters }}"),
            **FAST,
        )
        promote = AmlPromoteMLModelOperator(
            task_id="promote",
            family=unique_id("rendered"),
            reports_uri=f"s3://{bucket}/families/",
            ml_model_id=output(model),
            smoke_record="{{ params.record }}",
            waiter_delay=0.3,
        )
        predict = AmlPredictOperator(
            task_id="predict", ml_model_id=output(model), record=template("{{ params.record }}")
        )
        tag = AmlAddTagsOperator(
            task_id="tag",
            resource_type="MLModel",
            resource_id=output(model),
            tags=template("{{ params.tags }}"),
        )
        untag = AmlRemoveTagsOperator(
            task_id="untag",
            resource_type="MLModel",
            resource_id=output(model),
            tag_keys=template("{{ params.stale_tags }}"),
        )
        promote >> predict >> tag >> untag
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    hook = AmlHook()
    data_source = hook.get(DATA_SOURCE, dag_runner.xcom(dag_run, "data"))
    assert '"percentEnd": 80' in data_source["DataRearrangement"]
    ml_model_id = dag_runner.xcom(dag_run, "train")
    assert hook.get(ML_MODEL, ml_model_id)["TrainingParameters"]["sgd.maxPasses"] == "3"
    assert dag_runner.xcom(dag_run, "promote")["prediction"]["predictedLabel"] == "1"
    assert dag_runner.xcom(dag_run, "predict")["predictedLabel"] == "1"
    tags = hook.describe_tags(ML_MODEL, ml_model_id)
    assert tags["team"] == "growth"
    assert "stage" not in tags


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{'a': 1}", {"a": 1}), ('{"a": 1}', {"a": 1}), ("None", None), ({"a": 1}, {"a": 1})],
)
def test_as_dict_reads_what_jinja_renders(text: Any, expected: Any) -> None:
    assert as_dict(text, "record") == expected


def test_as_list_and_as_dict_name_the_field_they_refuse() -> None:
    assert as_list("['sg-1', 'sg-2']", "security_group_ids") == ["sg-1", "sg-2"]
    assert as_list(("sg-1",), "security_group_ids") == ["sg-1"]
    with pytest.raises(ValueError, match="security_group_ids must be a list"):
        as_list("sg-1", "security_group_ids")
    with pytest.raises(ValueError, match="record must be a dict"):
        as_dict("['x']", "record")
