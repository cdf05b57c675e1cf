"""The response checker of the tests catches malformed responses (it checks the checker, not the service)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.output_shapes import assert_valid_output, output_problems

ML_MODEL: dict[str, Any] = {
    "MLModelId": "ml-1",
    "TrainingDataSourceId": "ds-1",
    "CreatedByIamUser": "arn:aws:iam::000000000000:user/local",
    "CreatedAt": 1767225600.0,
    "LastUpdatedAt": 1767225601.5,
    "Name": "churn",
    "Status": "COMPLETED",
    "SizeInBytes": 2048,
    "EndpointInfo": {"PeakRequestsPerSecond": 0, "EndpointStatus": "NONE"},
    "TrainingParameters": {"sgd.maxPasses": "10"},
    "InputDataLocationS3": "s3://bucket/train.csv",
    "MLModelType": "BINARY",
    "ScoreThreshold": 0.5,
    "ComputeTime": 1200,
    "Recipe": "{}",
}


def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(ML_MODEL)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def test_a_well_formed_response_passes_raw_and_as_boto3_parses_it() -> None:
    assert output_problems("GetMLModel", ML_MODEL) == []
    parsed = {**ML_MODEL, "CreatedAt": datetime(2026, 1, 1, tzinfo=UTC), "ResponseMetadata": {}}
    assert_valid_output("get_ml_model", parsed)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({**ML_MODEL, "Accuracy": 0.9}, "GetMLModel: unknown member 'Accuracy'"),
        (changed(("ComputeTime",), "1200"), "GetMLModel.ComputeTime: expected long, got str"),
        (changed(("SizeInBytes",), 2048.5), "GetMLModel.SizeInBytes: expected long, got float"),
        (changed(("ScoreThreshold",), True), "GetMLModel.ScoreThreshold: expected float, got bool"),
        (changed(("CreatedAt",), "2026-01-01"), "GetMLModel.CreatedAt: expected timestamp, got str"),
        (changed(("Status",), "DONE"), "GetMLModel.Status: 'DONE' is not one of PENDING"),
        (changed(("MLModelType",), "binary"), "GetMLModel.MLModelType: 'binary' is not one of"),
        (changed(("EndpointInfo", "EndpointStatus"), "UP"), "GetMLModel.EndpointInfo.EndpointStatus: 'UP'"),
        (changed(("MLModelId",), "ml 1"), "GetMLModel.MLModelId: 'ml 1' does not match the pattern"),
        (changed(("MLModelId",), "m" * 65), "GetMLModel.MLModelId: length 65 above the maximum 64"),
        (changed(("CreatedByIamUser",), "someone"), "GetMLModel.CreatedByIamUser: 'someone' does not match"),
        (changed(("InputDataLocationS3",), "/tmp/train.csv"), "does not match the pattern s3://"),
        (changed(("TrainingParameters",), {"sgd.maxPasses": 10}), "TrainingParameters['sgd.maxPasses']"),
        (changed(("EndpointInfo",), "NONE"), "GetMLModel.EndpointInfo: expected structure, got str"),
        (changed(("EndpointInfo", "EndpointUrl"), "ftp://x"), "EndpointUrl: 'ftp://x' is not an http(s) URL"),
        (changed(("Name",), None), "GetMLModel.Name: expected string, got NoneType"),
    ],
)
def test_a_malformed_get_ml_model_response_fails_naming_the_member(
    body: dict[str, Any], problem: str
) -> None:
    problems = output_problems("GetMLModel", body)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem) or problem in problems[0], problems
    with pytest.raises(AssertionError, match="GetMLModel output does not fit its shape"):
        assert_valid_output("GetMLModel", body)


def test_lists_maps_and_their_items_are_checked() -> None:
    results = {"Results": [{"MLModelId": "ml-1", "Status": "COMPLETED"}, {"MLModelId": 7}], "NextToken": "n"}
    assert output_problems("DescribeMLModels", results) == [
        "DescribeMLModels.Results[1].MLModelId: expected string, got int 7"
    ]
    prediction = {"Prediction": {"predictedLabel": "1", "predictedScores": {"1": "0.9"}, "details": {}}}
    assert output_problems("Predict", prediction) == [
        "Predict.Prediction.predictedScores['1']: expected float, got str '0.9'"
    ]
    details = {"Prediction": {"details": {"Model": "BINARY"}}}
    assert output_problems("Predict", details)[0].startswith("Predict.Prediction.details key 'Model'")
    tags = {"ResourceId": "ds-1", "ResourceType": "DataSource", "Tags": [{"Key": "k", "Value": "v"}] * 101}
    assert output_problems("DescribeTags", tags) == ["DescribeTags.Tags: length 101 above the maximum 100"]
    assert output_problems("DescribeTags", {"Tags": [{"Key": "a b?"}]}) == [
        "DescribeTags.Tags[0].Key: 'a b?' does not match the pattern ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"
    ]


def test_the_raw_body_is_checked_when_boto3_dropped_an_unknown_member(ml: Any) -> None:
    """boto3 parses only the members it knows; the raw body kept for the request still shows the rest."""
    from tests.output_shapes import _RAW_BODIES

    response = ml.describe_ml_models(Limit=1)
    request_id = response["ResponseMetadata"]["RequestId"]
    assert request_id in _RAW_BODIES
    assert_valid_output("DescribeMLModels", response)
    _RAW_BODIES[request_id] = b'{"Results": [], "Extra": 1}'
    with pytest.raises(AssertionError, match="unknown member 'Extra'"):
        assert_valid_output("DescribeMLModels", response)
