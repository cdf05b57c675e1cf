"""Console pages over HTTP: user-supplied text escaped, the threshold form validated like the API."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from aml_provider.local import LocalAml
from aml_provider.local.protocol.console.evaluation import evaluation_page
from tests.helpers import put_text, schema_text, unique_id, wait_for

HOSTILE = '<script>alert("x")</script>'
VALUE = "<img src=x onerror=alert(1)>"


def _get(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.read().decode())


def _post(url: str, form: dict[str, str]) -> tuple[int, str, str]:
    """Status, final URL and body of a form POST (redirects followed)."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


@pytest.fixture(scope="module")
def binary_model(ml: Any, s3: Any, bucket: str) -> tuple[str, str]:
    """A COMPLETED BINARY model with a hostile name and categorical values, and its evaluation."""
    rows = "".join(f"{i % 7},{VALUE if i % 2 else 'plain'},{i % 2}\n" for i in range(200))
    uri = put_text(s3, bucket, f"{unique_id('console')}/data.csv", "x,kind,y\n" + rows)
    data_source_id, model_id, evaluation_id = unique_id("ds"), unique_id("ml"), unique_id("ev")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSourceName=HOSTILE,
        DataSpec={
            "DataLocationS3": uri,
            "DataSchema": schema_text("y", x="NUMERIC", kind="CATEGORICAL", y="BINARY"),
        },
        ComputeStatistics=True,
    )
    ml.create_ml_model(
        MLModelId=model_id, MLModelName=HOSTILE, MLModelType="BINARY", TrainingDataSourceId=data_source_id
    )
    ml.create_evaluation(
        EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
    )
    assert wait_for(ml, "Evaluation", evaluation_id)["Status"] == "COMPLETED"
    return model_id, evaluation_id


def test_user_text_is_escaped_on_every_page(aml: LocalAml, ml: Any, binary_model: tuple[str, str]) -> None:
    model_id, evaluation_id = binary_model
    data_source_id = ml.get_ml_model(MLModelId=model_id)["TrainingDataSourceId"]
    for path in (
        f"DataSource/{data_source_id}",
        f"MLModel/{model_id}",
        f"Evaluation/{evaluation_id}",
        "DataSource",
    ):
        page = _get(f"{aml.endpoint_url}/console/{path}")
        assert "<script>alert" not in page
        assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in _get(
        f"{aml.endpoint_url}/console/DataSource/{data_source_id}"
    )
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in _get(
        f"{aml.endpoint_url}/console/MLModel/{model_id}"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "ScoreThreshold must be a number between 0 and 1, got &#x27;abc&#x27;."),
     ("1.5", "ScoreThreshold must be between 0 and 1, got 1.5.")],
)  # fmt: skip
def test_threshold_form_rejects_what_the_api_rejects(
    aml: LocalAml, ml: Any, binary_model: tuple[str, str], value: str, message: str
) -> None:
    model_id, evaluation_id = binary_model
    url = f"{aml.endpoint_url}/console/MLModel/{model_id}/score-threshold"
    status, _, page = _post(url, {"ScoreThreshold": value, "EvaluationId": evaluation_id})
    assert status == 400
    assert message in page
    assert ml.get_ml_model(MLModelId=model_id)["ScoreThreshold"] == 0.5


def test_threshold_form_without_its_evaluation_says_why_on_an_error_page(
    aml: LocalAml, ml: Any, binary_model: tuple[str, str]
) -> None:
    model_id, _ = binary_model
    status, _, page = _post(
        f"{aml.endpoint_url}/console/MLModel/{model_id}/score-threshold", {"ScoreThreshold": "-1"}
    )
    assert status == 400
    assert "The ScoreThreshold was not set: ScoreThreshold must be between 0 and 1, got -1.0." in page
    assert f'href="/console/MLModel/{model_id}"' in page


def test_threshold_form_sets_the_threshold_and_returns_to_the_evaluation(
    aml: LocalAml, ml: Any, binary_model: tuple[str, str]
) -> None:
    model_id, evaluation_id = binary_model
    url = f"{aml.endpoint_url}/console/MLModel/{model_id}/score-threshold"
    status, final, page = _post(url, {"ScoreThreshold": "0.25", "EvaluationId": evaluation_id})
    assert (status, final) == (200, f"{aml.endpoint_url}/console/Evaluation/{evaluation_id}?threshold-set=1")
    assert f"The ScoreThreshold of MLModel {model_id} is now 0.25." in page
    assert ml.get_ml_model(MLModelId=model_id)["ScoreThreshold"] == 0.25
    ml.update_ml_model(MLModelId=model_id, ScoreThreshold=0.5)


def test_failed_entities_show_their_message_and_no_charts(aml: LocalAml, ml: Any, bucket: str) -> None:
    data_source_id, model_id, evaluation_id = unique_id("ds"), unique_id("ml"), unique_id("ev")
    spec = {
        "DataLocationS3": f"s3://{bucket}/{unique_id('nothing')}/",
        "DataSchema": schema_text("y", x="NUMERIC", y="BINARY"),
    }
    ml.create_data_source_from_s3(DataSourceId=data_source_id, DataSpec=spec, ComputeStatistics=True)
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    ml.create_evaluation(
        EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
    )
    for kind, entity_id in (
        ("DataSource", data_source_id),
        ("MLModel", model_id),
        ("Evaluation", evaluation_id),
    ):
        entity = wait_for(ml, kind, entity_id)
        assert entity["Status"] == "FAILED"
        page = _get(f"{aml.endpoint_url}/console/{kind}/{entity_id}")
        assert '<pre class="message">' in page
        assert "<svg" not in page


def test_confusion_matrix_of_many_classes_folds_the_rarest_into_others() -> None:
    labels = [f"class-{i:02d}" for i in range(12)]
    counts = [[(10 + i if i == j else 1) for j in range(12)] for i in range(12)]  # class-11 the most frequent
    report = {"modelType": "MULTICLASS", "metric": 0.5, "baseline": 0.1, "baselineClass": "class-11",
              "confusionMatrix": {"labels": labels, "counts": counts}, "classes": []}  # fmt: skip
    page = evaluation_page({"EvaluationId": "ev-1", "Status": "COMPLETED"}, report, None)
    shown = re.findall(
        r'class="cell" data-actual="([^"]+)" data-predicted="([^"]+)" data-value="(\d+)"', page
    )
    assert len(shown) == 100
    assert {actual for actual, _, _ in shown} == {*labels[3:], "others"}
    others = {predicted: int(value) for actual, predicted, value in shown if actual == "others"}
    assert (
        others["others"] == (10 + 11 + 12) + 6
    )  # the three rarest classes' diagonals and their cross counts
    assert sum(int(value) for _, _, value in shown) == sum(map(sum, counts))
