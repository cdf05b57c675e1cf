"""The fault plan, observed through the real boto3 client: failed and delayed jobs, error answers, the
signed admin call that changes it, and /health. Planned exits end the process: see test_service_process.py.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from aml_provider.local import AdminCallError, LocalAml
from aml_provider.local.backend import Backend
from aml_provider.local.config import ServiceConfig
from tests.helpers import put_text, schema_text, unique_id, wait_for

SCHEMA = schema_text(x="NUMERIC", y="BINARY")
CSV = "x,y\n" + "".join(f"{i / 50:.2f},{int(i > 25)}\n" for i in range(50))
NO_RETRIES = Config(retries={"total_max_attempts": 1})
OFF: dict[str, list[Any]] = {"failJobs": [], "delayJobs": [], "errors": [], "exits": []}


@pytest.fixture(scope="module")
def service() -> Iterator[LocalAml]:
    """A service of its own: job counts must not see other tests' jobs."""
    with LocalAml(shutdown_timeout=0) as aml:
        yield aml


@pytest.fixture
def faulty(service: LocalAml) -> Iterator[LocalAml]:
    yield service
    service.set_faults({})


@pytest.fixture(scope="module")
def data_uri(service: LocalAml) -> str:
    s3 = service.client("s3")
    s3.create_bucket(Bucket="faults")
    return put_text(s3, "faults", "data.csv", CSV)


def create_data_source(ml: Any, uri: str) -> str:
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": uri, "DataSchema": SCHEMA},
        ComputeStatistics=True,
    )
    return data_source_id


def create_model(ml: Any, data_source_id: str) -> str:
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    return model_id


def signed_admin(url: str, key: str, secret: str, call: str, body: dict[str, Any]) -> urllib.request.Request:
    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AmlLocal.{call}"},
    )
    SigV4Auth(Credentials(key, secret), "machinelearning", "us-east-1").add_auth(request)
    return urllib.request.Request(request.url, request.body, dict(request.headers), method="POST")  # type: ignore[arg-type]


def refusal(request: urllib.request.Request) -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    return refused.value.code, json.loads(refused.value.read())["__type"]


def test_no_plan_is_in_force_by_default(service: LocalAml, data_uri: str) -> None:
    assert service.faults() == OFF
    ml = service.client()
    data_source_id = create_data_source(ml, data_uri)
    assert wait_for(ml, "DataSource", data_source_id)["Status"] == "COMPLETED"


def test_the_admin_call_needs_the_service_credentials(faulty: LocalAml) -> None:
    plan = {"errors": [{"operation": "DescribeMLModels"}]}
    unsigned = urllib.request.Request(
        f"{faulty.endpoint_url}/",
        json.dumps(plan).encode(),
        {"X-Amz-Target": "AmlLocal.PutFaultPlan"},
        method="POST",
    )
    assert refusal(unsigned) == (403, "MissingAuthenticationTokenException")
    wrong_secret = signed_admin(
        faulty.endpoint_url, faulty.access_key_id, "not-the-secret", "PutFaultPlan", plan
    )
    assert refusal(wrong_secret) == (400, "InvalidSignatureException")
    unknown_key = signed_admin(
        faulty.endpoint_url, "AKIAUNKNOWN", faulty.secret_access_key, "PutFaultPlan", plan
    )
    assert refusal(unknown_key) == (400, "UnrecognizedClientException")
    unsigned_target = AWSRequest(method="POST", url=f"{faulty.endpoint_url}/", data=json.dumps(plan).encode())
    unsigned_target.headers["Content-Type"] = "application/x-amz-json-1.1"
    SigV4Auth(
        Credentials(faulty.access_key_id, faulty.secret_access_key), "machinelearning", "us-east-1"
    ).add_auth(unsigned_target)
    headers = {
        **dict(unsigned_target.headers),
        "X-Amz-Target": "AmlLocal.PutFaultPlan",
    }  # added after signing
    sent = urllib.request.Request(unsigned_target.url, unsigned_target.body, headers, method="POST")  # type: ignore[arg-type]
    assert refusal(sent) == (400, "IncompleteSignatureException")
    assert faulty.faults() == OFF
    faulty.client().describe_ml_models()  # no error was planned

    signed = signed_admin(
        faulty.endpoint_url, faulty.access_key_id, faulty.secret_access_key, "PutFaultPlan", plan
    )
    with urllib.request.urlopen(signed) as accepted:
        assert json.loads(accepted.read())["errors"] == [
            {"operation": "DescribeMLModels", "error": "InternalServerException", "times": 1}
        ]


