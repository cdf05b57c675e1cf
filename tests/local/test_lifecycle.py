"""Durability and restarts: what a LocalAml leaves in its data directory and what the next one makes of it.

A job is held in progress with an S3 endpoint that accepts connections and never answers, so no test
needs sleeps in the service.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from aml_provider.local import LocalAml
from tests.helpers import put_text, schema_text, unique_id, wait_for

SCHEMA = schema_text(x="NUMERIC", y="BINARY")
CSV = "x,y\n" + "".join(f"{i / 100:.2f},{int(i > 50)}\n" for i in range(100))


class SilentServer:
    """A TCP server that accepts connections and never answers: requests to it hang until it closes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        if self.sock.fileno() != -1:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); new connections are refused
            self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_s3() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def moto_s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def create_data_source(ml: Any, location: str, **members: Any) -> str:
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id, DataSpec={"DataLocationS3": location, "DataSchema": SCHEMA}, **members
    )
    return data_source_id


def wait_for_status(ml: Any, data_source_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while ml.get_data_source(DataSourceId=data_source_id)["Status"] != status:
        assert time.monotonic() < deadline, f"{data_source_id} never became {status}"
        time.sleep(0.05)


def test_entities_tags_and_endpoints_survive_a_restart(tmp_path: Path) -> None:
    record = {"x": "0.9"}
    with LocalAml(data_dir=tmp_path) as first:
        ml, s3 = first.client(), first.client("s3")
        s3.create_bucket(Bucket="durable")
        source = create_data_source(ml, put_text(s3, "durable", "data.csv", CSV), ComputeStatistics=True)
        model_id = unique_id("ml")
        ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source)
        ml.add_tags(ResourceId=model_id, ResourceType="MLModel", Tags=[{"Key": "stage", "Value": "prod"}])
        assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
        ml.create_realtime_endpoint(MLModelId=model_id)
        while ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"] != "READY":
            time.sleep(0.05)
        before = ml.get_ml_model(MLModelId=model_id, Verbose=True)
        prediction = ml.predict(MLModelId=model_id, Record=record, PredictEndpoint=first.endpoint_url)

    with LocalAml(data_dir=tmp_path) as second:
        ml = second.client()
        after = ml.get_ml_model(MLModelId=model_id, Verbose=True)
        assert after["LogUri"].startswith(second.endpoint_url)
        same = ("LogUri", "ResponseMetadata", "EndpointInfo")
        assert {k: v for k, v in after.items() if k not in same} == {
            k: v for k, v in before.items() if k not in same
        }
        assert after["EndpointInfo"]["EndpointStatus"] == "READY"
        assert ml.describe_tags(ResourceId=model_id, ResourceType="MLModel")["Tags"] == [
            {"Key": "stage", "Value": "prod"}
        ]
        assert ml.get_data_source(DataSourceId=source)["Status"] == "COMPLETED"
        assert [m["MLModelId"] for m in ml.describe_ml_models()["Results"]] == [model_id]
        again = ml.predict(MLModelId=model_id, Record=record, PredictEndpoint=second.endpoint_url)
        assert again["Prediction"] == prediction["Prediction"]


