"""Every console page type in Chromium, for entities from real runs of the local service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aml_provider.local import LocalAml
from tests.helpers import unique_id
from tests.pages.conftest import Tab, open_tab
from tests.pages.runs import Run, many_data_sources


def data_points(page: Any, selector: str) -> int:
    """How many data marks (points, bars, cells) the chart(s) at `selector` hold."""
    return int(page.locator(f"{selector} .point, {selector} .bar, {selector} .cell").count())


def test_binary_evaluation_draws_roc_histogram_and_alerts(tab: Tab, runs: dict[str, Run]) -> None:
    page = tab.open(f"/console/Evaluation/{runs['binary'].evaluation_id}")
    assert data_points(page, "#roc") > 10
    assert page.locator("#roc polyline.series").count() == 2  # the curve and the 0.5 baseline
    assert data_points(page, "#score-histogram") == 40  # 20 bins for each true class
    assert "AUC" in page.locator(".cards").inner_text()
    tab.screenshot("evaluation-binary")


def test_threshold_slider_moves_numbers_consistently_with_the_counts(tab: Tab, runs: dict[str, Run]) -> None:
    page = tab.open(f"/console/Evaluation/{runs['binary'].evaluation_id}")
    seen = set()
    for value in ("0.2", "0.5", "0.8"):
        page.locator("#threshold").fill(value)
        figures = _figures(page)
        tp, fp, tn, fn = (figures[name] for name in ("tp", "fp", "tn", "fn"))
        assert page.locator("#threshold-value").inner_text() == f"{float(value):.2f}"
        assert figures["accuracy"] == pytest.approx(100 * (tp + tn) / (tp + fp + tn + fn), abs=0.05)
        assert figures["precision"] == pytest.approx(100 * tp / (tp + fp) if tp + fp else 0, abs=0.05)
        assert figures["recall"] == pytest.approx(100 * tp / (tp + fn), abs=0.05)
        assert figures["fpr"] == pytest.approx(100 * fp / (fp + tn), abs=0.05)
        assert page.locator("#threshold-input").input_value() == value
        seen.add((tp, fp))
    assert len(seen) == 3, "moving the threshold changes the confusion counts"
    low, high = float(page.locator("#threshold-line line").get_attribute("x1") or 0), 0.0
    page.locator("#threshold").fill("0.3")
    high = float(page.locator("#threshold-line line").get_attribute("x1") or 0)
    assert high < low, "the histogram's threshold line follows the slider"


def test_threshold_button_sets_the_models_score_threshold(
    tab: Tab, runs: dict[str, Run], console_ml: Any
) -> None:
    page = tab.open(f"/console/Evaluation/{runs['binary'].evaluation_id}")
    page.locator("#threshold").fill("0.63")
    page.locator("#set-threshold").click()
    page.wait_for_load_state()
    assert console_ml.get_ml_model(MLModelId=runs["binary"].model_id)["ScoreThreshold"] == pytest.approx(0.63)
    assert "is now 0.63" in page.locator(".notice").inner_text()
    assert page.locator("#threshold-value").inner_text() == "0.63"


def test_threshold_form_is_validated_like_the_api(tab: Tab, runs: dict[str, Run], console_ml: Any) -> None:
    before = console_ml.get_ml_model(MLModelId=runs["multiclass"].model_id).get("ScoreThreshold")
    page = tab.open(f"/console/Evaluation/{runs['binary'].evaluation_id}")
    page.evaluate(
        """id => { const form = document.querySelector('#threshold-panel form');
                   form.action = `/console/MLModel/${id}/score-threshold`; form.submit(); }""",
        runs["multiclass"].model_id,
    )
    page.wait_for_load_state()
    assert "ScoreThreshold applies to BINARY models only" in page.locator(".alert").first.inner_text()
    assert console_ml.get_ml_model(MLModelId=runs["multiclass"].model_id).get("ScoreThreshold") == before
    assert tab.errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    tab.errors.clear()


def test_multiclass_evaluation_draws_confusion_matrix_and_f1(tab: Tab, runs: dict[str, Run]) -> None:
    page = tab.open(f"/console/Evaluation/{runs['multiclass'].evaluation_id}")
    assert page.locator("svg.heat-map .cell").count() == 16  # 4 classes
    cells = page.locator("svg.heat-map .cell")
    total = sum(int(cells.nth(i).get_attribute("data-value") or 0) for i in range(16))
    assert total == int(
        page.locator(".card", has_text="records evaluated").locator("b").inner_text().replace(",", "")
    )
    assert "baseline (always setosa)" in page.content()
    assert page.locator("table", has_text="precision").locator("tr").count() == 5
    tab.screenshot("evaluation-multiclass")


def test_regression_evaluation_draws_residuals_and_predicted_against_actual(
    tab: Tab, runs: dict[str, Run]
) -> None:
    page = tab.open(f"/console/Evaluation/{runs['regression'].evaluation_id}")
    assert page.locator("svg.chart .bar").count() >= 20 + 2  # residual bins, RMSE and its baseline
    assert page.locator("svg.chart .point").count() > 100
    assert "baseline (training mean)" in page.content()
    tab.screenshot("evaluation-regression")


def test_data_source_shows_data_insights_by_type(tab: Tab, runs: dict[str, Run]) -> None:
    page = tab.open(f"/console/DataSource/{runs['binary'].training_id}")
    text = page.locator("main").inner_text()
    for heading in ("Data Insights", "Numeric attributes", "Binary attributes", "Categorical attributes",
                    "Text attributes", "Target distribution: churned", "Correlation to the target"):  # fmt: skip
        assert heading in text
    assert page.locator(".card", has_text="bad records").locator(".bad").count() == 1
    assert data_points(page, "#correlations") == 5  # every attribute but the target and the row ID
    assert page.locator("table", has_text="median").locator("svg .bar").count() >= 2 * 10
    assert "(other)" in text  # 12 plans: the top 10 and the others
    tab.screenshot("data-source")


def test_model_page_shows_training_tags_dependents_and_learning_curve(tab: Tab, runs: dict[str, Run]) -> None:
    run = runs["binary"]
    page = tab.open(f"/console/MLModel/{run.model_id}")
    assert page.locator("#tags").inner_text().count("aml:") == 2
    assert page.locator(f"a[href='/console/Evaluation/{run.evaluation_id}']").count() == 1
    assert page.locator(f"a[href='/console/BatchPrediction/{run.batch_prediction_id}']").count() == 1
    assert page.locator(f"a[href='/console/DataSource/{run.training_id}']").count() >= 1
    assert data_points(page, "#learning-curve") >= 2
    assert "sgd.maxPasses" in page.locator("main").inner_text()
    tab.screenshot("model")


def test_batch_prediction_shows_scored_rows_beside_their_inputs(tab: Tab, runs: dict[str, Run]) -> None:
    run = runs["binary"]
    page = tab.open(f"/console/BatchPrediction/{run.batch_prediction_id}")
    rows = page.locator("#preview tr")
    assert rows.count() == 21
    header = rows.first.inner_text()
    assert page.locator("#preview th.result").all_inner_texts() == ["tag", "trueLabel", "bestAnswer", "score"]
    assert "review" in header
    assert "scores/batch-prediction/" in page.locator("#links").inner_text()
    tab.screenshot("batch-prediction")


@pytest.fixture
def crowded() -> Iterator[LocalAml]:
    """A service of its own for 1,000 data sources: their jobs, still queued when it stops, hold up no
    other test's jobs."""
    with LocalAml() as service:
        yield service


