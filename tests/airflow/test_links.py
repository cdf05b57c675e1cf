"""Task links to the local service open its public address (what a browser reaches), not the workers' one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aml_provider.hooks.aml import DATA_SOURCE, AmlHook
from aml_provider.links.aml import (
    AmlBatchPredictionLink,
    AmlDataSourceLink,
    AmlEvaluationLink,
    AmlLink,
    AmlMLModelLink,
)
from aml_provider.links.family import AmlDecisionReportLink
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


CONSOLE = "https://console.aws.amazon.com/machinelearning/home?region=eu-west-1#/"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (AmlDataSourceLink(), CONSOLE + "insights/ds-1/summary"),
        (AmlMLModelLink(), CONSOLE + "predictor-insight/ds-1?tabId=summary"),
        (
            AmlEvaluationLink(),
            CONSOLE + "predictor-insight/ml-1?tabId=evaluations&evaluationId=ds-1&viewId=summary",
        ),
        (AmlBatchPredictionLink(), CONSOLE + "batch-prediction-insight/ds-1"),
    ],
)
def test_links_on_aws_open_the_amazon_ml_console(
    link: AmlLink, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection to AWS itself has no local service, so each entity's link is its console page."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_CLOUD", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu-west-1"}})
    )
    hook = AmlHook(aws_conn_id="aws_cloud")
    url = hook.public_service_url(DATA_SOURCE, "ds-1")
    assert url is None
    domain = AmlLink.get_aws_domain(hook.conn_partition)
    found = link.format_link(
        region_name=hook.conn_region_name,
        aws_domain=domain,
        local_service_url=url,
        entity_id="ds-1",
        ml_model_id="ml-1",
    )
    assert found == expected


def test_a_decision_report_link_on_aws_opens_the_s3_console() -> None:
    link = AmlDecisionReportLink().format_link(
        local_s3_url=None,
        bucket="reports",
        key="churn/run%201/decision.html",
        region_name="eu-west-1",
        aws_domain=AmlDecisionReportLink.get_aws_domain("aws"),
    )
    assert (
        link
        == "https://console.aws.amazon.com/s3/object/reports?region=eu-west-1&prefix=churn/run%201/decision.html"
    )
