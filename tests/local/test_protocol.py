"""The HTTP protocol over real HTTP: SigV4 authentication, input validation, error mapping, pages."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from aml_provider.local import LocalAml, ServiceConfig
from aml_provider.local.backend import Backend
from aml_provider.local.protocol import Authenticator, create_app
from aml_provider.local.server import BackgroundServer, bind_socket, with_access_keys
from tests.helpers import put_text, schema_text, unique_id
from tests.output_shapes import assert_valid_output

TARGET = "AmazonML_20141212"
SCHEMA = schema_text(x="NUMERIC", y="NUMERIC")


def client_with(aml: LocalAml, key: str, secret: str, endpoint_url: str | None = None) -> Any:
    return boto3.session.Session().client(
        "machinelearning",
        endpoint_url=endpoint_url or aml.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def signed_post(
    aml: LocalAml,
    operation: str,
    body: bytes,
    when: datetime | None = None,
    service: str = "machinelearning",
    sent_body: bytes | None = None,
    sign_content_type: bool = True,
) -> tuple[int, Message, dict[str, Any]]:
    """POST `body` signed as a botocore client would (at `when`); answers status, headers and JSON body.

    ``sign_content_type=False`` leaves Content-Type out of the signature, as the AWS SDK for JavaScript
    (v2) and others do."""
    headers = {"X-Amz-Target": f"{TARGET}.{operation}"}
    if sign_content_type:
        headers["Content-Type"] = "application/x-amz-json-1.1"
    request = AWSRequest(method="POST", url=f"{aml.endpoint_url}/", data=body, headers=headers)
    timestamp = (when or datetime.now(UTC)).strftime(SIGV4_TIMESTAMP)
    request.headers["X-Amz-Date"] = timestamp
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(aml.access_key_id, aml.secret_access_key), service, "us-east-1")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
    )
    data = body if sent_body is None else sent_body
    sent = {"Content-Type": "application/x-amz-json-1.1", **dict(request.headers.items())}
    return raw_post(aml, sent, data)


def raw_post(aml: LocalAml, headers: dict[str, str], body: bytes) -> tuple[int, Message, dict[str, Any]]:
    request = urllib.request.Request(f"{aml.endpoint_url}/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def error_of(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value


# Authentication


def test_wrong_secret_is_an_invalid_signature_and_not_retried(aml: LocalAml) -> None:
    error = error_of(client_with(aml, aml.access_key_id, "not-the-secret").describe_ml_models)
    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in error.response["Error"]["Message"]
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_unknown_access_key_is_an_unrecognized_client(aml: LocalAml) -> None:
    error = error_of(client_with(aml, "AKIAUNKNOWNKEY000000", aml.secret_access_key).describe_ml_models)
    assert error.response["Error"]["Code"] == "UnrecognizedClientException"
    assert error.response["Error"]["Message"] == "The security token included in the request is invalid."
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_unsigned_request_is_missing_its_token(aml: LocalAml) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET}.DescribeMLModels"}
    status, _, body = raw_post(aml, headers, b"{}")
    assert status == 403
    assert body["__type"] == "MissingAuthenticationTokenException"


def test_signature_older_than_15_minutes_has_expired(aml: LocalAml) -> None:
    status, _, body = signed_post(
        aml, "DescribeMLModels", b"{}", when=datetime.now(UTC) - timedelta(minutes=20)
    )
    assert (status, body["__type"]) == (400, "InvalidSignatureException")
    assert body["message"].startswith("Signature expired:")


def test_signature_must_be_scoped_to_machinelearning(aml: LocalAml) -> None:
    status, _, body = signed_post(aml, "DescribeMLModels", b"{}", service="s3")
    assert (status, body["__type"]) == (400, "InvalidSignatureException")
    assert "machinelearning" in body["message"]


def test_body_changed_after_signing_is_rejected(aml: LocalAml) -> None:
    status, _, body = signed_post(aml, "DescribeMLModels", b'{"Limit": 5}', sent_body=b'{"Limit": 6}')
    assert (status, body["__type"]) == (400, "InvalidSignatureException")


def test_requests_signed_by_hand_with_botocore_pieces_are_accepted(aml: LocalAml) -> None:
    status, headers, body = signed_post(aml, "DescribeMLModels", b'{"Limit": 1}')
    assert status == 200
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"]
    assert_valid_output("DescribeMLModels", body)


def test_an_unsigned_content_type_is_accepted_as_aws_accepts_it(aml: LocalAml) -> None:
    """The operation (X-Amz-Target) and the body's hash are signed; Content-Type need not be."""
    status, _, body = signed_post(aml, "DescribeMLModels", b'{"Limit": 1}', sign_content_type=False)
    assert status == 200, body
    assert_valid_output("DescribeMLModels", body)


