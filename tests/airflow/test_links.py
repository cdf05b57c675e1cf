"""Task links to the local service open its public address (what a browser reaches), not the workers' one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aml_provider.hooks.aml import DATA_SOURCE, AmlHook
from aml_provider.links.aml import AmlDataSourceLink
from aml_provider.local import LocalAml
from tests.airflow.data import SCHEMA, labelled_rows
from tests.helpers import put_text, unique_id, wait_for

PUBLIC = "http://aml.localhost:8086"


@pytest.fixture(scope="module")
def service_behind_a_public_name() -> Any:
    with LocalAml(public_url=PUBLIC) as service:
        yield service


def test_a_data_source_link_opens_the_public_url(
    service_behind_a_public_name: LocalAml, monkeypatch: pytest.MonkeyPatch
) -> None:
    aml = service_behind_a_public_name
    monkeypatch.setenv("AIRFLOW_CONN_AML_PUBLIC", json.dumps(aml.airflow_connection))
    s3, ml = aml.client("s3"), aml.client()
    bucket = unique_id("links")
    s3.create_bucket(Bucket=bucket)
    location = put_text(s3, bucket, "train.csv", labelled_rows(50))
    source = unique_id("ds-link")
    ml.create_data_source_from_s3(
        DataSourceId=source, DataSpec={"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)}
    )
    wait_for(ml, "DataSource", source)
    hook = AmlHook(aws_conn_id="aml_public")
    assert hook.local_service_url == aml.endpoint_url  # the workers' address
    assert hook.public_service_url(DATA_SOURCE, source) == PUBLIC
    link = AmlDataSourceLink().format_link(
        local_service_url=hook.public_service_url(DATA_SOURCE, source), entity_id=source
    )
    assert link == f"{PUBLIC}/console/DataSource/{source}"
