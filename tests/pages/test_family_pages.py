"""The console's model family pages in Chromium, for a family of real models and its decision log."""

from __future__ import annotations

from tests.pages.conftest import Tab
from tests.pages.families import HOSTILE, RUNS, Family

COMPARED = [run for run in RUNS if run[2] is not None]  # runs whose challenger was scored


def test_family_index_shows_champion_last_decision_and_metric_trend(tab: Tab, family: Family) -> None:
    page = tab.open("/console/families")
    row = page.locator("#families tr", has=page.locator("a.family", has_text=family.name))
    assert row.locator("a.model").inner_text() == family.champion
    assert "keep" in row.locator(".action").inner_text()
    points = row.locator("svg.sparkline .point")
    assert points.count() == len(COMPARED)
    assert [float(points.nth(i).get_attribute("data-y") or 0) for i in range(points.count())] == [
        run[2] for run in COMPARED
    ]
    assert row.locator("svg.sparkline .interval").count() == len(COMPARED)
    tab.screenshot("families")


def test_family_page_draws_trend_timeline_reports_and_rollback_choices(tab: Tab, family: Family) -> None:
    page = tab.open(f"/console/families/{family.name}")
    summary = page.locator("#summary").inner_text()
    for shown in (family.champion, "READY", family.previous):
        assert shown in summary
    trend = page.locator("#trend")
    champions_scored = sum(1 for run in RUNS if run[5] is not None)
    assert trend.locator("polyline.series").count() == 2
    assert trend.locator(".interval").count() == len(COMPARED) + champions_scored
    promoted = trend.locator("g[fill='#54a24b'] .point")
    assert promoted.count() == sum(1 for run in RUNS if run[1] == "promote")
    timeline = page.locator("#timeline tr")
    assert timeline.count() == 1 + len(RUNS) + 2 + 1  # header, decisions, promotions, the clean-up
    assert HOSTILE in page.locator("#timeline").inner_text()  # shown as text, never run
    assert page.locator("main script").count() == 0
    assert page.locator("#champions tr").count() == 3
    choices = page.locator("#rollback tr")
    assert choices.count() == 1 + len(family.models) - 1  # every retained model but the champion
    assert "(default: previous champion)" in choices.filter(has_text=family.previous).inner_text()
    assert page.locator("#draining").inner_text().count(family.previous) == 1
    tab.screenshot("family")
    page.locator("a.report").first.click()
    page.wait_for_load_state()
    assert page.title() == f"Decision {RUNS[-1][0]}"


def test_family_model_links_open_the_model_pages(tab: Tab, family: Family) -> None:
    page = tab.open(f"/console/families/{family.name}")
    page.locator("#summary a.model").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/MLModel/{family.champion}")
    assert family.champion in page.locator("h1").inner_text()


def test_unknown_family_and_report_paths_are_not_found(tab: Tab, family: Family) -> None:
    for path in (
        "/console/families/no-such-family",
        f"/console/families/{family.name}/reports/..%2Ffamily.json",
        f"/console/families/{family.name}/reports/2026-01-01/other.json",
        f"/console/families/{family.name}?reports_uri=s3://elsewhere/",
    ):
        response = tab.page.request.get(tab.base_url + path)
        assert response.status == 404, path
