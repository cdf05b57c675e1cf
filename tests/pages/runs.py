"""Real runs of the local service for the console pages: a binary, a multiclass and a regression model,
each trained, evaluated on held-out rows and (binary) batch-predicted, all created through boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.helpers import put_text, unique_id, wait_for

PLANS = [
    f"plan-{name}"
    for name in [
        "basic",
        "plus",
        "pro",
        "family",
        "student",
        "senior",
        "travel",
        "night",
        "data",
        "voice",
        "mini",
        "max",
    ]
]
WORDS = [
    "great",
    "slow",
    "cheap",
    "support",
    "fast",
    "bill",
    "outage",
    "friendly",
    "price",
    "signal",
    "app",
    "refund",
]
SPLIT = '{"splitting": {"percentBegin": 0, "percentEnd": 70}}'
HELD_OUT = '{"splitting": {"percentBegin": 70, "percentEnd": 100}}'


@dataclass
class Run:
    """The entities of one model's run."""

    training_id: str
    evaluation_source_id: str
    model_id: str
    evaluation_id: str
    batch_prediction_id: str | None = None


def churn_csv(rows: int = 1500, seed: int = 7) -> str:
    """Customers: numeric, categorical, binary and text attributes, a binary target; a few invalid
    incomes and one malformed line, so Data Insights has failures to show."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    income = rng.normal(52_000, 15_000, rows).round(0)
    plan = rng.choice(PLANS, rows, p=np.linspace(2, 0.5, len(PLANS)) / np.linspace(2, 0.5, len(PLANS)).sum())
    partner = rng.random(rows) < 0.45
    unhappy = rng.random(rows) < 0.3
    words = [" ".join(rng.choice(WORDS[:6] if u else WORDS[6:], 4)) for u in unhappy]
    logit = -1.2 + 2.4 * unhappy - 0.02 * (age - 45) - 0.6 * partner + 0.4 * (plan == PLANS[0])
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    lines = ["customer,age,income,plan,partner,review,churned"]
    for i in range(rows):
        shown_income = "n/a" if i % 97 == 0 else f"{income[i]:.0f}"
        shown_age = "" if i % 41 == 0 else str(age[i])
        lines.append(
            f"c{i},{shown_age},{shown_income},{plan[i]},{'yes' if partner[i] else 'no'},{words[i]},{int(churned[i])}"
        )
    lines.insert(rows // 2, "broken,line")
    return "\n".join(lines) + "\n"


def churn_schema() -> str:
    attributes = [("customer", "CATEGORICAL"), ("age", "NUMERIC"), ("income", "NUMERIC"), ("plan", "CATEGORICAL"),
                  ("partner", "BINARY"), ("review", "TEXT"), ("churned", "BINARY")]  # fmt: skip
    return _schema(attributes, "churned", row_id="customer")


def species_csv(rows: int = 900, seed: int = 11) -> str:
    """Four classes from two numeric measurements."""
    rng = np.random.default_rng(seed)
    centres = {"setosa": (1, 1), "versicolor": (3, 2), "virginica": (4, 4), "arctica": (1.5, 3.5)}
    names = rng.choice(list(centres), rows, p=[0.4, 0.3, 0.2, 0.1])
    lines = ["length,width,species"]
    for name in names:
        x, y = rng.normal(centres[name], 0.7)
        lines.append(f"{x:.3f},{y:.3f},{name}")
    return "\n".join(lines) + "\n"


def prices_csv(rows: int = 900, seed: int = 5) -> str:
    """A numeric target from three numeric attributes and noise."""
    rng = np.random.default_rng(seed)
    rooms, area, age = rng.integers(1, 7, rows), rng.normal(90, 30, rows), rng.integers(0, 60, rows)
    price = 40 + 12 * rooms + 1.5 * area - 0.8 * age + rng.normal(0, 15, rows)
    lines = ["rooms,area,age,price"] + [
        f"{rooms[i]},{area[i]:.1f},{age[i]},{price[i]:.2f}" for i in range(rows)
    ]
    return "\n".join(lines) + "\n"


def _schema(attributes: list[tuple[str, str]], target: str, row_id: str | None = None) -> str:
    schema: dict[str, Any] = {
        "version": "1.0",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "targetAttributeName": target,
        "attributes": [{"attributeName": n, "attributeType": t} for n, t in attributes],
    }
    if row_id:
        schema["rowId"] = row_id
    return json.dumps(schema)


def train_and_evaluate(
    ml: Any, s3: Any, bucket: str, name: str, csv: str, schema: str, model_type: str
) -> Run:
    """Data sources for 70% / 30% of `csv`, a model trained on the first, evaluated on the second."""
    uri = put_text(s3, bucket, f"{name}/{name}.csv", csv)
    ids = [unique_id(f"ds-{name}"), unique_id(f"ds-{name}-held-out")]
    for data_source_id, part in zip(ids, (SPLIT, HELD_OUT), strict=True):
        ml.create_data_source_from_s3(
            DataSourceId=data_source_id,
            DataSourceName=f"{name} {'training' if part == SPLIT else 'evaluation'} data",
            DataSpec={"DataLocationS3": uri, "DataSchema": schema, "DataRearrangement": part},
            ComputeStatistics=True,
        )
    model_id, evaluation_id = unique_id(f"ml-{name}"), unique_id(f"ev-{name}")
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelName=f"{name} model",
        MLModelType=model_type,
        TrainingDataSourceId=ids[0],
        Parameters={"sgd.maxPasses": "8", "sgd.shuffleType": "auto"},
    )
    ml.create_evaluation(
        EvaluationId=evaluation_id,
        EvaluationName=f"{name} evaluation",
        MLModelId=model_id,
        EvaluationDataSourceId=ids[1],
    )
    return Run(ids[0], ids[1], model_id, evaluation_id)


def batch_predict(ml: Any, bucket: str, run: Run) -> None:
    run.batch_prediction_id = unique_id("bp")
    ml.create_batch_prediction(
        BatchPredictionId=run.batch_prediction_id,
        BatchPredictionName="churn scores",
        MLModelId=run.model_id,
        BatchPredictionDataSourceId=run.evaluation_source_id,
        OutputUri=f"s3://{bucket}/scores/",
    )


def wait_for_run(ml: Any, run: Run) -> None:
    entities = [("DataSource", run.training_id), ("DataSource", run.evaluation_source_id),
                ("MLModel", run.model_id), ("Evaluation", run.evaluation_id)]  # fmt: skip
    if run.batch_prediction_id:
        entities.append(("BatchPrediction", run.batch_prediction_id))
    for kind, entity_id in entities:
        entity = wait_for(ml, kind, entity_id, timeout=180)
        assert entity["Status"] == "COMPLETED", (kind, entity_id, entity.get("Message"))


def many_data_sources(ml: Any, s3: Any, bucket: str, count: int) -> Iterator[str]:
    """`count` small data sources (no statistics), created eight at a time; their IDs."""
    uri = put_text(s3, bucket, "many/tiny.csv", "a,b\n1,2\n")
    schema = _schema([("a", "NUMERIC"), ("b", "NUMERIC")], "b")

    def create(index: int) -> str:
        data_source_id = f"ds-many-{index:04d}"
        ml.create_data_source_from_s3(
            DataSourceId=data_source_id,
            DataSourceName=f"many {index}",
            DataSpec={"DataLocationS3": uri, "DataSchema": schema},
        )
        return data_source_id

    with ThreadPoolExecutor(8) as pool:
        yield from pool.map(create, range(count))
