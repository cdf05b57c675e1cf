"""The bad-input matrix: every operation, field type, encoding, path, nesting and signature fault.

Every case is sent over real HTTP, signed as botocore signs (or deliberately not), to a service of its
own. Each must be answered with a 4xx naming the field at fault, never a 500, and must leave nothing
behind: the entities Describe lists, the objects in S3 and the artifact folders are the same afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest

from aml_provider.local import LocalAml
from aml_provider.local.protocol import service_model
from tests.helpers import http_post, put_text, unique_id, wait_for
from tests.local.bad_request_cases import SEMANTIC_CASES
from tests.local.bad_requests import MAX_BODY, SCHEMA, TARGET, Case, World, generated_cases
from tests.local.bad_wire_cases import RAW_CASES, sign

CASES = [*generated_cases(), *SEMANTIC_CASES, *RAW_CASES]


def send(world: World, case: Case) -> tuple[int, dict[str, Any]]:
    params = case.params(world) if callable(case.params) else case.params
    body = case.body if case.body is not None else json.dumps(params).encode()
    target = case.operation if "." in case.operation else f"{TARGET}.{case.operation}"
    request = AWSRequest(
        method="POST",
        url=f"{world.aml.endpoint_url}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    (case.sign or sign)(request, world)
    sent = request.data  # the signer may have changed it after signing
    assert isinstance(sent, bytes)
    status, answer = http_post(str(request.url), dict(request.headers.items()), sent)
    return status, json.loads(answer)


def state(world: World) -> dict[str, Any]:
    """Everything a bad request could have left behind: entities, S3 objects, artifact folders."""
    entities = {}
    for kind in ("DataSources", "MLModels", "Evaluations", "BatchPredictions"):
        pages = world.ml.get_paginator(f"describe_{camel_snake(kind)}").paginate()
        entities[kind] = sorted(
            json.dumps(result, default=str) for page in pages for result in page["Results"]
        )
    listed = world.s3.list_objects_v2(Bucket=world.bucket).get("Contents", [])
    folders = sorted(
        str(p.relative_to(world.aml.config.data_dir))
        for p in (world.aml.config.data_dir / "artifacts").glob("*/*")
    )
    return {"entities": entities, "objects": sorted(item["Key"] for item in listed), "folders": folders}


def camel_snake(kind: str) -> str:
    return {
        "DataSources": "data_sources",
        "MLModels": "ml_models",
        "Evaluations": "evaluations",
        "BatchPredictions": "batch_predictions",
    }[kind]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A service of the matrix's own (1 MiB body limit) with a COMPLETED datasource and model, endpoint READY."""
    with LocalAml(data_dir=tmp_path_factory.mktemp("bad-input"), max_body_bytes=MAX_BODY) as aml:
        ml, s3 = aml.client(), aml.client("s3")
        bucket = unique_id("bad-input")
        s3.create_bucket(Bucket=bucket)
        rows = "\n".join(f"{i % 7},w{i % 3} w{i % 5},{i % 2}" for i in range(60))
        location = put_text(s3, bucket, "data.csv", "x,words,y\n" + rows + "\n")
        data_source = "ds-bad-input"
        for data_source_id in (data_source, f"{data_source}-2"):  # two, so that Describe pages
            ml.create_data_source_from_s3(
                DataSourceId=data_source_id,
                DataSpec={"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)},
                ComputeStatistics=True,
            )
        assert wait_for(ml, "DataSource", data_source)["Status"] == "COMPLETED"
        ml.create_ml_model(MLModelId="ml-bad-input", MLModelType="BINARY", TrainingDataSourceId=data_source)
        assert wait_for(ml, "MLModel", "ml-bad-input", timeout=120)["Status"] == "COMPLETED"
        ml.create_realtime_endpoint(MLModelId="ml-bad-input")
        while ml.get_ml_model(MLModelId="ml-bad-input")["EndpointInfo"]["EndpointStatus"] != "READY":
            time.sleep(0.05)
        token = ml.describe_data_sources(FilterVariable="Name", Prefix="", Limit=1)["NextToken"]
        world = World(aml, ml, s3, bucket, data_source, "ml-bad-input", token)
        yield world


def test_the_matrix_has_at_least_200_cases() -> None:
    assert len(CASES) >= 200
    assert len({case.name for case in CASES}) == len(CASES), "case names are unique"
    assert {case.operation for case in CASES} >= set(service_model().operation_names), "every operation"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_a_clear_client_error_that_changes_nothing(world: World, case: Case) -> None:
    before = state(world)
    status, body = send(world, case)
    assert status < 500, body
    assert (status, body.get("__type")) == (case.status, case.code), body
    assert case.named.lower() in body["message"].lower(), body["message"]
    assert state(world) == before, "the rejected request left something behind"
