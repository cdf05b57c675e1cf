"""The Airflow plugin "Amazon ML" rendered by a real ``airflow api-server`` and opened in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aml_provider.local import LocalAml
from tests.pages.airflow_server import ApiServer
from tests.pages.conftest import FAMILIES_BUCKET, Tab, open_tab
from tests.pages.families import RUNS, Family


@pytest.fixture(scope="module")
def airflow_url(
    request: pytest.FixtureRequest, console_service: LocalAml, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The API server, its ``aws_default`` pointing at the local service, configured with the families' URI;
    the family is built while the server starts."""
    extra = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(console_service.airflow_connection),
        "AML_FAMILY_REPORTS_URIS": f"s3://{FAMILIES_BUCKET}/families/",
    }
    with ApiServer(tmp_path_factory.mktemp("airflow-home"), extra) as server:
        request.getfixturevalue("family")
        yield server.wait()


@pytest.fixture
def airflow_tab(browser: Any, airflow_url: str) -> Iterator[Tab]:
    with open_tab(browser, airflow_url) as tab:
        yield tab


def test_plugin_index_and_family_page_render_with_svg_data(
    airflow_tab: Tab, family: Family, console_service: LocalAml
) -> None:
    page = airflow_tab.open("/amazon-ml/")
    row = page.locator("#families tr", has=page.locator("a.family", has_text=family.name))
    assert row.locator("a.model").inner_text() == family.champion
    assert row.locator("svg.sparkline .point").count() == sum(1 for run in RUNS if run[2] is not None)
    row.locator("a.family").click()
    page.wait_for_load_state()
    assert page.url == f"{airflow_tab.base_url}/amazon-ml/families/{family.name}"
    assert page.locator("#trend .point").count() > 0
    assert page.locator("#timeline tr").count() > len(RUNS)
    assert page.locator("#rollback tr").count() == len(family.models)
    model_link = page.locator("#summary a.model").first.get_attribute("href")
    assert model_link == f"{console_service.endpoint_url}/console/MLModel/{family.champion}"
    airflow_tab.screenshot("plugin-family")
    page.locator("a.report").first.click()
    page.wait_for_load_state()
    assert page.title() == f"Decision {RUNS[-1][0]}"


def test_plugin_is_in_the_airflow_ui_navigation(airflow_tab: Tab, family: Family) -> None:
    page = airflow_tab.open("/plugin/amazon-ml")
    frame = page.frame_locator("iframe[title='Amazon ML']")
    frame.locator("a.family", has_text=family.name).wait_for()
    assert frame.locator("svg.sparkline .point").count() > 0
    page.get_by_role("button", name="Browse").click()
    assert page.get_by_role("menuitem", name="Amazon ML").count() == 1
    page.keyboard.press("Escape")
    airflow_tab.screenshot("airflow-plugin-index", full_page=False)
    frame.locator("a.family", has_text=family.name).click()
    frame.locator("#trend .point").first.wait_for()
    page.set_viewport_size({"width": 1280, "height": 1300})
    airflow_tab.screenshot("airflow-plugin", full_page=False)


def test_plugin_reports_and_unknown_families_are_not_found(airflow_tab: Tab, family: Family) -> None:
    request = airflow_tab.page.request
    base = airflow_tab.base_url + "/amazon-ml/families"
    assert request.get(f"{base}/no-such-family").status == 404
    assert request.get(f"{base}/{family.name}/reports/..%2Ffamily.json").status == 404
    assert request.get(f"{base}/{family.name}?reports_uri=s3://elsewhere/").status == 404
    report = request.get(f"{base}/{family.name}/reports/{RUNS[0][0]}/decision.json")
    assert report.json() == {"decision": {"action": RUNS[0][1]}}
    assert "default-src 'none'" in report.headers["content-security-policy"]
