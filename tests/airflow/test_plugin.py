"""The Airflow plugin "Amazon ML" as Airflow loads it, and the family operators' "Family page" link."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from aml_provider.links.family_page import family_page_url
from aml_provider.local import LocalAml
from aml_provider.operators import AmlRollbackMLModelOperator
from tests.airflow.runner import DagRunner
from tests.helpers import unique_id
from tests.pages.families import build_family

AIRFLOW = Path(sys.executable).with_name("airflow")


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


def test_rollback_links_to_the_family_page_that_shows_it(
    dag_runner: DagRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = unique_id("aml-link")
    with LocalAml(families_uris=(f"s3://{bucket}/families/",)) as service:
        ml, s3 = service.client(), service.client("s3")
        s3.create_bucket(Bucket=bucket)
        family = build_family(ml, s3, bucket)
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(service.airflow_connection))
        with dag_runner.dag() as dag:
            AmlRollbackMLModelOperator(
                task_id="rollback",
                family=family.name,
                reports_uri=family.reports_uri,
                ml_model_id=family.previous,
                waiter_delay=0.3,
            )
        dag_run = dag_runner.run(dag)
        assert dag_runner.states(dag_run) == {"rollback": "success"}, dag_runner.failure_text()
        link = dag_runner.xcom(dag_run, "rollback", "_link_AmlFamilyPageLink")
        assert (
            link
            == f"{service.endpoint_url}/console/families/churn?reports_uri=s3%3A%2F%2F{bucket}%2Ffamilies%2F"
        )
        with urllib.request.urlopen(link) as response:
            page = response.read().decode()
    summary = page[page.index('id="summary"') : page.index('id="trend"')]
    assert summary.index(family.previous) < summary.index(family.champion)  # now the champion, then previous
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index(">rollback<") < timeline.index(">cleanup<")  # newest first: the rollback on top


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