@pytest.mark.parametrize(
    ("plan", "named"),
    [
        ({"failJobs": [{"kind": "Model"}]}, "failJobs[0].kind"),
        ({"delayJobs": [{"kind": "MLModel", "seconds": -1}]}, "delayJobs[0].seconds"),
        ({"errors": [{"operation": "GetModel"}]}, "errors[0].operation"),
        ({"errors": [{"operation": "GetMLModel", "error": "Boom"}]}, "errors[0].error"),
        ({"exits": ["job:MLModel:middle"]}, "exits[0]"),
        ({"failJob": []}, "failJob"),
    ],
)
def test_a_wrong_plan_is_refused_naming_the_field(faulty: LocalAml, plan: dict[str, Any], named: str) -> None:
    with pytest.raises(AdminCallError) as refused:
        faulty.set_faults(plan)
    assert refused.value.code == "InvalidInputException"
    assert named in refused.value.message
    assert faulty.faults() == OFF


def test_the_nth_job_of_each_kind_fails(faulty: LocalAml, data_uri: str) -> None:
    faulty.set_faults(
        {
            "failJobs": [
                {"kind": "DataSource", "nth": 2},
                {"kind": "MLModel", "nth": 2},
                {"kind": "Evaluation"},
                {"kind": "BatchPrediction", "nth": 1},
            ]
        }
    )
    ml = faulty.client()
    good_source = create_data_source(ml, data_uri)
    assert wait_for(ml, "DataSource", good_source)["Status"] == "COMPLETED"
    bad_source = create_data_source(ml, data_uri)
    good_model = create_model(ml, good_source)
    assert wait_for(ml, "MLModel", good_model)["Status"] == "COMPLETED"
    bad_model = create_model(ml, good_source)
    evaluation_id, batch_id = unique_id("ev"), unique_id("bp")
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=good_model, EvaluationDataSourceId=good_source)
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=good_model,
        BatchPredictionDataSourceId=good_source,
        OutputUri="s3://faults/batch/",
    )
    for kind, entity_id, nth in [
        ("DataSource", bad_source, 2),
        ("MLModel", bad_model, 2),
        ("Evaluation", evaluation_id, 1),
        ("BatchPrediction", batch_id, 1),
    ]:
        failed = wait_for(ml, kind, entity_id)
        assert failed["Status"] == "FAILED", (kind, failed)
        assert failed["Message"] == f"Injected fault: {kind} job {nth} fails as the fault plan asks."
    listed = faulty.client("s3").list_objects_v2(Bucket="faults", Prefix="batch/")
    assert listed.get("KeyCount", 0) == 0  # a failed batch prediction publishes nothing


def test_a_delayed_job_stays_in_progress_then_runs(faulty: LocalAml, data_uri: str) -> None:
    faulty.set_faults({"delayJobs": [{"kind": "DataSource", "seconds": 2}]})
    ml = faulty.client()
    started = time.monotonic()
    data_source_id = create_data_source(ml, data_uri)
    time.sleep(1)
    assert ml.get_data_source(DataSourceId=data_source_id)["Status"] in ("PENDING", "INPROGRESS")
    completed = wait_for(ml, "DataSource", data_source_id)
    assert completed["Status"] == "COMPLETED"
    assert time.monotonic() - started >= 2
    with urllib.request.urlopen(completed["LogUri"]) as log:
        assert "Injected fault: the job waits 2 s before it runs" in log.read().decode()


