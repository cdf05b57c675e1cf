"""The decision report from real evidence: JSON-ready dict and a self-contained, escaped HTML page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aml_provider.family.decision import decide
from aml_provider.family.report import build_report, render_html
from tests.family.service import WITHOUT_X2, generate, run_day

RUN = {
    "family": "churn <script>alert(1)</script>",
    "logical_date": "2026-12-04",
    "run_id": "scheduled__2026-12-04T00:00:00+00:00",
    "training_partitions": ["s3://landing/ds=2026-12-02/", "s3://landing/ds=2026-12-03/"],
    "evaluation_partition": "s3://landing/ds=2026-12-04/",
}


@pytest.fixture(scope="module", params=["BINARY", "MULTICLASS", "REGRESSION"])
def report(request: pytest.FixtureRequest, ml: Any, s3: Any, bucket: str) -> dict[str, Any]:
    model_type = request.param
    day = run_day(
        ml,
        s3,
        bucket,
        model_type,
        generate(model_type, 1500, seed=1),
        generate(model_type, 1500, seed=2),
        WITHOUT_X2,
    )
    decision = decide(day.evidence, day.checks)
    models = {m.role: m.ml_model_id for m in day.evidence.models}
    return build_report(
        evidence=day.evidence, checks=day.checks, decision=decision, run={**RUN, "model_ids": models}
    )


def test_the_report_dict_is_json(report: dict[str, Any]) -> None:
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {"version", "created", "run", "evidence", "checks", "decision"}
    assert report["decision"]["action"] == "promote"
    assert [m["role"] for m in report["evidence"]["models"]] == ["challenger", "champion"]


def test_the_page_shows_both_metrics_intervals_gates_and_a_drawing(report: dict[str, Any]) -> None:
    page = render_html(report)
    for model in report["evidence"]["models"]:
        low, high = model["interval"]
        assert f"{model['metric']:.4f}" in page
        assert f"{low:.4f} to {high:.4f}" in page
        assert model["ml_model_id"] in page
    improvement = report["evidence"]["improvement"]
    assert f"{improvement['low']:+.4f} to {improvement['high']:+.4f}" in page
    for gate in report["decision"]["gates"]:
        assert f"<td>{gate['name']}</td>" in page
    assert report["decision"]["reason"] in page
    drawing = {"BINARY": "<polyline", "MULTICLASS": "<rect", "REGRESSION": "<rect"}[
        report["evidence"]["model_type"]
    ]
    assert drawing in page.split("<h2>Curves</h2>")[1].split("<h2>")[0]
    assert len(re.findall("<svg ", page)) >= 3


def test_the_page_is_self_contained_and_escaped(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg ")


def test_a_day_of_constant_labels_is_reported_with_strict_json(ml: Any, s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 300, seed=7).assign(y="yes")
    day = run_day(ml, s3, bucket, "BINARY", generate("BINARY", 1000, seed=8), fresh=fresh)
    decision = decide(day.evidence, day.checks)
    assert decision.action == "reject"
    report = build_report(evidence=day.evidence, checks=day.checks, decision=decision, run=RUN)
    assert report["evidence"]["models"][0]["interval"] == [None, None]
    json.dumps(report, allow_nan=False)
    page = render_html(report)
    assert "Nothing to draw" in page
    assert "target_evaluation" in decision.reason


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed")
def test_chromium_renders_the_page(report: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "decision.html"
    page.write_text(render_html(report))
    shot = tmp_path / "decision.png"
    command = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    subprocess.run(
        [*command[:-1], "--window-size=1100,1600", command[-1]], check=True, capture_output=True, timeout=120
    )
    assert shot.stat().st_size > 20_000


def test_a_run_that_compared_no_model_is_reported_too() -> None:
    page = render_html(
        {
            "version": 1,
            "run": {"family": "churn", "logical_date": "2026-05-02"},
            "evidence": None,
            "checks": [],
            "decision": {"action": "skip", "reason": "no new data since ds=2026-05-01", "gates": []},
        }
    )
    assert "No model was compared" in page
    assert "No data check ran" in page
    assert "no new data since ds=2026-05-01" in page
