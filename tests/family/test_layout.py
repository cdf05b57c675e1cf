"""The family layout in S3, as the provider writes it and the pages read it back (index summaries)."""

from __future__ import annotations

from typing import Any

from aml_provider.family.log import DecisionLog
from aml_provider.family.record import FamilyStore
from aml_provider.pages.families import FamilyReader
from aml_provider.pages.family import TREND_RUNS


def test_the_index_summary_reads_only_the_newest_decisions_and_counts_them_all(s3: Any, bucket: str) -> None:
    reports_uri = f"s3://{bucket}/summary/"
    log = DecisionLog(s3, reports_uri, "long")
    for run in range(TREND_RUNS + 5):
        log.append("decision", f"run-{run:03d}", action="keep", logical_date=f"run {run}")
        if run % 4 == 0:
            log.append("promotion", f"run-{run:03d}", ml_model_id=f"ml-{run}")
    FamilyStore(s3, reports_uri, "long").update(lambda record: setattr(record, "champion", "ml-24"))

    summary = FamilyReader(s3, [reports_uri]).summary(reports_uri, "long")

    assert summary.decision_count == TREND_RUNS + 5
    assert [event["run_id"] for event in summary.events] == [
        f"run-{run:03d}" for run in range(5, TREND_RUNS + 5)
    ]
    assert summary.record["champion"] == "ml-24"
    assert len(FamilyReader(s3, [reports_uri]).events(reports_uri, "long")) == TREND_RUNS + 5 + 7
