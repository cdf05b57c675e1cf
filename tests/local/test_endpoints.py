"""Real-time endpoints over HTTP with boto3: their lifecycle, Predict, errors and the endpoint's request rate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from aml_provider.local import LocalAml
from tests.helpers import unique_id, wait_for
from tests.local.operations import error_of, get, s3_data_source, wait_for_endpoint
from tests.output_shapes import assert_valid_output

RECORD = {"x1": "0.9", "x2": "0.8", "color": "red"}


@pytest.fixture(scope="module")
def trained(ml: Any, s3: Any, bucket: str) -> dict[str, str]:
    """A training datasource and a BINARY model sent at once."""
    ids = {"train": s3_data_source(ml, s3, bucket, ComputeStatistics=True), "model": unique_id("ml")}
    ml.create_ml_model(
        MLModelId=ids["model"],
        MLModelType="BINARY",
        TrainingDataSourceId=ids["train"],
        Parameters={"sgd.maxPasses": "5", "sgd.shuffleType": "auto"},
    )
    return ids


def test_endpoint_lifecycle_and_predict(aml: LocalAml, ml: Any, trained: dict[str, str]) -> None:
    model_id = trained["model"]
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    predict = lambda: ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=aml.endpoint_url)  # noqa: E731
    assert error_of(predict)[0] == "PredictorNotMountedException"

    created = ml.create_realtime_endpoint(MLModelId=model_id)
    assert_valid_output("CreateRealtimeEndpoint", created)
    info = created["RealtimeEndpointInfo"]
    assert info["EndpointStatus"] in ("UPDATING", "READY")
    assert info["EndpointUrl"] == aml.endpoint_url
    assert info["PeakRequestsPerSecond"] == 200
    ready = wait_for_endpoint(ml, model_id)
    assert ready["EndpointStatus"] == "READY"
    assert (
        ml.create_realtime_endpoint(MLModelId=model_id)["RealtimeEndpointInfo"]["EndpointStatus"] == "READY"
    )

    response = ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=ready["EndpointUrl"])
    assert_valid_output("Predict", response)
    prediction = response["Prediction"]
    assert prediction["predictedLabel"] == "1"
    assert list(prediction["predictedScores"]) == ["1"]
    assert prediction["details"]["PredictiveModelType"] == "BINARY"
    ml.update_ml_model(MLModelId=model_id, ScoreThreshold=1.0)
    assert predict()["Prediction"]["predictedLabel"] == "0"
    ml.update_ml_model(MLModelId=model_id, ScoreThreshold=0.5)

    deleted = ml.delete_realtime_endpoint(MLModelId=model_id)
    assert_valid_output("DeleteRealtimeEndpoint", deleted)
    assert deleted["RealtimeEndpointInfo"]["EndpointStatus"] == "NONE"
    assert get(ml, "MLModel", model_id)["EndpointInfo"] == {
        "EndpointStatus": "NONE",
        "PeakRequestsPerSecond": 0,
    }
    assert error_of(predict)[0] == "PredictorNotMountedException"


def test_endpoint_errors(aml: LocalAml, ml: Any) -> None:
    missing = unique_id("ml-missing")
    assert error_of(lambda: ml.create_realtime_endpoint(MLModelId=missing))[0] == "ResourceNotFoundException"
    assert error_of(lambda: ml.delete_realtime_endpoint(MLModelId=missing))[0] == "ResourceNotFoundException"
    predict = lambda: ml.predict(MLModelId=missing, Record=RECORD, PredictEndpoint=aml.endpoint_url)  # noqa: E731
    assert error_of(predict)[0] == "ResourceNotFoundException"


def test_deleting_a_model_drops_its_endpoint(aml: LocalAml, ml: Any, trained: dict[str, str]) -> None:
    model_id = unique_id("ml-short-lived")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=trained["train"])
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    ml.create_realtime_endpoint(MLModelId=model_id)
    assert wait_for_endpoint(ml, model_id)["EndpointStatus"] == "READY"
    ml.delete_ml_model(MLModelId=model_id)
    assert get(ml, "MLModel", model_id)["EndpointInfo"]["EndpointStatus"] == "NONE"
    predict = lambda: ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=aml.endpoint_url)  # noqa: E731
    assert error_of(predict)[0] == "ResourceNotFoundException"
    assert error_of(lambda: ml.create_realtime_endpoint(MLModelId=model_id))[0] == "ResourceNotFoundException"


@pytest.fixture
def throttled(tmp_path: Any) -> Iterator[LocalAml]:
    """A service allowing 1 Predict request per second whose endpoints take a moment to mount."""
    with LocalAml(data_dir=tmp_path, predict_requests_per_second=1, endpoint_mount_seconds=1.0) as service:
        yield service


def test_predict_beyond_the_endpoint_rate_is_limit_exceeded(throttled: LocalAml) -> None:
    ml = throttled.client()
    s3 = throttled.client("s3")
    bucket = unique_id("throttled")
    s3.create_bucket(Bucket=bucket)
    source = s3_data_source(ml, s3, bucket, ComputeStatistics=True)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source)
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    info = ml.create_realtime_endpoint(MLModelId=model_id)["RealtimeEndpointInfo"]
    assert (info["EndpointStatus"], info["PeakRequestsPerSecond"]) == ("UPDATING", 1)
    assert (
        error_of(
            lambda: ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=throttled.endpoint_url)
        )[0]
        == "PredictorNotMountedException"
    )
    assert wait_for_endpoint(ml, model_id)["EndpointStatus"] == "READY"

    no_retries = boto3.session.Session().client(
        "machinelearning",
        endpoint_url=throttled.endpoint_url,
        region_name=throttled.region_name,
        aws_access_key_id=throttled.access_key_id,
        aws_secret_access_key=throttled.secret_access_key,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )

    def predict_once(_: int) -> str:
        try:
            no_retries.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=throttled.endpoint_url)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "OK"

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(predict_once, range(10)))
    assert "OK" in codes
    assert "LimitExceededException" in codes
    assert set(codes) == {"OK", "LimitExceededException"}
    time.sleep(1.0)
    assert ml.predict(MLModelId=model_id, Record=RECORD, PredictEndpoint=throttled.endpoint_url)["Prediction"]
