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

import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import pytest  # noqa: E402

from tests.airflow.data import labelled_rows  # noqa: E402
from tests.airflow.runner import DagRunner  # noqa: E402

if TYPE_CHECKING:
    from tests.airflow.fault_matrix import Matrix


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    """A fresh Airflow metadata database for this session."""
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture(scope="session")
def aws_connection(aml: Any) -> Iterator[str]:
    """``aws_default`` pointing Amazon ML and S3 at the local service, as a user would configure it."""
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(aml.airflow_connection)
    yield "aws_default"
    os.environ.pop("AIRFLOW_CONN_AWS_DEFAULT", None)


@pytest.fixture(scope="session")
def training_csv(s3: Any, bucket: str) -> str:
    """S3 URI of 300 labelled rows."""
    s3.put_object(Bucket=bucket, Key="airflow/train.csv", Body=labelled_rows(300).encode())
    return f"s3://{bucket}/airflow/train.csv"


@pytest.fixture
def dag_runner(request: pytest.FixtureRequest, aws_connection: str) -> DagRunner:
    """A DagRunner whose DAG ids are named after the test; the connection points at the local service."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    return DagRunner(name)


@pytest.fixture(scope="module")
def matrix(aml: Any, aws_connection: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """A restartable service behind the proxies, and ``aws_default`` pointing at them for this module."""
    from tests.airflow.fault_matrix import Matrix
    from tests.airflow.fault_proxy import Desk, FaultProxy
    from tests.airflow.outages import RestartableService

    service = RestartableService(Path(tmp_path_factory.mktemp("matrix")), aml.s3_endpoint_url or "")
    desk = Desk()
    proxies = (
        FaultProxy("ml", service.service.endpoint_url, desk),
        FaultProxy("s3", aml.s3_endpoint_url or "", desk),
    )
    matrix = Matrix(service, desk, proxies)
    previous = os.environ[f"AIRFLOW_CONN_{aws_connection.upper()}"]
    os.environ[f"AIRFLOW_CONN_{aws_connection.upper()}"] = json.dumps(matrix.connection())
    yield matrix
    os.environ[f"AIRFLOW_CONN_{aws_connection.upper()}"] = previous
    for proxy in proxies:
        proxy.close()
    service.close()
