"""Bad requests of the bad-input matrix: the case type, cases generated from the API model, builders."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSRequest
from botocore.model import Shape, StructureShape

from aml_provider.local import LocalAml
from aml_provider.local.protocol import service_model, validate_input
from tests.helpers import schema_text, unique_id

TARGET = "AmazonML_20141212"
MAX_BODY = 2**20
INVALID = "InvalidInputException"
SCHEMA = json.loads(schema_text(x="NUMERIC", words="TEXT", y="BINARY"))

#: Schema-valid values for the shapes with patterns or minimums (the rest get a generic value).
SAMPLES: dict[str, Any] = {
    "EntityId": "bad-input-entity",
    "S3Url": "s3://bucket/key",
    "RoleARN": "arn:aws:iam::000000000000:role/local",
    "RedshiftDatabaseName": "db",
    "RedshiftClusterIdentifier": "cluster",
    "RDSInstanceIdentifier": "instance",
    "RedshiftDatabasePassword": "password1",
    "RDSDatabasePassword": "password1",
    "TaggableResourceType": "MLModel",
    "VipURL": "https://realtime.machinelearning.us-east-1.amazonaws.com",
}


@dataclass
class Case:
    """One bad request: its operation and members (or raw body and headers), and the answer expected."""

    name: str
    operation: str
    params: dict[str, Any] | Callable[[World], dict[str, Any]] = field(default_factory=dict)
    code: str = INVALID
    named: str = ""  # what the message must mention (case-insensitive): the field at fault
    status: int = 400
    body: bytes | None = None  # raw body instead of JSON params
    sign: Callable[[AWSRequest, World], None] | None = None  # tampers with the request instead of signing


@dataclass
class World:
    """The entities every case may refer to, on a service of the matrix's own."""

    aml: LocalAml
    ml: Any
    s3: Any
    bucket: str
    data_source: str
    model: str
    token: str = ""


# --- Generated cases: every operation and member ------------------------------------------------------


def valid_value(shape: Shape) -> Any:
    """A value that passes validation for `shape` (structures get their required members only)."""
    if isinstance(shape, StructureShape):
        return {
            name: valid_value(member)
            for name, member in shape.members.items()
            if name in shape.required_members
        }
    kind = shape.type_name
    if kind == "list":
        return [valid_value(shape.member)]  # type: ignore[attr-defined]
    if kind == "map":
        return {}
    if kind == "boolean":
        return True
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("float", "double"):
        return 0.5
    if "enum" in shape.metadata:
        return shape.metadata["enum"][0]
    return SAMPLES.get(shape.name, "x" * max(int(shape.metadata.get("min", 1)), 1))


def wrong_type(shape: Shape) -> Any:
    """A JSON value of another type than `shape` takes."""
    return (
        "text"
        if shape.type_name in ("structure", "map", "list", "boolean", "integer", "long", "float")
        else 42
    )


def baseline(operation: str) -> dict[str, Any]:
    shape = service_model().operation_model(operation).input_shape
    return valid_value(shape) if shape is not None else {}


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def generated_cases() -> Iterator[Case]:
    model = service_model()
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        assert shape is not None, operation
        base = baseline(operation)
        validate_input(shape, base)  # the baseline itself is valid, so each case breaks exactly one thing
        for name in shape.required_members:
            params = {k: v for k, v in base.items() if k != name}
            yield Case(f"{operation}-missing-{name}", operation, params, named=camel(name))
        for name, member in shape.members.items():
            yield Case(
                f"{operation}-type-{name}", operation, base | {name: wrong_type(member)}, named=camel(name)
            )
            if member.name == "EntityId":
                for bad in (".", ".."):
                    yield Case(f"{operation}-{name}-{bad}", operation, base | {name: bad}, named=camel(name))
        yield Case(f"{operation}-unknown-member", operation, base | {"Bogus": "1"}, named="Bogus")


# --- Hand-made cases: what only the backend can judge -----------------------------------------------


def s3_request(world: World, **spec: Any) -> dict[str, Any]:
    data_spec = {"DataLocationS3": f"s3://{world.bucket}/data.csv", "DataSchema": json.dumps(SCHEMA)} | spec
    return {
        "DataSourceId": unique_id("ds-bad"),
        "DataSpec": {k: v for k, v in data_spec.items() if v is not None},
    }


def rearranged(text: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: s3_request(world, DataRearrangement=text)


def model_request(**members: Any) -> Callable[[World], dict[str, Any]]:
    def build(world: World) -> dict[str, Any]:
        request = {
            "MLModelId": unique_id("ml-bad"),
            "MLModelType": "BINARY",
            "TrainingDataSourceId": world.data_source,
        }
        return request | members

    return build


def batch_request(**members: Any) -> Callable[[World], dict[str, Any]]:
    def build(world: World) -> dict[str, Any]:
        request = {
            "BatchPredictionId": unique_id("bp-bad"),
            "MLModelId": world.model,
            "BatchPredictionDataSourceId": world.data_source,
            "OutputUri": f"s3://{world.bucket}/out/",
        }
        return request | members

    return build


def predict(record: dict[str, Any]) -> Callable[[World], dict[str, Any]]:
    return lambda world: {
        "MLModelId": world.model,
        "Record": record,
        "PredictEndpoint": world.aml.endpoint_url,
    }


def tags(**members: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"ResourceId": world.model, "ResourceType": "MLModel"} | members


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def forged_token(payload: dict[str, Any], signature: str = "0" * 32) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode() + "." + signature


def deep_calls(depth: int) -> str:
    return json.dumps({"outputs": ["lowercase(" * depth + "words" + ")" * depth]})
