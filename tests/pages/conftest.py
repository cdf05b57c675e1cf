"""Browser fixtures: Debian's Chromium driven by Playwright, against a local service filled by real runs.

Without Playwright or /usr/bin/chromium the tests skip, saying which is missing; with AML_REQUIRE_SERVICES=1
(as in CI) they fail instead. Screenshots go to $AML_SCREENSHOTS (default .aml-local/screenshots).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The family pages' test data is written with the provider's classes, which import Airflow: give it a
# home of its own unless the Airflow tests' conftest already did.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="aml-pages-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest

from aml_provider.local import LocalAml
from tests.pages.families import Family, build_family
from tests.pages.runs import (
    Run,
    batch_predict,
    churn_csv,
    churn_schema,
    prices_csv,
    species_csv,
    train_and_evaluate,
    wait_for_run,
)

CHROMIUM = Path("/usr/bin/chromium")
#: The bucket of the console service's model families (named before the service starts, which reads it).
FAMILIES_BUCKET = f"aml-families-{uuid.uuid4().hex[:12]}"
SCREENSHOTS = Path(os.environ.get("AML_SCREENSHOTS", ".aml-local/screenshots"))


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (uv pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def chromium_present() -> None:
    """Skip (or, with AML_REQUIRE_SERVICES=1, fail) when Playwright or Chromium is missing."""
    missing = _missing()
    if missing:
        if os.environ.get("AML_REQUIRE_SERVICES") == "1":
            pytest.fail(f"AML_REQUIRE_SERVICES=1 but {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser(chromium_present: None) -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API keeps an event loop running in this thread while it
    is open, which would break later tests that run one of their own (deferred Airflow tasks)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


class Tab:
    """A browser page that records console errors and uncaught exceptions, and saves screenshots."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None, path
        assert response.ok, (path, response.status)
        return self.page

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@contextlib.contextmanager
def open_tab(browser: Any, base_url: str) -> Iterator[Tab]:
    """A fresh browser context's page on `base_url`; on leaving, no console errors may have occurred."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = Tab(context.new_page(), base_url)
    yield tab
    context.close()
    assert tab.errors == [], f"browser console errors: {tab.errors}"


@pytest.fixture
def tab(browser: Any, console_service: LocalAml) -> Iterator[Tab]:
    with open_tab(browser, console_service.endpoint_url) as tab:
        yield tab


@pytest.fixture(scope="session")
def console_service(chromium_present: None) -> Iterator[LocalAml]:
    """A service of its own, so other tests' entities do not crowd these pages."""
    with LocalAml(families_uris=(f"s3://{FAMILIES_BUCKET}/families/",)) as service:
        yield service


@pytest.fixture(scope="session")
def family(console_service: LocalAml, console_ml: Any) -> Family:
    """A family of five real models decided on over six runs, its latest champion serving."""
    s3 = console_service.client("s3")
    s3.create_bucket(Bucket=FAMILIES_BUCKET)
    return build_family(console_ml, s3, FAMILIES_BUCKET)


@pytest.fixture(scope="session")
def console_ml(console_service: LocalAml) -> Any:
    return console_service.client()


@pytest.fixture(scope="session")
def console_bucket(console_service: LocalAml) -> str:
    name = f"aml-pages-{uuid.uuid4().hex[:12]}"
    console_service.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def runs(console_service: LocalAml, console_ml: Any, console_bucket: str) -> dict[str, Run]:
    """A completed binary (with a batch prediction), multiclass and regression run."""
    s3 = console_service.client("s3")
    runs = {
        "binary": train_and_evaluate(console_ml, s3, console_bucket, "churn", churn_csv(), churn_schema(), "BINARY"),
        "multiclass": train_and_evaluate(
            console_ml, s3, console_bucket, "species", species_csv(),
            _schema_of(["length", "width"], "species", "CATEGORICAL"), "MULTICLASS",
        ),
        "regression": train_and_evaluate(
            console_ml, s3, console_bucket, "prices", prices_csv(),
            _schema_of(["rooms", "area", "age"], "price", "NUMERIC"), "REGRESSION",
        ),
    }  # fmt: skip
    batch_predict(console_ml, console_bucket, runs["binary"])
    console_ml.add_tags(
        ResourceId=runs["binary"].model_id,
        ResourceType="MLModel",
        Tags=[{"Key": "aml:family", "Value": "churn"}, {"Key": "aml:role", "Value": "champion"}],
    )
    for run in runs.values():
        wait_for_run(console_ml, run)
    return runs


def _schema_of(numeric: list[str], target: str, target_type: str) -> str:
    from tests.helpers import schema_text

    return schema_text(target, **dict.fromkeys(numeric, "NUMERIC"), **{target: target_type})
