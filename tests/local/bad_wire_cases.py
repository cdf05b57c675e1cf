"""Bad requests on the wire: bodies, encodings, operations and signatures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.local.bad_requests import MAX_BODY, TARGET, Case, World, nested_json


def unsigned_header(name: str, value: str) -> Callable[[AWSRequest, World], None]:
    """Sign without `name`, then add it: the header is sent but not covered by the signature."""

    def tamper(request: AWSRequest, world: World) -> None:
        del request.headers[name]
        sign(request, world)
        request.headers[name] = value

    return tamper


def signed_as(
    region: str = "us-east-1",
    service: str = "machinelearning",
    key: str = "",
    secret: str = "",
    when: datetime | None = None,
) -> Callable[[AWSRequest, World], None]:
    def tamper(request: AWSRequest, world: World) -> None:
        sign(
            request,
            world,
            region,
            service,
            key or world.aml.access_key_id,
            secret or world.aml.secret_access_key,
            when,
        )

    return tamper


def then(change: Callable[[AWSRequest], None]) -> Callable[[AWSRequest, World], None]:
    """Sign, then change the request (so the signature no longer matches, or a header is malformed)."""

    def tamper(request: AWSRequest, world: World) -> None:
        sign(request, world)
        change(request)

    return tamper


def replace_header(name: str, value: str) -> Callable[[AWSRequest], None]:
    def change(request: AWSRequest) -> None:
        request.headers.replace_header(name, value)

    return change


def set_authorization(edit: Callable[[str], str]) -> Callable[[AWSRequest], None]:
    def change(request: AWSRequest) -> None:
        request.headers.replace_header("Authorization", edit(request.headers["Authorization"]))

    return change


def with_header(name: str, value: str) -> Callable[[AWSRequest, World], None]:
    """Add a header, then sign: it is covered by the signature."""

    def tamper(request: AWSRequest, world: World) -> None:
        request.headers[name] = value
        sign(request, world)

    return tamper


def no_signature(request: AWSRequest, world: World) -> None:
    """Send the request without an Authorization header."""


def tampered_body(request: AWSRequest) -> None:
    request.data = b'{"Limit": 2}'


RAW_CASES = [
    Case(
        "body-not-json",
        "DescribeMLModels",
        body=b"{Limit: 1}",
        code="SerializationException",
        named="request body",
    ),
    Case("body-array", "DescribeMLModels", body=b"[]", code="SerializationException", named="request body"),
    Case("body-string", "DescribeMLModels", body=b'"x"', code="SerializationException", named="request body"),
    Case(
        "body-nested-10000",
        "DescribeMLModels",
        body=b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        code="SerializationException",
        named="request body",
    ),
    Case(
        "body-list-nested-10000",
        "DescribeMLModels",
        body=f'{{"Limit": {nested_json(10_000)}}}'.encode(),
        code="SerializationException",
        named="request body",
    ),
    Case(
        "body-nested-30",
        "DescribeMLModels",
        body=f'{{"Limit": {nested_json(30)}}}'.encode(),
        code="SerializationException",
        named="request body",
    ),
    Case(
        "body-utf16",
        "DescribeMLModels",
        body='{"Limit": 1}'.encode("utf-16"),
        code="SerializationException",
        named="UTF-8",
    ),
    Case(
        "body-utf16-no-bom",
        "DescribeMLModels",
        body='{"Limit": 1}'.encode("utf-16-le"),
        code="SerializationException",
        named="UTF-8",
    ),
    Case(
        "body-utf8-bom",
        "DescribeMLModels",
        body=b"\xef\xbb\xbf{}",
        code="SerializationException",
        named="byte-order mark",
    ),
    Case(
        "body-latin1",
        "GetMLModel",
        body='{"MLModelId": "modèle"}'.encode("latin-1"),
        code="SerializationException",
        named="UTF-8",
    ),
    Case(
        "body-nan",
        "UpdateMLModel",
        body=b'{"MLModelId": "m", "ScoreThreshold": NaN}',
        code="SerializationException",
        named="NaN",
    ),
    Case(
        "body-infinity",
        "UpdateMLModel",
        body=b'{"MLModelId": "m", "ScoreThreshold": Infinity}',
        code="SerializationException",
        named="Infinity",
    ),
    Case(
        "body-truncated",
        "GetMLModel",
        body=b'{"MLModelId": "m"',
        code="SerializationException",
        named="request body",
    ),
    Case(
        "body-too-large",
        "DescribeMLModels",
        body=b" " * (MAX_BODY + 1),
        code="RequestEntityTooLargeException",
        named="request body",
        status=413,
    ),
    Case("target-unknown", "Train", code="UnknownOperationException", named="X-Amz-Target"),
    Case(
        "target-other-service",
        "DynamoDB_20120810.GetItem",
        code="UnknownOperationException",
        named="X-Amz-Target",
    ),
    Case(
        "no-authorization",
        "DescribeMLModels",
        sign=no_signature,
        code="MissingAuthenticationTokenException",
        named="Authentication Token",
        status=403,
    ),
    Case(
        "unsigned-target",
        "DescribeMLModels",
        sign=unsigned_header("X-Amz-Target", f"{TARGET}.DescribeMLModels"),
        code="IncompleteSignatureException",
        named="x-amz-target",
    ),
    Case(
        "target-swapped-after-signing",
        "DeleteMLModel",
        sign=then(replace_header("X-Amz-Target", f"{TARGET}.DeleteDataSource")),
        code="InvalidSignatureException",
        named="signature",
    ),
    Case(
        "wrong-region",
        "DescribeMLModels",
        sign=signed_as(region="eu-west-1"),
        code="InvalidSignatureException",
        named="region",
    ),
    Case(
        "wrong-service",
        "DescribeMLModels",
        sign=signed_as(service="s3"),
        code="InvalidSignatureException",
        named="service",
    ),
    Case(
        "unknown-key",
        "DescribeMLModels",
        sign=signed_as(key="AKIAUNKNOWN000000000"),
        code="UnrecognizedClientException",
        named="security token",
    ),
    Case(
        "wrong-secret",
        "DescribeMLModels",
        sign=signed_as(secret="not-the-secret"),
        code="InvalidSignatureException",
        named="signature",
    ),
    Case(
        "expired",
        "DescribeMLModels",
        sign=signed_as(when=datetime.now(UTC) - timedelta(hours=1)),
        code="InvalidSignatureException",
        named="Signature expired",
    ),
    Case(
        "from-the-future",
        "DescribeMLModels",
        sign=signed_as(when=datetime.now(UTC) + timedelta(hours=1)),
        code="InvalidSignatureException",
        named="Signature not yet current",
    ),
    Case(
        "tampered-body",
        "DescribeMLModels",
        sign=then(tampered_body),
        code="InvalidSignatureException",
        named="signature",
    ),
    Case(
        "bad-date",
        "DescribeMLModels",
        sign=then(replace_header("X-Amz-Date", "yesterday")),
        code="IncompleteSignatureException",
        named="X-Amz-Date",
    ),
    Case(
        "other-algorithm",
        "DescribeMLModels",
        sign=then(set_authorization(lambda value: value.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"))),
        code="IncompleteSignatureException",
        named="AWS4-HMAC-SHA256",
    ),
    Case(
        "no-signed-headers",
        "DescribeMLModels",
        sign=then(set_authorization(lambda value: value.replace("SignedHeaders=", "Signed="))),
        code="IncompleteSignatureException",
        named="SignedHeaders",
    ),
    Case(
        "host-not-signed",
        "DescribeMLModels",
        sign=then(
            set_authorization(
                lambda value: value.replace("SignedHeaders=", "SignedHeaders=x-amz-date;").replace(
                    "host;", ""
                )
            )
        ),
        code="IncompleteSignatureException",
        named="Host",
    ),
    Case(
        "short-credential",
        "DescribeMLModels",
        sign=then(set_authorization(lambda value: value.replace("/aws4_request", ""))),
        code="IncompleteSignatureException",
        named="Credential",
    ),
    Case(
        "payload-hash-mismatch",
        "DescribeMLModels",
        sign=with_header("X-Amz-Content-SHA256", "0" * 64),
        code="InvalidSignatureException",
        named="x-amz-content-sha256",
    ),
]


def sign(
    request: AWSRequest,
    world: World,
    region: str = "us-east-1",
    service: str = "machinelearning",
    key: str = "",
    secret: str = "",
    when: datetime | None = None,
) -> None:
    """Sign as botocore does: every header present is signed."""
    timestamp = (when or datetime.now(UTC)).strftime(SIGV4_TIMESTAMP)
    request.headers["X-Amz-Date"] = timestamp
    request.context["timestamp"] = timestamp
    credentials = Credentials(key or world.aml.access_key_id, secret or world.aml.secret_access_key)
    signer = SigV4Auth(credentials, service, region)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
    )
