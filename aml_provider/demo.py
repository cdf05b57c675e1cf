"""
The main job, end to end on the embedded default: the local Amazon ML service and a local S3.

Lands a week of generated customer data, one partition per day (``ds=YYYY-MM-DD/``), and runs the
``aml_retrain`` DAG for six logical dates, each telling one part of the story: the first champion; a
challenger within noise (kept); a real improvement after the customers' behaviour changed (promoted);
a day whose data lost a column (rejected by a data check); a day with no new partition (skipped).
Then it prints the family's history, scores the records with the champion (``aml_batch_score``) and
says where the last decision report is. Run it with ``python -m aml_provider.demo``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.fernet import Fernet

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


def customers(count: int, seed: int, shift: float = 0.0, regime: int = 0) -> str:
    """CSV text of customers whose churn depends on tenure, charges, calls, plan and notes (plus noise).

    ``shift`` moves the charges and calls distributions; ``regime`` 1 changes how churn depends on them
    (premium customers and long tenures stop protecting, charges matter three times as much).
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, count)
    tenure = rng.integers(0, 72, count)
    charges = rng.normal(70 + 10 * shift, 20, count).round(2)
    calls = rng.poisson(1.5 + shift, count)
    plan = rng.choice(["basic", "standard", "premium"], count)
    region = rng.choice(["north", "south", "east", "west"], count)
    paperless = rng.choice(["yes", "no"], count)
    note = rng.choice(len(NOTES), count)
    protect = -1.0 if regime else 1.0
    logit = (
        -0.05 * protect * tenure
        + 0.03 * (3 if regime else 1) * (charges - 70)
        + 0.6 * calls
        - 0.8 * protect * (plan == "premium")
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
    """Drop the target column from CSV text."""
    return without_column(csv_text, "churned")


def without_column(csv_text: str, name: str) -> str:
    """Drop one column from CSV text (whose values hold no commas)."""
    lines = [line.split(",") for line in csv_text.splitlines()]
    index = lines[0].index(name)
    return "\n".join(",".join(cells[:index] + cells[index + 1 :]) for cells in lines) + "\n"


#: What lands: (day, seed, regime, special). The customers change on day 6; day 8 lost a column.
LANDED = [
    (1, 1, 0, ""),
    (2, 2, 0, ""),
    (3, 3, 0, ""),
    (4, 4, 0, ""),
    (5, 5, 0, ""),
    (6, 6, 1, ""),
    (7, 7, 1, ""),
    (8, 8, 1, "drop"),
]
#: The runs: (logical day, what the story expects).
STORY = [
    (4, "the first model: it serves once it beats Amazon ML's baseline with confidence"),
    (5, "a challenger from the same world: within noise, the champion stays"),
    (6, "the customers changed today: no model has seen it yet"),
    (7, "a challenger trained on the new behaviour: it wins beyond its interval"),
    (8, "day 8's files lost a column: a data check stops the run before training"),
    (9, "nothing landed for day 9: skipped"),
]
SMOKE = {
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


def day(number: int) -> dt.datetime:
    return dt.datetime(2026, 11, number, tzinfo=dt.UTC)


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
        AIRFLOW__CORE__FERNET_KEY=os.environ.get("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode()),
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
            Bucket=BUCKET,
            Key="to-score/customers.csv",
            Body=without_target(customers(500, 99, regime=1)).encode(),
        )
        land(s3)
        return run_dags(s3, workdir)


def land(s3: Any) -> None:
    """One partition per day, two files each; day 8's files lost the monthly_charges column."""
    for number, seed, regime, special in LANDED:
        text = customers(3000, seed, regime=regime)
        if special == "drop":
            text = without_column(text, "monthly_charges")
        head, *rows = text.splitlines()
        half = len(rows) // 2
        for part, chunk in (("a", rows[:half]), ("b", rows[half:])):
            body = "\n".join([head, *chunk]) + "\n"
            s3.put_object(
                Bucket=BUCKET, Key=f"landing/ds={day(number):%Y-%m-%d}/part-{part}.csv", Body=body.encode()
            )
    print(f"Landed days 1-8 under s3://{BUCKET}/landing/ds=2026-11-0N/ (day 8 without monthly_charges)")


def run_dags(s3: Any, workdir: Path) -> int:
    """The six retraining days, the history, the scoring run and the last report."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import resetdb

    from aml_provider.family.cli import main as family_cli

    resetdb()
    # dag.test() warns at every step of its loop while skipped branches settle; the story needs none of it.
    logging.getLogger("airflow.sdk.definitions.dag").setLevel(logging.ERROR)
    dags = DagBag(dag_folder=str(DAGS)).dags
    conf = {"smoke_record": SMOKE, "training_window": 1, "missing_partition": "skip", "endpoint_grace": 0}
    states = []
    for number, story in STORY:
        print(f"\n== {day(number):%Y-%m-%d}: {story} ==")
        run = dags["aml_retrain"].test(logical_date=day(number), run_conf=conf)
        states.append(("aml_retrain", number, run.state))
        decision = next((ti for ti in run.get_task_instances() if ti.task_id == "decide"), None)
        print(f"aml_retrain {run.state}; decide {decision.state if decision else '-'}")
    print(f"\n== aml-family history {FAMILY} ==")
    family_cli(["history", FAMILY])
    print("\n== Scoring the records with the champion ==")
    run = dags["aml_batch_score"].test(logical_date=day(9))
    states.append(("aml_batch_score", 9, run.state))
    summarize(s3, states, workdir)
    return 0 if all(str(state) == "success" for *_, state in states) else 1


def summarize(s3: Any, states: list[tuple[str, int, Any]], workdir: Path) -> None:
    """Print the DAG runs, the first scored rows and where the last decision report is."""
    print("\n== Summary ==")
    for dag_id, number, state in states:
        print(f"{dag_id:16} {day(number):%Y-%m-%d}: {state}")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="scores/").get("Contents", []):
        print(f"s3://{BUCKET}/{item['Key']}")
        if item["Key"].endswith(".gz"):
            body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()).decode()
            print("  " + "\n  ".join(body.splitlines()[:4]))
    promoted = [
        key for key in report_keys(s3) if json.loads(read(s3, key))["decision"]["action"] == "promote"
    ]
    if promoted:
        local = workdir / "last-decision.html"
        local.write_bytes(read(s3, promoted[-1].replace("decision.json", "decision.html")))
        print(f"\nLast promotion's report: s3://{BUCKET}/{promoted[-1]} (HTML saved as {local})")


def report_keys(s3: Any) -> list[str]:
    """The family's decision.json keys, oldest first."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"families/{FAMILY}/").get("Contents", [])
    return sorted(item["Key"] for item in listed if item["Key"].endswith("/decision.json"))


def read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def main() -> None:
    sys.exit(run(Path(os.environ.get("AML_DEMO_DIR", ".aml-local/demo")).resolve()))


if __name__ == "__main__":
    main()