def test_index_of_a_thousand_data_sources_pages(browser: Any, crowded: LocalAml) -> None:
    ml, s3 = crowded.client(), crowded.client("s3")
    bucket = unique_id("crowded")
    s3.create_bucket(Bucket=bucket)
    created = set(many_data_sources(ml, s3, bucket, 1000))
    with open_tab(browser, crowded.endpoint_url) as tab:
        _page_through_the_index(tab, created)


def _page_through_the_index(tab: Tab, created: set[str]) -> None:
    page = tab.open("/console/DataSource")
    seen: set[str] = set()
    for number in (1, 2):
        links = page.locator("table a[href^='/console/DataSource/']")
        assert links.count() == 50
        seen.update(links.nth(i).inner_text() for i in range(50))
        assert f"page {number}," in page.locator("#page").first.inner_text()
        page.locator("#next").first.click()
        page.wait_for_load_state()
    assert len(seen) == 100
    assert seen <= created
    page = tab.open("/console/DataSource?page=20")
    assert page.locator("table a[href^='/console/DataSource/']").count() == 50
    page.locator("#previous").first.click()
    page.wait_for_load_state()
    assert "page 19," in page.locator("#page").first.inner_text()
    tab.open("/console")
    assert page.locator("table a[href^='/console/DataSource/']").count() == 10
    tab.screenshot("index", full_page=False)


def _figures(page: Any) -> dict[str, float]:
    figures = {}
    for name in ("accuracy", "precision", "recall", "fpr", "tp", "fp", "tn", "fn"):
        figures[name] = float(page.locator(f"#{name}").inner_text().rstrip("%"))
    return figures
