"""
The main job, end to end on the embedded default: the local Amazon ML service and a local S3.

Starts both, lands two days of fresh customer data in S3, runs the ``aml_retrain`` DAG for each day
(the first run promotes its model, the second pits a challenger against that champion), then the
``aml_batch_score`` DAG, and prints what happened. Run it with ``python -m aml_provider.demo``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

BUCKET = "aml-demo"
FAMILY = "customer-churn"
DAGS = Path(__file__).resolve().parents[1] / "dags"
ATTRIBUTES = [
    ("customer_id", "CATEGORICAL"),
    ("age", "NUMERIC"),
    ("tenure_months", "NUMERIC"),
    ("monthly_charges", "NUMERIC"),
    ("support_calls", "NUMERIC"),
    ("plan", "CATEGORICAL"),
    ("region", "CATEGORICAL"),
    ("paperless", "BINARY"),
    ("last_contact_note", "TEXT"),
    ("churned", "BINARY"),
]
NOTES = ["happy with service", "asked about price", "slow internet again", "moving soon", "loves the app"]


def customers(count: int, seed: int, shift: float = 0.0) -> str:
    """CSV text of customers whose churn depends on tenure, charges, calls, plan and notes (plus noise)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, count)
    tenure = rng.integers(0, 72, count)
    charges = rng.normal(70 + 10 * shift, 20, count).round(2)
    calls = rng.poisson(1.5 + shift, count)
    plan = rng.choice(["basic", "standard", "premium"], count)
    region = rng.choice(["north", "south", "east", "west"], count)
    paperless = rng.choice(["yes", "no"], count)
    note = rng.choice(len(NOTES), count)
    logit = (
        -0.05 * tenure
        + 0.03 * (charges - 70)
        + 0.6 * calls
        - 0.8 * (plan == "premium")
        + np.array([-1.0, 0.3, 1.0, 1.5, -1.2])[note]
        - 0.5
    )
    churned = rng.random(count) < 1 / (1 + np.exp(-logit))
    rows = [
        "customer_id,age,tenure_months,monthly_charges,support_calls,plan,region,paperless,last_contact_note,churned"
    ]
    rows += [
        f"c{seed}-{i},{age[i]},{tenure[i]},{charges[i]},{calls[i]},{plan[i]},{region[i]},{paperless[i]},"
        f"{NOTES[note[i]]},{int(churned[i])}"
        for i in range(count)
    ]
    return "\n".join(rows) + "\n"


def schema(with_target: bool) -> str:
    """The Amazon ML schema of the customer files (the records to score have no target column)."""
    attributes = ATTRIBUTES if with_target else ATTRIBUTES[:-1]
    document: dict[str, Any] = {
        "version": "1.0",
        "rowId": "customer_id",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "attributes": [{"attributeName": name, "attributeType": kind} for name, kind in attributes],
        "excludedAttributeNames": [],
    }
    if with_target:
        document["targetAttributeName"] = "churned"
    return json.dumps(document, indent=2)


def without_target(csv_text: str) -> str:
    """Drop the last column (the target) from CSV text."""
    return "\n".join(line.rsplit(",", 1)[0] for line in csv_text.splitlines()) + "\n"


def run(workdir: Path) -> int:
    """Run the main job in ``workdir``; return 0 when every DAG run succeeded."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    os.environ.update(
        AIRFLOW_HOME=str(workdir / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AML_DAGS_WAITER_DELAY="0.5",
        AIRFLOW__LOGGING__LOGGING_LEVEL=os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
    )
    from aml_provider.local import LocalAml

    with LocalAml(data_dir=workdir / "service") as aml:
        print(f"Local Amazon ML service: {aml.endpoint_url}   local S3: {aml.s3_endpoint_url}")
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(aml.airflow_connection)
        s3 = aml.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="schema/customers.csv.schema", Body=schema(True).encode())
        s3.put_object(Bucket=BUCKET, Key="schema/to-score.csv.schema", Body=schema(False).encode())
        s3.put_object(
            Bucket=BUCKET, Key="to-score/customers.csv", Body=without_target(customers(500, 99)).encode()
        )
        return run_dags(aml, s3)


def run_dags(aml: Any, s3: Any) -> int:
    """The two retraining days and the scoring run, then a summary."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import resetdb

    resetdb()
    dags = DagBag(dag_folder=str(DAGS)).dags
    smoke = {
        "customer_id": "smoke",
        "age": "40",
        "tenure_months": "3",
        "monthly_charges": "95",
        "support_calls": "4",
        "plan": "basic",
        "region": "east",
        "paperless": "yes",
        "last_contact_note": "slow internet again",
    }
    states = []
    for day, (seed, shift) in enumerate([(1, 0.0), (2, 0.3)], start=1):
        s3.put_object(
            Bucket=BUCKET, Key=f"fresh/customers-day{day}.csv", Body=customers(4000, seed, shift).encode()
        )
        print(f"\n== Day {day}: retraining on s3://{BUCKET}/fresh/ ==")
        run = dags["aml_retrain"].test(
            logical_date=dt.datetime(2026, 11, day, tzinfo=dt.UTC), run_conf={"smoke_record": smoke}
        )
        states.append(("aml_retrain", day, run.state))
    print("\n== Scoring the day's records with the champion ==")
    run = dags["aml_batch_score"].test(logical_date=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    states.append(("aml_batch_score", 2, run.state))
    summarize(aml, s3, states)
    return 0 if all(str(state) == "success" for *_, state in states) else 1


def summarize(aml: Any, s3: Any, states: list[tuple[str, int, Any]]) -> None:
    """Print the DAG runs, the family's models and evaluations, and the first scored rows."""
    ml = aml.client()
    print("\n== Summary ==")
    for dag_id, day, state in states:
        print(f"{dag_id:16} day {day}: {state}")
    for model in ml.describe_ml_models(FilterVariable="Name", Prefix=f"{FAMILY}/")["Results"]:
        tags = {
            t["Key"]: t.get("Value")
            for t in ml.describe_tags(ResourceId=model["MLModelId"], ResourceType="MLModel")["Tags"]
        }
        print(
            f"model {model['MLModelId']:48} {model['Status']:10} role={tags.get('aml:role', '-'):18} "
            f"endpoint={model['EndpointInfo']['EndpointStatus']}"
        )
    for evaluation in ml.describe_evaluations(FilterVariable="Name", Prefix=f"{FAMILY}/")["Results"]:
        metrics = evaluation.get("PerformanceMetrics", {}).get("Properties", {})
        print(f"evaluation {evaluation['Name']:70} {metrics}")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="scores/").get("Contents", []):
        print(f"s3://{BUCKET}/{item['Key']}")
        if item["Key"].endswith(".gz"):
            body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()).decode()
            print("  " + "\n  ".join(body.splitlines()[:4]))


def main() -> None:
    sys.exit(run(Path(os.environ.get("AML_DEMO_DIR", ".aml-local/demo")).resolve()))


if __name__ == "__main__":
    main()