def test_any_endpoint_path_is_served_and_signed_correctly(aml: LocalAml) -> None:
    client = client_with(aml, aml.access_key_id, aml.secret_access_key, f"{aml.endpoint_url}/some/base")
    response = client.describe_data_sources(Limit=1)
    assert_valid_output("DescribeDataSources", response)


def test_caller_is_recorded_as_a_local_iam_user(aml: LocalAml, ml: Any, s3: Any, bucket: str) -> None:
    uri = put_text(s3, bucket, f"{unique_id('protocol')}/data.csv", "x,y\n1,2\n2,4\n")
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": uri, "DataSchema": SCHEMA},
        ComputeStatistics=True,
    )
    status, _, document = signed_post(
        aml, "GetDataSource", json.dumps({"DataSourceId": data_source_id}).encode()
    )
    assert status == 200
    assert document["CreatedByIamUser"] == "arn:aws:iam::000000000000:user/local"
    assert isinstance(document["CreatedAt"], float)
    assert round(document["CreatedAt"], 3) == document["CreatedAt"]
    assert_valid_output("GetDataSource", document)


# Input validation


@pytest.mark.parametrize(
    ("method", "params", "member", "constraint"),
    [
        ("get_ml_model", {"MLModelId": "m" * 65}, "mLModelId", "length less than or equal to 64"),
        (
            "get_ml_model",
            {"MLModelId": "bad id!"},
            "mLModelId",
            "regular expression pattern: [a-zA-Z0-9_.-]+",
        ),
        ("describe_ml_models", {"Limit": 500}, "limit", "value less than or equal to 100"),
        ("describe_ml_models", {"FilterVariable": "Bogus"}, "filterVariable", "enum value set: [CreatedAt"),
        ("describe_evaluations", {"SortOrder": "up"}, "sortOrder", "enum value set: [asc, dsc]"),
        (
            "create_ml_model",
            {"MLModelId": "m1", "MLModelType": "FOO", "TrainingDataSourceId": "ds1"},
            "mLModelType",
            "enum value set: [REGRESSION, BINARY, MULTICLASS]",
        ),
        (
            "create_batch_prediction",
            {
                "BatchPredictionId": "b",
                "MLModelId": "m",
                "BatchPredictionDataSourceId": "d",
                "OutputUri": "bucket/x",
            },
            "outputUri",
            "regular expression pattern: s3://",
        ),
        (
            "add_tags",
            {"ResourceId": "m", "ResourceType": "MLModel", "Tags": [{"Key": "ok"}, {"Key": "no#hash"}]},
            "tags.2.member.key",
            "regular expression pattern",
        ),
    ],
)
def test_input_outside_the_model_is_invalid_input_naming_the_member(
    ml: Any, method: str, params: dict[str, Any], member: str, constraint: str
) -> None:
    error = error_of(getattr(ml, method), **params)
    assert error.response["Error"]["Code"] == "InvalidInputException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error.response["Error"]["Message"]
    assert f"at '{member}' failed to satisfy constraint: Member must " in message
    assert constraint in message


def test_all_violations_are_reported_together(ml: Any) -> None:
    message = error_of(ml.describe_ml_models, Limit=500, FilterVariable="Bogus").response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")


