"""A model family from real models of the local service: its record and decision log written with the
provider's own classes (FamilyStore, DecisionLog), and a decision report per run, as the retrain DAG
leaves them."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from aml_provider.family.log import DecisionLog
from aml_provider.family.record import FamilyRecord, FamilyStore
from tests.helpers import put_text, unique_id, wait_for
from tests.pages.runs import churn_csv, churn_schema

HOSTILE = '<script>alert("family")</script>'
#: (logical date, action, challenger value, low, high, champion value); None: no comparison was made.
RUNS = [
    ("2026-01-01", "promote", 0.781, 0.752, 0.809, None),
    ("2026-01-02", "keep", 0.779, 0.751, 0.806, 0.783),
    ("2026-01-03", "reject", 0.741, 0.712, 0.770, 0.784),
    ("2026-01-04", "skip", None, None, None, None),
    ("2026-01-05", "promote", 0.826, 0.801, 0.850, 0.785),
    ("2026-01-06", "keep", 0.821, 0.797, 0.846, 0.827),
]


@dataclass
class Family:
    name: str
    reports_uri: str
    models: dict[str, str] = field(default_factory=dict)  # logical date -> model trained that day

    @property
    def champion(self) -> str:
        return self.models["2026-01-05"]

    @property
    def previous(self) -> str:
        return self.models["2026-01-01"]


def build_family(ml: Any, s3: Any, bucket: str, name: str = "churn") -> Family:
    """Five COMPLETED models (one run skipped) decided on over six days; the latest champion serves."""
    family = Family(name, f"s3://{bucket}/families/")
    trained = [day for day, action, *_ in RUNS if action != "skip"]
    family.models = dict(zip(trained, _train(ml, s3, bucket, len(trained)), strict=True))
    store, log = FamilyStore(s3, family.reports_uri, name), DecisionLog(s3, family.reports_uri, name)
    champion: str | None = None
    for day, action, value, low, high, champion_value in RUNS:
        run_id, model = f"scheduled__{day}T00:00:00+00:00", family.models.get(day)
        report = _write_report(s3, bucket, name, day, action)
        log.append(
            "decision",
            run_id,
            logical_date=f"{day}T00:00:00+00:00",
            ds=day,
            action=action,
            reason=_reason(action),
            ml_model_id=model,
            metric_name="BinaryAUC",
            challenger=None if value is None else {"ml_model_id": model, "value": value, "low": low, "high": high},
            champion=None
            if champion_value is None
            else {"ml_model_id": champion, "value": champion_value, "low": champion_value - 0.03,
                  "high": champion_value + 0.03},
            training_rows=1200 + 100 * len(family.models),
            evaluation_rows=None if value is None else 300,
            report_uri=report,
        )  # fmt: skip
        if model:
            store.update(
                functools.partial(_member, model=model, day=day, action=action, estimate=(value, low, high))
            )
        if action == "promote" and model:
            store.update(functools.partial(_promote, model=model, run_id=run_id, day=day))
            log.append(
                "promotion",
                run_id,
                ml_model_id=model,
                previous=champion,
                logical_date=f"{day}T00:00:00+00:00",
            )
            champion = model
    log.append("cleanup", "manual__2026-01-07", deleted={"MLModel": [], "Evaluation": ["ev-old"]})
    ml.create_realtime_endpoint(MLModelId=family.champion)
    return family


def _train(ml: Any, s3: Any, bucket: str, count: int) -> list[str]:
    uri = put_text(s3, bucket, f"family/{unique_id('churn')}.csv", churn_csv(rows=400))
    data_source_id = unique_id("ds-family")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": uri, "DataSchema": churn_schema()},
        ComputeStatistics=True,
    )
    models = []
    for index in range(count):
        model_id = unique_id(f"ml-churn-{index}")
        ml.create_ml_model(
            MLModelId=model_id,
            MLModelName=f"churn {index}",
            MLModelType="BINARY",
            TrainingDataSourceId=data_source_id,
            Parameters={"sgd.maxPasses": str(2 + index)},
        )
        models.append(model_id)
    for model_id in models:
        assert wait_for(ml, "MLModel", model_id, timeout=180)["Status"] == "COMPLETED"
    return models


def _reason(action: str) -> str:
    if action == "reject":
        return f"the challenger is worse than the champion {HOSTILE}"
    if action == "skip":
        return "no new partition: the champion already trained on the whole window"
    return {"promote": "the challenger is better by more than 0.005 with 95% confidence",
            "keep": "no significant difference"}[action]  # fmt: skip


def _member(record: FamilyRecord, model: str, day: str, action: str, estimate: tuple[Any, ...]) -> None:
    value, low, high = estimate
    record.members[model] = {
        "run_id": f"scheduled__{day}T00:00:00+00:00",
        "logical_date": f"{day}T00:00:00+00:00",
        "training": [f"ds={dt.date.fromisoformat(day) - dt.timedelta(days=back)}/" for back in (3, 2, 1)],
        "metric": {"ml_model_id": model, "value": value, "low": low, "high": high},
        "decision": action,
        "evidence": {"data_sources": [], "evaluations": [], "batch_predictions": []},
    }


def _promote(record: FamilyRecord, model: str, run_id: str, day: str) -> None:
    if record.champion:
        record.previous = record.champion
        record.draining.append({"ml_model_id": record.champion, "until": f"{day}T00:15:00+00:00"})
    record.champion, record.threshold = model, 0.5
    record.history.append(
        {"ml_model_id": model, "run_id": run_id, "op": "promote", "at": f"{day}T00:05:00+00:00"}
    )


def _write_report(s3: Any, bucket: str, family: str, day: str, action: str) -> str:
    key = f"families/{family}/{day}/decision"
    s3.put_object(
        Bucket=bucket, Key=f"{key}.json", Body=json.dumps({"decision": {"action": action}}).encode()
    )
    html = f"<!doctype html><title>Decision {day}</title><h1>Decision of {day}: {action}</h1>"
    s3.put_object(Bucket=bucket, Key=f"{key}.html", Body=html.encode(), ContentType="text/html")
    return f"s3://{bucket}/{key}.html"