def test_throttling_is_answered_as_many_times_as_planned(faulty: LocalAml) -> None:
    faulty.set_faults(
        {"errors": [{"operation": "DescribeDataSources", "error": "ThrottlingException", "times": 2}]}
    )
    _client_without_retries(faulty).describe_ml_models(Limit=1)  # other operations are not touched
    single = _client_without_retries(faulty)
    for _ in range(2):
        with pytest.raises(ClientError) as throttled:
            single.describe_data_sources(Limit=1)
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "Injected fault" in throttled.value.response["Error"]["Message"]
    assert single.describe_data_sources(Limit=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_server_errors_are_retried_by_boto3(faulty: LocalAml) -> None:
    faulty.set_faults({"errors": [{"operation": "DescribeEvaluations", "times": 2}]})
    answered = faulty.client().describe_evaluations(Limit=1)["ResponseMetadata"]
    assert answered["HTTPStatusCode"] == 200
    assert answered["RetryAttempts"] == 2  # two InternalServerException (HTTP 500) answers, then success
    faulty.set_faults({"errors": [{"operation": "DescribeEvaluations"}]})
    with pytest.raises(ClientError) as failed:
        _client_without_retries(faulty).describe_evaluations(Limit=1)
    assert failed.value.response["Error"]["Code"] == "InternalServerException"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def _client_without_retries(aml: LocalAml) -> Any:
    return boto3.session.Session().client(
        "machinelearning",
        endpoint_url=aml.endpoint_url,
        region_name=aml.region_name,
        aws_access_key_id=aml.access_key_id,
        aws_secret_access_key=aml.secret_access_key,
        config=NO_RETRIES,
    )


def test_every_answer_carries_a_request_id(service: LocalAml) -> None:
    answered = service.client().describe_ml_models(Limit=1)["ResponseMetadata"]
    assert answered["RequestId"] == answered["HTTPHeaders"]["x-amzn-requestid"]
    with urllib.request.urlopen(f"{service.endpoint_url}/health") as health:
        first = health.headers["x-amzn-RequestId"]
    with urllib.request.urlopen(f"{service.endpoint_url}/health") as health:
        assert health.headers["x-amzn-RequestId"] not in (None, first)


def test_health_reports_readiness(service: LocalAml, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{service.endpoint_url}/health") as health:
        assert json.loads(health.read()) == {
            "status": "ok",
            "service": "machinelearning",
            "checks": {"store": "ok", "s3": "ok"},
        }
    with LocalAml(data_dir=tmp_path, s3_endpoint_url="http://127.0.0.1:9") as unreachable:  # nothing there
        with pytest.raises(urllib.error.HTTPError) as unready:
            urllib.request.urlopen(f"{unreachable.endpoint_url}/health")
        assert unready.value.code == 503
        body = json.loads(unready.value.read())
        assert body["status"] == "unavailable"
        assert body["checks"]["store"] == "ok"
        assert "http://127.0.0.1:9" in body["checks"]["s3"]


def test_health_reports_a_store_that_is_not_open(tmp_path: Path) -> None:
    backend = Backend(ServiceConfig(data_dir=tmp_path, s3_endpoint_url="http://127.0.0.1:9"))
    assert backend.health()["store"] == "the entity store is not open"
    backend.start()
    try:
        assert backend.health()["store"] is None
    finally:
        backend.stop()
    assert backend.health()["store"] == "the entity store is not open"


def test_health_notices_s3_going_away_within_seconds(tmp_path: Path) -> None:
    """S3 is probed in the background, so /health answers at once and reports a lost S3 soon after."""
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    host, port = s3.get_host_and_port()
    with LocalAml(data_dir=tmp_path, s3_endpoint_url=f"http://{host}:{port}") as aml:
        with urllib.request.urlopen(f"{aml.endpoint_url}/health") as health:
            assert json.loads(health.read())["checks"]["s3"] == "ok"
        s3.stop()
        deadline = time.monotonic() + 15
        while health_status(aml.endpoint_url)[0] == 200:
            assert time.monotonic() < deadline, "/health still reports S3 reachable"
            time.sleep(0.2)
        status, body = health_status(aml.endpoint_url)
    assert status == 503
    assert f"http://{host}:{port}" in body["checks"]["s3"]


def health_status(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{url}/health") as health:
            return health.status, json.loads(health.read())
    except urllib.error.HTTPError as unready:
        return unready.code, json.loads(unready.read())