def test_work_interrupted_by_a_stop(
    tmp_path: Path, silent_s3: SilentServer, moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In progress past the shutdown timeout -> run again; PENDING -> run; a lost database password -> FAILED;
    dependents of a job that fails -> FAILED."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the abandoned job ends soon once the silent S3 closes
    with LocalAml(
        data_dir=tmp_path, s3_endpoint_url=silent_s3.url, max_concurrent_jobs=1, shutdown_timeout=0
    ) as first:
        ml = first.client()
        hanging = create_data_source(ml, "s3://slow/data.csv")
        wait_for_status(ml, hanging, "INPROGRESS")
        queued = create_data_source(ml, "s3://later/data.csv")
        model_id = unique_id("ml")
        ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=hanging)
        database_id = unique_id("ds-redshift")
        ml.create_data_source_from_redshift(
            DataSourceId=database_id,
            DataSpec={
                "DatabaseInformation": {"DatabaseName": "postgres", "ClusterIdentifier": "local"},
                "SelectSqlQuery": "SELECT 1 AS x, 1 AS y",
                "DatabaseCredentials": {"Username": "postgres", "Password": "not-kept-anywhere"},
                "S3StagingLocation": "s3://later/staging/",
                "DataSchema": SCHEMA,
            },
            RoleARN="arn:aws:iam::123456789012:role/aml",
        )
        for entity_id in (queued, database_id):
            assert ml.get_data_source(DataSourceId=entity_id)["Status"] == "PENDING"
        assert ml.get_ml_model(MLModelId=model_id)["Status"] == "PENDING"

    # The next service reads a working S3 that holds the queued datasource's data (not the other one's).
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    s3.create_bucket(Bucket="later")
    put_text(s3, "later", "data.csv", CSV)
    with LocalAml(data_dir=tmp_path, s3_endpoint_url=moto_s3) as second:
        ml = second.client()
        interrupted = wait_for(ml, "DataSource", hanging)
        assert interrupted["Status"] == "FAILED"
        assert "s3://slow/data.csv" in interrupted["Message"]  # it ran again, against the new S3
        assert "FinishedAt" in interrupted
        log = urllib.request.urlopen(interrupted["LogUri"]).read().decode()
        assert "stopped before this job finished" in log
        assert log.count("job started") == 2
        assert wait_for(ml, "DataSource", queued)["Status"] == "COMPLETED"
        lost = wait_for(ml, "DataSource", database_id)
        assert lost["Status"] == "FAILED"
        assert "password" in lost["Message"]
        orphan = wait_for(ml, "MLModel", model_id)
        assert orphan["Status"] == "FAILED"
        assert hanging in orphan["Message"]


def test_delete_while_running_wins(
    tmp_path: Path, silent_s3: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the service's S3 client gives up at the first refusal
    with LocalAml(data_dir=tmp_path, s3_endpoint_url=silent_s3.url) as service:
        ml = service.client()
        data_source_id = create_data_source(ml, "s3://slow/data.csv")
        wait_for_status(ml, data_source_id, "INPROGRESS")
        ml.delete_data_source(DataSourceId=data_source_id)
        silent_s3.close()  # the job now fails to read S3 and ends
        log_uri = ml.get_data_source(DataSourceId=data_source_id)["LogUri"]
        deadline = time.monotonic() + 60
        while "discarded" not in (log := urllib.request.urlopen(log_uri).read().decode()):
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
        assert ml.get_data_source(DataSourceId=data_source_id)["Status"] == "DELETED"


def test_a_batch_prediction_that_fails_after_its_first_file_leaves_no_results(
    ml: Any, s3: Any, bucket: str
) -> None:
    """Over HTTP: the first file is scored and staged, the second is gone when the job reaches it, so the
    job fails, and the output prefix holds nothing (no result file, no manifest, no staging)."""
    prefix = unique_id("two-files")
    put_text(s3, bucket, f"{prefix}/part-0.csv", CSV)
    put_text(s3, bucket, f"{prefix}/part-1.csv", CSV)
    source = unique_id("ds")
    spec = {"DataLocationS3": f"s3://{bucket}/{prefix}/", "DataSchema": SCHEMA}
    ml.create_data_source_from_s3(DataSourceId=source, DataSpec=spec, ComputeStatistics=True)
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source)
    assert wait_for(ml, "MLModel", model_id)["Status"] == "COMPLETED"
    s3.delete_object(Bucket=bucket, Key=f"{prefix}/part-1.csv")
    batch_id = unique_id("bp")
    output = f"{unique_id('out')}/"
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=source,
        OutputUri=f"s3://{bucket}/{output}",
    )
    failed = wait_for(ml, "BatchPrediction", batch_id)
    assert failed["Status"] == "FAILED"
    assert "part-1.csv" in failed["Message"]
    with urllib.request.urlopen(failed["LogUri"]) as log:
        assert "progress: records=100 " in log.read().decode()  # the first file was scored before the failure
    assert s3.list_objects_v2(Bucket=bucket, Prefix=output)["KeyCount"] == 0