def test_passwords_never_appear_in_messages(ml: Any) -> None:
    password = "s3cr3t-" * 10
    spec = {
        "DatabaseInformation": {"DatabaseName": "db", "ClusterIdentifier": "cluster"},
        "SelectSqlQuery": "select 1",
        "DatabaseCredentials": {"Username": "user", "Password": password},
        "S3StagingLocation": "s3://bucket/staging/",
    }
    error = error_of(ml.create_data_source_from_redshift, DataSourceId="d", DataSpec=spec, RoleARN="role")
    message = error.response["Error"]["Message"]
    assert "dataSpec.databaseCredentials.password" in message
    assert "s3cr3t" not in message


def test_local_predict_endpoint_urls_are_accepted(ml: Any, aml: LocalAml) -> None:
    error = error_of(
        ml.predict, MLModelId=unique_id("ml"), Record={"x": "1"}, PredictEndpoint=aml.endpoint_url
    )
    assert error.response["Error"]["Code"] == "ResourceNotFoundException"


def test_raw_requests_get_type_checks_botocore_would_make(aml: LocalAml) -> None:
    status, _, body = signed_post(aml, "DescribeMLModels", b'{"Limit": "5", "Extra": 1}')
    assert (status, body["__type"]) == (400, "InvalidInputException")
    assert "Value '5' at 'limit' failed to satisfy constraint: Member must be an integer" in body["message"]
    assert "Unknown member 'Extra' in the request" in body["message"]


# Protocol errors


def test_unknown_operation(aml: LocalAml) -> None:
    status, _, body = signed_post(aml, "TrainEverything", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_malformed_json_is_a_serialization_error(aml: LocalAml) -> None:
    status, _, body = signed_post(aml, "DescribeMLModels", b'{"Limit": ')
    assert (status, body["__type"]) == (400, "SerializationException")


def test_internal_errors_are_500_and_retried_by_botocore(tmp_path: Path) -> None:
    sock = bind_socket("127.0.0.1", 0)
    config, _ = with_access_keys(ServiceConfig(data_dir=tmp_path, port=sock.getsockname()[1]))
    backend = Backend(config)
    server = BackgroundServer(create_app(backend, Authenticator(config.access_keys)), sock)
    server.start()
    try:
        backend.stop()  # a backend that is not running can only answer internal errors
        ((key, secret),) = config.access_keys.items()
        client = boto3.session.Session().client(
            "machinelearning",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
        )
        error = error_of(client.describe_ml_models)
    finally:
        server.stop()
    assert error.response["Error"]["Code"] == "InternalServerException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 1


# Pages


def test_health(aml: LocalAml) -> None:
    with urllib.request.urlopen(f"{aml.endpoint_url}/health") as response:
        assert json.loads(response.read())["status"] == "ok"


def test_console_and_log_pages_show_the_entity(aml: LocalAml, ml: Any, s3: Any, bucket: str) -> None:
    uri = put_text(s3, bucket, f"{unique_id('console')}/data.csv", "x,y\n1,2\n")
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id, DataSpec={"DataLocationS3": uri, "DataSchema": SCHEMA}
    )
    entity = ml.get_data_source(DataSourceId=data_source_id)
    with urllib.request.urlopen(f"{aml.endpoint_url}/console/DataSource/{data_source_id}") as response:
        page = response.read().decode()
    assert response.headers["content-type"].startswith("text/html")
    assert data_source_id in page
    assert uri in page
    assert entity["LogUri"] in page
    with urllib.request.urlopen(entity["LogUri"]) as response:
        assert data_source_id in response.read().decode()
    with urllib.request.urlopen(f"{aml.endpoint_url}/console") as response:
        assert data_source_id in response.read().decode()


def test_console_page_of_an_unknown_entity_is_not_found(aml: LocalAml) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{aml.endpoint_url}/console/MLModel/{unique_id('nothing')}")
    assert caught.value.code == 404


def get_page(url: str, authorization: str | None = None) -> tuple[int, str, Message]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAml]:
    """A service whose pages need credentials, with a console token."""
    data_dir = tmp_path_factory.mktemp("guarded")
    with LocalAml(data_dir=data_dir, console_auth=True, console_token="console-secret-token") as service:
        yield service


