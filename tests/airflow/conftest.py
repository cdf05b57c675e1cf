"""Airflow in a temporary home, its database, and the ``aws_default`` connection to the local service."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Airflow reads these when it is first imported, so they are set before anything imports it.
REPO = Path(__file__).resolve().parents[2]
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="aml-airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

import datetime as dt  # noqa: E402
import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

SCHEMA = {
    "version": "1.0",
    "targetAttributeName": "label",
    "dataFormat": "CSV",
    "dataFileContainsHeader": True,
    "attributes": [
        {"attributeName": "x1", "attributeType": "NUMERIC"},
        {"attributeName": "x2", "attributeType": "NUMERIC"},
        {"attributeName": "colour", "attributeType": "CATEGORICAL"},
        {"attributeName": "label", "attributeType": "BINARY"},
    ],
}
SCHEMA_WITHOUT_TARGET = {key: value for key, value in SCHEMA.items() if key != "targetAttributeName"}


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    """A fresh Airflow metadata database for this session."""
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture(scope="session")
def aws_connection(aml: Any) -> Iterator[str]:
    """``aws_default`` pointing Amazon ML and S3 at the local service, as a user would configure it."""
    connection = {
        "conn_type": "aws",
        "login": aml.access_key_id,
        "password": aml.secret_access_key,
        "extra": {
            "region_name": aml.region_name,
            "service_config": {
                "machinelearning": {"endpoint_url": aml.endpoint_url},
                "s3": {"endpoint_url": aml.s3_endpoint_url},
            },
        },
    }
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(connection)
    yield "aws_default"
    os.environ.pop("AIRFLOW_CONN_AWS_DEFAULT", None)


def labelled_rows(count: int, seed: int = 7) -> str:
    """CSV text of a learnable binary problem: label is 1 when x1 + x2 (plus noise) is positive."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=count), rng.normal(size=count)
    colours = rng.choice(["red", "green", "blue"], size=count)
    labels = (x1 + x2 + rng.normal(scale=0.3, size=count) > 0).astype(int)
    lines = ["x1,x2,colour,label"]
    lines += [f"{a:.4f},{b:.4f},{c},{y}" for a, b, c, y in zip(x1, x2, colours, labels, strict=True)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def training_csv(s3: Any, bucket: str) -> str:
    """S3 URI of 300 labelled rows."""
    s3.put_object(Bucket=bucket, Key="airflow/train.csv", Body=labelled_rows(300).encode())
    return f"s3://{bucket}/airflow/train.csv"


class DagRunner:
    """Builds DAGs whose task failures are recorded, and runs them with ``dag.test()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[BaseException] = []

    def dag(self, suffix: str = "", **default_args: Any) -> DAG:
        from airflow.sdk import DAG

        default_args.setdefault(
            "on_failure_callback", lambda context: self.failures.append(context["exception"])
        )
        return DAG(f"{self.name}{suffix}", schedule=None, catchup=False, default_args=default_args)

    def run(self, dag: DAG, run_after: dt.datetime | None = None) -> DagRun:
        """Run every task of `dag` in this process; the same `run_after` gives the same run_id."""
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

        DagBundlesManager().sync_bundles_to_db()
        bag = DagBag(dag_folder=os.devnull)
        bag.bag_dag(dag)
        sync_bag_to_db(bag, "dags-folder", None)
        run_after = run_after or dt.datetime.now(dt.UTC)
        return dag.test(run_after=run_after, logical_date=run_after)

    def states(self, dag_run: DagRun) -> dict[str, str | None]:
        return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    def xcom(self, dag_run: DagRun, task_id: str, key: str = "return_value") -> Any:
        """The XCom value a task of this run pushed (None when it pushed none)."""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            query = XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key
            )
            row = session.scalars(query).first()
            return None if row is None else XComModel.deserialize_value(row)

    def failure_text(self) -> str:
        return "\n".join(str(error) for error in self.failures)


@pytest.fixture
def dag_runner(request: pytest.FixtureRequest, aws_connection: str) -> DagRunner:
    """A DagRunner whose DAG ids are named after the test; the connection points at the local service."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    return DagRunner(name)
