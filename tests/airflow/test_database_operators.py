"""Redshift and RDS data source operators in real DAGs, with PostgreSQL and MariaDB standing in."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from aml_provider.hooks import DATA_SOURCE, AmlError, AmlHook
from aml_provider.local import LocalAml
from aml_provider.operators import AmlCreateDataSourceFromRDSOperator, AmlCreateDataSourceFromRedshiftOperator
from tests.airflow.data import SCHEMA, labelled_records
from tests.airflow.runner import DagRunner
from tests.helpers import service_unavailable, unique_id

POSTGRES_URL = os.environ.get("AML_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("AML_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
FAST: dict[str, Any] = {"waiter_delay": 0.5, "waiter_max_attempts": 120}
SCHEMA_WITHOUT_HEADER = {**SCHEMA, "dataFileContainsHeader": False}


@pytest.fixture(scope="module")
def database_service(aml: LocalAml, aws_connection: str) -> Iterator[str]:
    """A service on the same S3 whose Redshift and RDS servers are the test databases; its connection id."""
    with LocalAml(
        s3_endpoint_url=aml.s3_endpoint_url,
        redshift_servers={"*": POSTGRES_URL},
        rds_servers={"*": MYSQL_URL},
    ) as service:
        os.environ["AIRFLOW_CONN_AML_DATABASES"] = json.dumps(
            {
                "conn_type": "aws",
                "login": service.access_key_id,
                "password": service.secret_access_key,
                "extra": {"region_name": "us-east-1", "endpoint_url": service.endpoint_url},
            }
        )
        os.environ["AIRFLOW_CONN_AML_DB_LOGIN"] = json.dumps(
            {"conn_type": "generic", "login": "postgres", "password": "database-password-1"}
        )
        yield "aml_databases"
        for name in ("AIRFLOW_CONN_AML_DATABASES", "AIRFLOW_CONN_AML_DB_LOGIN"):
            os.environ.pop(name, None)


def load_table(template: str) -> str:
    """Create a table of labelled rows in the database `template` names (skip when it is not running)."""
    url = sa.make_url(template)
    drivers = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}
    url = url.set(drivername=drivers[url.drivername], username=url.username or "postgres")
    table = unique_id("labelled").replace("-", "_")
    try:
        with sa.create_engine(url).begin() as connection:
            connection.exec_driver_sql(
                f"CREATE TABLE {table} (x1 FLOAT, x2 FLOAT, colour VARCHAR(10), label INTEGER)"
            )
            connection.execute(
                sa.text(f"INSERT INTO {table} VALUES (:x1, :x2, :colour, :label)"), labelled_records(120)
            )
    except sa.exc.OperationalError as error:
        service_unavailable(f"test database not reachable at {template}: {error.orig}")
    return table


def common_arguments(database_service: str, bucket: str, table: str) -> dict[str, Any]:
    return {
        "database_name": "test",
        "select_sql_query": f"SELECT x1, x2, colour, label FROM {table}",
        "s3_staging_location": f"s3://{bucket}/airflow/{unique_id('staging')}/",
        "role_arn": "arn:aws:iam::123456789012:role/aml",
        "db_conn_id": "aml_db_login",
        "data_schema": SCHEMA_WITHOUT_HEADER,
        "aws_conn_id": database_service,
        **FAST,
    }


def test_redshift_and_rds_queries_become_data_sources(
    dag_runner: DagRunner, database_service: str, bucket: str
) -> None:
    redshift_table, rds_table = load_table(POSTGRES_URL), load_table(MYSQL_URL)
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromRedshiftOperator(
            task_id="redshift",
            cluster_identifier="warehouse",
            **common_arguments(database_service, bucket, redshift_table),
        )
        AmlCreateDataSourceFromRDSOperator(
            task_id="rds",
            instance_identifier="orders-db",
            resource_role="DataPipelineDefaultResourceRole",
            service_role="DataPipelineDefaultRole",
            subnet_id="subnet-0123",
            security_group_ids=["sg-0123"],
            deferrable=True,
            **common_arguments(database_service, bucket, rds_table),
        )
    dag_run = dag_runner.run(dag)

    states = dag_runner.states(dag_run)
    assert set(states.values()) == {"success"}, (states, dag_runner.failure_text())
    hook = AmlHook(aws_conn_id=database_service)
    for task_id in ("redshift", "rds"):
        entity = hook.get(DATA_SOURCE, dag_runner.xcom(dag_run, task_id))
        assert entity["Status"] == "COMPLETED"
        assert entity["DataLocationS3"].startswith(f"s3://{bucket}/airflow/staging-")
    assert (
        hook.get(DATA_SOURCE, dag_runner.xcom(dag_run, "rds"))["RDSMetadata"]["DatabaseUserName"]
        == "postgres"
    )


def test_a_failing_query_fails_the_task_with_the_database_message(
    dag_runner: DagRunner, database_service: str, bucket: str
) -> None:
    load_table(POSTGRES_URL)
    with dag_runner.dag() as dag:
        AmlCreateDataSourceFromRedshiftOperator(
            task_id="redshift",
            cluster_identifier="warehouse",
            **common_arguments(database_service, bucket, "no_such_table"),
        )
    dag_run = dag_runner.run(dag)

    assert dag_runner.states(dag_run) == {"redshift": "failed"}
    failures = list(
        AmlHook(aws_conn_id=database_service).describe(DATA_SOURCE, FilterVariable="Status", EQ="FAILED")
    )
    assert any(entity["Message"] in dag_runner.failure_text() for entity in failures)
    assert "no_such_table" in dag_runner.failure_text()


def test_a_retry_after_a_timeout_reattaches(
    dag_runner: DagRunner, database_service: str, bucket: str
) -> None:
    """The first try gives up while the query still runs; its retry finds the same data source."""
    table = load_table(POSTGRES_URL)
    arguments = common_arguments(database_service, bucket, table)
    # The query takes 2 s, so a single 0.3 s status check cannot see the data source finish.
    arguments["select_sql_query"] = (
        f"SELECT x1, x2, colour, label FROM {table}, (SELECT pg_sleep(2)) AS pause"
    )
    arguments.update(waiter_delay=0.3, waiter_max_attempts=1)
    with dag_runner.dag(retries=4, retry_delay=dt.timedelta(seconds=1)) as dag:
        AmlCreateDataSourceFromRedshiftOperator(task_id="load", cluster_identifier="warehouse", **arguments)
    dag_run = dag_runner.run(dag)

    (task_instance,) = dag_run.get_task_instances()
    assert task_instance.state == "success", dag_runner.failure_text()
    assert task_instance.try_number >= 2
    assert "did not finish within 1 checks" in dag_runner.failure_text()
    staging = arguments["s3_staging_location"]
    hook = AmlHook(aws_conn_id=database_service)
    found = [e for e in hook.describe(DATA_SOURCE) if e.get("DataLocationS3", "").startswith(staging)]
    assert [entity["DataSourceId"] for entity in found] == [dag_runner.xcom(dag_run, "load")]


def database_spec(table: str, bucket: str, information: dict[str, str]) -> dict[str, Any]:
    return {
        "DatabaseInformation": {"DatabaseName": "test", **information},
        "SelectSqlQuery": f"SELECT x1, x2, colour, label FROM {table}",
        "DatabaseCredentials": {"Username": "postgres", "Password": "database-password-1"},
        "S3StagingLocation": f"s3://{bucket}/airflow/{unique_id('staging')}/",
        "DataSchema": json.dumps(SCHEMA_WITHOUT_HEADER),
    }


RDS_ROLES = {
    "ResourceRole": "DataPipelineDefaultResourceRole",
    "ServiceRole": "DataPipelineDefaultRole",
    "SubnetId": "subnet-0123",
    "SecurityGroupIds": ["sg-0123"],
}
CHANGES = [
    ("SelectSqlQuery", "SELECT x1, x2, colour, label FROM other_table"),
    ("DatabaseCredentials", {"Username": "someone-else", "Password": "p"}),
    ("S3StagingLocation", "s3://elsewhere/staging/"),
    ("DataSchema", json.dumps({**SCHEMA_WITHOUT_HEADER, "targetAttributeName": "x1"})),
]


@pytest.mark.parametrize("source", ["redshift", "rds"])
def test_reattach_to_a_database_data_source_names_the_changed_input(
    database_service: str, bucket: str, source: str
) -> None:
    """The same inputs reattach (the query in other spacing too); each changed one is named."""
    hook = AmlHook(aws_conn_id=database_service)
    role_arn = "arn:aws:iam::123456789012:role/aml"
    if source == "redshift":
        spec = database_spec(load_table(POSTGRES_URL), bucket, {"ClusterIdentifier": "warehouse"})
        member, identifier = "DataSpec", ("ClusterIdentifier", "other-cluster")

        def create(data_source_id: str, spec: dict[str, Any], role: str = role_arn) -> str:
            return hook.create_data_source_from_redshift(data_source_id, data_spec=spec, role_arn=role)
    else:
        spec = {
            **database_spec(load_table(MYSQL_URL), bucket, {"InstanceIdentifier": "orders-db"}),
            **RDS_ROLES,
        }
        member, identifier = "RDSData", ("InstanceIdentifier", "other-db")

        def create(data_source_id: str, spec: dict[str, Any], role: str = role_arn) -> str:
            return hook.create_data_source_from_rds(data_source_id, rds_data=spec, role_arn=role)

    data_source_id = create(unique_id("ds"), spec)
    hook.wait_for_completion(DATA_SOURCE, data_source_id, **FAST)
    spaced = {**spec, "SelectSqlQuery": spec["SelectSqlQuery"].replace(" FROM ", "\n  FROM ") + ";"}
    assert create(data_source_id, spaced) == data_source_id
    changes = [
        *CHANGES,
        ("DatabaseInformation", {**spec["DatabaseInformation"], identifier[0]: identifier[1]}),
    ]
    if source == "rds":
        changes += [("ResourceRole", "OtherResourceRole"), ("ServiceRole", "OtherServiceRole")]
    for key, value in changes:
        with pytest.raises(AmlError, match=rf"different parameters \({member}\.{key}"):
            create(data_source_id, {**spec, key: value})
    with pytest.raises(AmlError, match=r"different parameters \(RoleARN: existing"):
        create(data_source_id, spec, role="arn:aws:iam::123456789012:role/other")