@pytest.mark.parametrize("path", ["/console", "/console/MLModel/x", "/logs/DataSource/x", "/", "/anything"])
def test_guarded_pages_need_credentials(guarded: LocalAml, path: str) -> None:
    status, text, headers = get_page(guarded.endpoint_url + path)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")
    assert "access key" in text
    wrong = basic(guarded.access_key_id, "not-the-secret")
    assert get_page(guarded.endpoint_url + path, wrong)[0] == 401
    assert get_page(guarded.endpoint_url + path, "Bearer not-the-token")[0] == 401


def post_form(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=b"ScoreThreshold=0.4", headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_console_forms_need_credentials_when_pages_do(guarded: LocalAml) -> None:
    url = f"{guarded.endpoint_url}/console/MLModel/{unique_id('ml')}/score-threshold"
    assert post_form(url, {}) == 401
    assert post_form(url, {"Authorization": basic(guarded.access_key_id, guarded.secret_access_key)}) == 404


def test_console_forms_posted_from_another_site_are_refused(aml: LocalAml) -> None:
    url = f"{aml.endpoint_url}/console/MLModel/{unique_id('ml')}/score-threshold"
    host = aml.endpoint_url.removeprefix("http://")
    assert post_form(url, {"Origin": "https://attacker.example"}) == 403
    assert post_form(url, {"Referer": "https://attacker.example/page"}) == 403
    assert post_form(url, {"Origin": "null"}) == 403
    assert post_form(url, {"Origin": f"http://{host}"}) == 404  # the console's own page: on to the model
    assert post_form(url, {}) == 404  # not from a browser page


def test_guarded_pages_open_to_the_key_pair_or_the_token(guarded: LocalAml) -> None:
    ml = guarded.client()
    ml.describe_ml_models()  # the API needs only its signature
    pair = basic(guarded.access_key_id, guarded.secret_access_key)
    assert get_page(f"{guarded.endpoint_url}/console", pair)[0] == 200
    assert get_page(f"{guarded.endpoint_url}/console", "Bearer console-secret-token")[0] == 200
    assert get_page(f"{guarded.endpoint_url}/health")[0] == 200


def test_pages_need_credentials_by_default_off_loopback(tmp_path: Path) -> None:
    assert not ServiceConfig(data_dir=tmp_path, host="127.0.0.1").pages_need_auth
    assert not ServiceConfig(data_dir=tmp_path, host="::1").pages_need_auth
    assert ServiceConfig(data_dir=tmp_path, host="192.168.1.5").pages_need_auth
    assert not ServiceConfig(data_dir=tmp_path, host="0.0.0.0", console_auth=False).pages_need_auth
    with LocalAml(data_dir=tmp_path, host="0.0.0.0") as service:
        url = f"http://127.0.0.1:{service.config.port}"
        assert get_page(f"{url}/console")[0] == 401
        assert get_page(f"{url}/console", basic(service.access_key_id, service.secret_access_key))[0] == 200
        assert get_page(f"{url}/health")[0] == 200


def test_region_of_the_signature_must_be_the_services(aml: LocalAml) -> None:
    client = boto3.session.Session().client(
        "machinelearning",
        endpoint_url=aml.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id=aml.access_key_id,
        aws_secret_access_key=aml.secret_access_key,
    )
    error = error_of(client.describe_ml_models)
    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert "'eu-west-1'" in error.response["Error"]["Message"]
    assert "'us-east-1'" in error.response["Error"]["Message"]


def test_service_in_another_region_accepts_its_own(tmp_path: Path) -> None:
    with LocalAml(data_dir=tmp_path, region_name="eu-west-1") as service:
        client = boto3.session.Session().client(
            "machinelearning",
            endpoint_url=service.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id=service.access_key_id,
            aws_secret_access_key=service.secret_access_key,
        )
        assert client.describe_ml_models()["Results"] == []
        assert (
            error_of(service.client().describe_ml_models).response["Error"]["Code"]
            == "InvalidSignatureException"
        )
