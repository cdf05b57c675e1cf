"""Datasources over HTTP with boto3: from S3, Redshift (PostgreSQL) and RDS (MariaDB), statistics and splits."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aml_provider.local import LocalAml
from aml_provider.local.data import DataSourceReader, S3Store
from aml_provider.local.data.databases import DatabaseQuery, stage_query
from aml_provider.local.jobs.context import artifacts_dir
from tests.helpers import put_text, service_unavailable, unique_id, wait_for
from tests.output_shapes import assert_valid_output

POSTGRES_URL = os.environ.get("AML_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("AML_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
PASSWORD = "not-a-real-password-42"


def schema(attributes: list[tuple[str, str]], **keys: Any) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "dataFormat": "CSV",
            "attributes": [{"attributeName": n, "attributeType": t} for n, t in attributes],
            **keys,
        }
    )


CUSTOMERS = [
    ("id", "CATEGORICAL"),
    ("age", "NUMERIC"),
    ("plan", "CATEGORICAL"),
    ("note", "TEXT"),
    ("buys", "BINARY"),
]


def customers_csv(rows: int, header: bool = True, start: int = 0) -> str:
    lines = ["id,age,plan,note,buys"] if header else []
    plans = ["basic", "plus", "pro"]
    for i in range(start, start + rows):
        note = '"likes fast, cheap service"' if i % 2 else "rarely calls"
        lines.append(f"c{i},{20 + i % 50},{plans[i % 3]},{note},{'yes' if i % 2 else 'no'}")
    return "\n".join(lines) + "\n"


def create_from_s3(ml: Any, location: str, statistics: bool = True, **spec: Any) -> dict[str, Any]:
    data_source_id = unique_id("ds")
    response = ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSourceName="test data",
        DataSpec={"DataLocationS3": location, **spec},
        ComputeStatistics=statistics,
    )
    assert response["DataSourceId"] == data_source_id
    return wait_for(ml, "DataSource", data_source_id)


def artifacts(aml: LocalAml, data_source: dict[str, Any]) -> Path:
    return artifacts_dir(aml.config, "DataSource", data_source["DataSourceId"])


def statistics_of(aml: LocalAml, data_source: dict[str, Any]) -> dict[str, Any]:
    return json.loads((artifacts(aml, data_source) / "statistics.json").read_text())  # type: ignore[no-any-return]


def log_of(data_source: dict[str, Any]) -> str:
    with urllib.request.urlopen(data_source["LogUri"]) as response:
        return response.read().decode()  # type: ignore[no-any-return]


# --- S3 -------------------------------------------------------------------------------------------------


def test_one_object_with_inline_schema_header_row_id_and_statistics(
    aml: LocalAml, ml: Any, s3: Any, bucket: str
) -> None:
    text = customers_csv(300)
    location = put_text(s3, bucket, f"{unique_id('one')}/customers.csv", text)
    inline = schema(
        CUSTOMERS,
        targetAttributeName="buys",
        rowId="id",
        excludedAttributeNames=["note"],
        dataFileContainsHeader=True,
    )
    data_source = create_from_s3(ml, location, DataSchema=inline)
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    assert data_source["DataSizeInBytes"] == len(text.encode())
    assert data_source["NumberOfFiles"] == 1
    assert data_source["ComputeStatistics"] is True
    assert_valid_output("GetDataSource", data_source)

    stats = statistics_of(aml, data_source)
    assert (stats["records"], stats["invalidRecords"], stats["target"]) == (300, 0, "buys")
    attributes = stats["attributes"]
    assert attributes["buys"]["trueCount"] == 150
    assert attributes["age"]["min"] == 20
    assert attributes["age"]["max"] == 69
    assert len(attributes["age"]["quantiles"]) == 101
    assert attributes["id"]["unique"] == 300
    assert sorted(value for value, _ in attributes["plan"]["top"]) == ["basic", "plus", "pro"]
    words = {"rarely": 150, "calls": 150, "likes": 150, "fast,": 150, "cheap": 150, "service": 150}
    assert dict(attributes["note"]["topWords"]) == words
    assert attributes["note"]["targetCorrelation"] > attributes["plan"]["targetCorrelation"]

    verbose = ml.get_data_source(DataSourceId=data_source["DataSourceId"], Verbose=True)
    stored = json.loads(verbose["DataSourceSchema"])
    assert (stored["rowId"], stored["excludedAttributeNames"]) == ("id", ["note"])
    assert "Reading 1 file(s)" in log_of(data_source)


def test_prefix_of_many_files_with_schema_in_s3_and_no_header(
    aml: LocalAml, ml: Any, s3: Any, bucket: str
) -> None:
    prefix = unique_id("many")
    texts = [customers_csv(40, header=False, start=40 * part) for part in range(3)]
    for part, text in enumerate(texts):
        put_text(s3, bucket, f"{prefix}/data/part-{part}.csv", text)
    schema_uri = put_text(
        s3, bucket, f"{prefix}/customers.schema", schema(CUSTOMERS, targetAttributeName="buys")
    )
    data_source = create_from_s3(ml, f"s3://{bucket}/{prefix}/data/", DataSchemaLocationS3=schema_uri)
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    assert data_source["NumberOfFiles"] == 3
    assert data_source["DataSizeInBytes"] == sum(len(t) for t in texts)
    stats = statistics_of(aml, data_source)
    assert stats["records"] == 120
    assert stats["attributes"]["id"]["unique"] == 120
    files = json.loads((artifacts(aml, data_source) / "files.json").read_text())
    assert [f["uri"].rsplit("/", 1)[-1] for f in files] == ["part-0.csv", "part-1.csv", "part-2.csv"]


def test_binary_spellings_and_invalid_values(aml: LocalAml, ml: Any, s3: Any, bucket: str) -> None:
    values = ["1", "y", "Yes", " t ", "TRUE", "0", "n", "NO", "f", "False", "maybe", "", "2"]
    text = "".join(f"{i},{v}\n" for i, v in enumerate(values))
    location = put_text(s3, bucket, f"{unique_id('binary')}.csv", text)
    data_source = create_from_s3(ml, location, DataSchema=schema([("n", "NUMERIC"), ("flag", "BINARY")]))
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    flag = statistics_of(aml, data_source)["attributes"]["flag"]
    assert (flag["trueCount"], flag["falseCount"], flag["missing"], flag["invalid"]) == (5, 5, 1, 2)


def test_malformed_observations_are_counted_and_skipped(aml: LocalAml, ml: Any, s3: Any, bucket: str) -> None:
    lines = customers_csv(50, header=False).splitlines()
    lines[10] = "c10,31,basic"  # too few values
    lines[20] = "c20,41,pro,note,yes,extra"  # too many
    text = "\r\n".join(lines) + "\r\n\r\n"
    location = put_text(s3, bucket, f"{unique_id('bad')}.csv", text)
    data_source = create_from_s3(ml, location, DataSchema=schema(CUSTOMERS, targetAttributeName="buys"))
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    stats = statistics_of(aml, data_source)
    assert (stats["records"], stats["invalidRecords"]) == (48, 2)
    log = log_of(data_source)
    assert "Rejected line 11 of" in log
    assert "Rejected line 21 of" in log


def test_more_than_ten_thousand_rejected_observations_fail(ml: Any, s3: Any, bucket: str) -> None:
    text = "1,2\n" * 100 + "1,2,3\n" * 10_001
    location = put_text(s3, bucket, f"{unique_id('rejected')}.csv", text)
    data_source = create_from_s3(ml, location, DataSchema=schema([("a", "NUMERIC"), ("b", "NUMERIC")]))
    assert data_source["Status"] == "FAILED"
    assert "More than 10000 observations were rejected" in data_source["Message"]
    assert "3 values where the schema has 2 attributes" in data_source["Message"]


def test_failures_have_clear_messages(ml: Any, s3: Any, bucket: str) -> None:
    prefix = unique_id("fail")
    bad_schema = put_text(
        s3, bucket, f"{prefix}/bad.schema", schema([("a", "NUMERIC")], targetAttributeName="b")
    )
    data = put_text(s3, bucket, f"{prefix}/data.csv", "1\n2\n")
    mac = put_text(s3, bucket, f"{prefix}/mac.csv", "1\r2\r3\r")
    good_schema = schema([("a", "NUMERIC")])
    cases: list[tuple[str, dict[str, Any], str]] = [
        (data, {"DataSchemaLocationS3": bad_schema}, "'targetAttributeName' names 'b'"),
        (f"s3://{bucket}/{prefix}/missing/", {"DataSchema": good_schema}, "No data found"),
        (mac, {"DataSchema": good_schema}, "bare carriage return"),
    ]
    for location, spec, message in cases:
        data_source = create_from_s3(ml, location, **spec)
        assert data_source["Status"] == "FAILED"
        assert message in data_source["Message"]


@pytest.mark.parametrize(
    ("encoding", "why"),
    [
        ("utf-16", "is UTF-16 text"),  # with a byte-order mark
        ("utf-16-le", "holds NUL bytes"),  # without one
        ("utf-32", "is UTF-32 text"),
    ],
)
def test_data_not_in_utf8_fails_naming_the_file_and_its_encoding(
    ml: Any, s3: Any, bucket: str, encoding: str, why: str
) -> None:
    key = f"{unique_id('encoding')}/data.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=customers_csv(20).encode(encoding))
    data_source = create_from_s3(ml, f"s3://{bucket}/{key}", DataSchema=schema(CUSTOMERS))
    assert data_source["Status"] == "FAILED"
    assert f"s3://{bucket}/{key} {why}" in data_source["Message"]
    assert "UTF-8" in data_source["Message"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_schema_files_with_a_byte_order_mark_are_read(ml: Any, s3: Any, bucket: str, encoding: str) -> None:
    prefix = unique_id("schema-encoding")
    data = put_text(s3, bucket, f"{prefix}/data.csv", customers_csv(30))
    text = schema(CUSTOMERS, targetAttributeName="buys", dataFileContainsHeader=True)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/data.schema", Body=text.encode(encoding))
    data_source = create_from_s3(ml, data, DataSchemaLocationS3=f"s3://{bucket}/{prefix}/data.schema")
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")


def test_schema_file_not_in_utf8_fails_clearly(ml: Any, s3: Any, bucket: str) -> None:
    prefix = unique_id("schema-latin1")
    data = put_text(s3, bucket, f"{prefix}/data.csv", "a\n1\n")
    text = schema([("a", "NUMERIC")]).replace('"a"', '"é"')
    s3.put_object(Bucket=bucket, Key=f"{prefix}/data.schema", Body=text.encode("latin-1"))
    data_source = create_from_s3(ml, data, DataSchemaLocationS3=f"s3://{bucket}/{prefix}/data.schema")
    assert data_source["Status"] == "FAILED"
    assert f"s3://{bucket}/{prefix}/data.schema is not UTF-8 text" in data_source["Message"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a,b,y\n1,2,1\n3,4,0\n", "line 2 of s3://{uri}: 3 values where the schema has 2 attributes"),
        ("a,y\r\r\n1,1\r\r\n3,0\r\r\n", "line 2 of s3://{uri}: badly quoted value or a carriage return"),
    ],
)
def test_every_line_malformed_fails_naming_the_first(
    ml: Any, s3: Any, bucket: str, text: str, why: str
) -> None:
    key = f"{unique_id('allbad')}.csv"
    location = put_text(s3, bucket, key, text)
    inline = schema([("a", "NUMERIC"), ("y", "BINARY")], targetAttributeName="y", dataFileContainsHeader=True)
    data_source = create_from_s3(ml, location, DataSchema=inline)
    assert data_source["Status"] == "FAILED"
    assert "all 2 selected lines were rejected as malformed" in data_source["Message"]
    assert why.format(uri=f"{bucket}/{key}") in data_source["Message"]


def test_without_compute_statistics_no_statistics_are_kept(
    aml: LocalAml, ml: Any, s3: Any, bucket: str
) -> None:
    location = put_text(s3, bucket, f"{unique_id('nostats')}.csv", customers_csv(20))
    inline = schema(CUSTOMERS, dataFileContainsHeader=True)
    data_source = create_from_s3(ml, location, statistics=False, DataSchema=inline)
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    assert data_source["ComputeStatistics"] is False
    assert not (artifacts(aml, data_source) / "statistics.json").exists()
    assert (artifacts(aml, data_source) / "schema.json").exists()


@pytest.mark.parametrize("strategy", ["sequential", "random"])
def test_data_rearrangement_and_its_complement_cover_the_data(
    aml: LocalAml, ml: Any, s3: Any, bucket: str, strategy: str
) -> None:
    location = put_text(s3, bucket, f"{unique_id('split')}.csv", customers_csv(1000))
    inline = schema(CUSTOMERS, targetAttributeName="buys", dataFileContainsHeader=True)
    splitting = {
        "percentBegin": 0,
        "percentEnd": 70,
        "strategy": strategy,
        "strategyParams": {"randomSeed": "s"},
    }
    train = create_from_s3(
        ml, location, DataSchema=inline, DataRearrangement=json.dumps({"splitting": splitting})
    )
    test = create_from_s3(
        ml,
        location,
        DataSchema=inline,
        DataRearrangement=json.dumps({"splitting": {**splitting, "complement": True}}),
    )
    assert (train["Status"], test["Status"]) == ("COMPLETED", "COMPLETED")
    assert json.loads(train["DataRearrangement"])["splitting"]["percentEnd"] == 70
    train_records = statistics_of(aml, train)["records"]
    test_records = statistics_of(aml, test)["records"]
    assert train_records + test_records == 1000
    assert 600 < train_records < 800


# --- Redshift (PostgreSQL) and RDS (MariaDB) ------------------------------------------------------------


def database_url(template: str) -> sa.URL:
    url = sa.make_url(template.replace("{database}", "test"))
    drivers = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}
    url = url.set(drivername=drivers.get(url.drivername, url.drivername))
    return url if url.username else url.set(username="postgres")


@pytest.fixture(scope="module")
def databases(aml: LocalAml) -> Iterator[LocalAml]:
    """A second service on the same S3 whose Redshift and RDS servers are the test databases.

    The MariaDB template names its user (root, no password), so the request's credentials are not used
    there; the PostgreSQL template names none, so the request's Username and Password are used.
    """
    with LocalAml(
        s3_endpoint_url=aml.s3_endpoint_url,
        redshift_servers={"*": POSTGRES_URL},
        rds_servers={"test-instance": MYSQL_URL},
    ) as service:
        yield service


def load_table(template: str, rows: int) -> str:
    table = unique_id("customers").replace("-", "_")
    try:
        engine = sa.create_engine(database_url(template))
        with engine.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE TABLE {table} (id VARCHAR(20), age INTEGER, score FLOAT, active BOOLEAN, plan VARCHAR(20))"
            )
            connection.execute(
                sa.text(f"INSERT INTO {table} VALUES (:id, :age, :score, :active, :plan)"),
                [
                    {
                        "id": f"c{i}",
                        "age": 20 + i % 40,
                        "score": i / 4,
                        "active": i % 3 == 0,
                        "plan": "p, q" if i % 2 else None,
                    }
                    for i in range(rows)
                ],
            )
    except sa.exc.OperationalError as err:
        service_unavailable(f"test database not reachable at {template}: {err.orig}")
    return table


def test_redshift_query_is_staged_and_read(databases: LocalAml, bucket: str) -> None:
    ml, s3 = databases.client(), databases.client("s3")
    table = load_table(POSTGRES_URL, 120)
    staging = f"s3://{bucket}/{unique_id('staging')}"
    data_source_id = unique_id("redshift")
    ml.create_data_source_from_redshift(
        DataSourceId=data_source_id,
        DataSpec={
            "DatabaseInformation": {"DatabaseName": "test", "ClusterIdentifier": "any-cluster"},
            "SelectSqlQuery": f"SELECT id, age, score, active, plan FROM {table} WHERE plan IS NULL OR plan LIKE '%q'",
            "DatabaseCredentials": {"Username": "postgres", "Password": PASSWORD},
            "S3StagingLocation": staging,
        },
        RoleARN="arn:aws:iam::123456789012:role/redshift",
        ComputeStatistics=True,
    )
    data_source = wait_for(ml, "DataSource", data_source_id)
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    assert data_source["DataLocationS3"] == f"{staging}/{data_source_id}/"
    assert data_source["NumberOfFiles"] == 1
    assert_valid_output("GetDataSource", data_source)

    key = f"{staging}/{data_source_id}/part-00000.csv".split("/", 3)[3]
    staged = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert staged[0] == "id,age,score,active,plan"
    assert staged[1:3] == ["c0,20,0.0,true,", 'c1,21,0.25,false,"p, q"']
    assert len(staged) == 121

    verbose = ml.get_data_source(DataSourceId=data_source_id, Verbose=True)
    inferred = json.loads(verbose["DataSourceSchema"])
    assert [(a["attributeName"], a["attributeType"]) for a in inferred["attributes"]] == [
        ("id", "CATEGORICAL"),
        ("age", "NUMERIC"),
        ("score", "NUMERIC"),
        ("active", "BINARY"),
        ("plan", "CATEGORICAL"),
    ]
    assert inferred["dataFileContainsHeader"] is True
    stats = statistics_of(databases, data_source)
    assert stats["records"] == 120
    assert stats["attributes"]["active"]["trueCount"] == 40
    for response in (verbose, ml.describe_data_sources()):
        assert PASSWORD not in json.dumps(response, default=str)
    assert PASSWORD not in log_of(data_source)


def test_rds_query_with_schema_and_template_credentials(databases: LocalAml, bucket: str) -> None:
    ml, s3 = databases.client(), databases.client("s3")
    table = load_table(MYSQL_URL, 90)
    staging = f"s3://{bucket}/{unique_id('staging')}/"
    data_source_id = unique_id("rds")
    given = schema(
        [("id", "CATEGORICAL"), ("age", "NUMERIC"), ("active", "BINARY")],
        targetAttributeName="active",
        rowId="id",
    )
    ml.create_data_source_from_rds(
        DataSourceId=data_source_id,
        RDSData={
            "DatabaseInformation": {"InstanceIdentifier": "test-instance", "DatabaseName": "test"},
            "SelectSqlQuery": f"SELECT id, age, active FROM {table} ORDER BY age",
            "DatabaseCredentials": {"Username": "someone", "Password": PASSWORD},
            "S3StagingLocation": staging,
            "ResourceRole": "DataPipelineDefaultResourceRole",
            "ServiceRole": "DataPipelineDefaultRole",
            "SubnetId": "subnet-0123",
            "SecurityGroupIds": ["sg-0123"],
            "DataSchema": given,
        },
        RoleARN="arn:aws:iam::123456789012:role/rds",
        ComputeStatistics=True,
    )
    data_source = wait_for(ml, "DataSource", data_source_id)
    assert data_source["Status"] == "COMPLETED", data_source.get("Message")
    assert data_source["DataLocationS3"] == f"{staging}{data_source_id}/"
    assert data_source["RDSMetadata"]["DatabaseUserName"] == "someone"
    assert_valid_output("GetDataSource", data_source)
    key = f"{staging}{data_source_id}/part-00000.csv".split("/", 3)[3]
    staged = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert len(staged) == 90  # no header: the given schema says there is none
    assert staged[0].startswith("c0,20,")
    stats = statistics_of(databases, data_source)
    assert (stats["records"], stats["target"]) == (90, "active")
    assert stats["attributes"]["active"]["trueCount"] == 30  # MariaDB booleans are 1/0
    assert PASSWORD not in json.dumps(
        ml.get_data_source(DataSourceId=data_source_id, Verbose=True), default=str
    )


def test_database_errors_fail_with_the_database_message(databases: LocalAml, bucket: str) -> None:
    ml = databases.client()
    load_table(POSTGRES_URL, 1)  # skips when the database is not there
    data_source_id = unique_id("broken")
    ml.create_data_source_from_redshift(
        DataSourceId=data_source_id,
        DataSpec={
            "DatabaseInformation": {"DatabaseName": "test", "ClusterIdentifier": "any-cluster"},
            "SelectSqlQuery": "SELECT * FROM no_such_table_here",
            "DatabaseCredentials": {"Username": "postgres", "Password": PASSWORD},
            "S3StagingLocation": f"s3://{bucket}/{unique_id('staging')}",
        },
        RoleARN="arn:aws:iam::123456789012:role/redshift",
    )
    data_source = wait_for(ml, "DataSource", data_source_id)
    assert data_source["Status"] == "FAILED"
    assert "no_such_table_here" in data_source["Message"]
    assert PASSWORD not in data_source["Message"]


def test_large_query_results_are_staged_in_parts_each_with_a_header(s3: Any, bucket: str) -> None:
    table = load_table(POSTGRES_URL, 3000)
    store = S3Store(s3)
    query = DatabaseQuery(
        POSTGRES_URL, "test", "postgres", PASSWORD, f"SELECT id, age, E'two\\nlines' AS note FROM {table}"
    )
    lines: list[str] = []
    prefix, inferred = stage_query(
        store, query, f"s3://{bucket}/{unique_id('parts')}", None, lines.append, 10_000
    )
    files = store.list(prefix)
    assert len(files) > 2
    assert [f.name for f in files] == [f"part-{n:05d}.csv" for n in range(len(files))]
    assert all(store.read_text(f.uri).startswith("id,age,note\n") for f in files)
    assert len(lines) == len(files)
    rows = list(DataSourceReader(store, inferred, files).chunks())
    assert sum(len(chunk) for chunk in rows) == 3000
    assert sum(chunk.rejected for chunk in rows) == 0
    assert {v for chunk in rows for v in chunk.columns["note"]} == {"two lines"}
