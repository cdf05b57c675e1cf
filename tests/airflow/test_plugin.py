"""The Airflow plugin "Amazon ML" as Airflow loads it, and the family operators' "Family page" link."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aml_provider.family.log import DecisionLog
from aml_provider.family.record import FamilyStore
from aml_provider.links import AmlFamilyPageLink
from aml_provider.links.family_page import family_page_url
from aml_provider.local import LocalAml
from aml_provider.operators.aml import AmlBaseOperator
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id

AIRFLOW = Path(sys.executable).with_name("airflow")


class FamilyStepOperator(AmlBaseOperator):
    """A task of a model family, as the family operators are: ``family``, ``reports_uri`` and the link."""

    operator_extra_links = (AmlFamilyPageLink(),)

    def __init__(self, *, family: str, reports_uri: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family
        self.reports_uri = reports_uri

    def execute(self, context: Any) -> None:
        self.log.info("Family %s under %s", self.family, self.reports_uri)


def test_airflow_plugins_lists_the_amazon_ml_plugin() -> None:
    result = subprocess.run(
        [str(AIRFLOW), "plugins", "--output", "json"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)}
    plugin = plugins["amazon_ml"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/amazon-ml"
    view = plugin["external_views"][0]
    assert (view["name"], view["url_route"], view["destination"]) == ("Amazon ML", "amazon-ml", "nav")
    assert "airflow.plugins" in plugin["source"]


def test_family_page_link_opens_the_local_consoles_family_page(
    dag_runner: DagRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = unique_id("aml-link")
    reports_uri = f"s3://{bucket}/families/"
    with LocalAml(families_uris=(reports_uri,)) as service:
        s3 = service.client("s3")
        s3.create_bucket(Bucket=bucket)
        FamilyStore(s3, reports_uri, "churn").update(lambda record: setattr(record, "threshold", 0.4))
        DecisionLog(s3, reports_uri, "churn").append("decision", "run-1", action="skip", reason="no new data")
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(service.airflow_connection))
        with dag_runner.dag() as dag:
            FamilyStepOperator(task_id="decide", family="churn", reports_uri=reports_uri)
        dag_run = dag_runner.run(dag)
        assert dag_runner.states(dag_run) == {"decide": "success"}, dag_runner.failure_text()
        link = dag_runner.xcom(dag_run, "decide", "_link_AmlFamilyPageLink")
        assert (
            link
            == f"{service.endpoint_url}/console/families/churn?reports_uri=s3%3A%2F%2F{bucket}%2Ffamilies%2F"
        )
        with urllib.request.urlopen(link) as response:
            page = response.read().decode()
        assert "Model family churn" in page
        assert "no new data" in page


def test_family_page_link_on_aws_opens_the_plugins_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a")
    assert family_page_url("churn", "s3://ml/families/", None) == (
        "https://airflow.example.com/team-a/amazon-ml/families/churn?reports_uri=s3%3A%2F%2Fml%2Ffamilies%2F"
    )


def test_plugin_pages_need_an_airflow_login() -> None:
    from fastapi.testclient import TestClient

    from aml_provider.plugins.app import create_app

    client = TestClient(create_app())
    for path in ("/", "/families/churn", "/families/churn/reports/2026-01-01/decision.html"):
        assert client.get(path).status_code == 401, path
