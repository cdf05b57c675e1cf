"""The request path of real-time Predict and S3 URIs: heavy records in a worker process, record limits,
normalised URIs, jobs in worker processes."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aml_provider.local import LocalAml, ServiceConfig
from aml_provider.local.backend.endpoints import HEAVY_RECORD_BYTES, MAX_RECORD_BYTES
from aml_provider.local.jobs.worker import _lower_priority
from tests.helpers import put_text, schema_text, unique_id, wait_for


def text_csv(rows: int = 400, seed: int = 3) -> str:
    """Rows whose label follows the words of a TEXT attribute and a number."""
    rng = random.Random(seed)
    lines = ["words,x,y"]
    for _ in range(rows):
        good = rng.random() < 0.5
        words = " ".join(
            rng.choice(["fine", "great", "good"] if good else ["poor", "bad", "awful"]) for _ in range(5)
        )
        lines.append(f"{words},{rng.random():.3f},{int(good)}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def endpoint(ml: Any, s3: Any, bucket: str) -> str:
    """A BINARY model over a TEXT attribute with a READY real-time endpoint; answers its ID."""
    source_id, model_id = unique_id("ds-serving"), unique_id("ml-serving")
    location = put_text(s3, bucket, f"{source_id}/data.csv", text_csv())
    schema = schema_text(words="TEXT", x="NUMERIC", y="BINARY")
    ml.create_data_source_from_s3(
        DataSourceId=source_id,
        DataSpec={"DataLocationS3": location, "DataSchema": schema},
        ComputeStatistics=True,
    )
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=source_id)
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    ml.create_realtime_endpoint(MLModelId=model_id)
    while ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"] == "UPDATING":
        time.sleep(0.05)
    return model_id


def predict(aml: LocalAml, ml: Any, model_id: str, record: dict[str, str]) -> dict[str, Any]:
    return ml.predict(MLModelId=model_id, Record=record, PredictEndpoint=aml.endpoint_url)["Prediction"]  # type: ignore[no-any-return]


def test_heavy_records_are_predicted_in_a_worker_like_light_ones(
    aml: LocalAml, ml: Any, endpoint: str
) -> None:
    """A record over the heavy size goes to a worker process; padding it with an attribute the model does
    not read changes nothing but the path it takes."""
    for words in ("great good fine fine", "awful bad poor", "good bad", ""):
        light = {"words": words, "x": "0.5"}
        heavy = light | {"unused": "z" * (HEAVY_RECORD_BYTES + 10)}
        answers = [predict(aml, ml, endpoint, record) for record in (light, heavy, light, heavy)]
        assert answers[0] == answers[1] == answers[2] == answers[3], words
    long_text = {"words": " ".join(["great"] * 3000 + ["awful"] * 10), "x": "0.5"}
    assert len(long_text["words"]) > HEAVY_RECORD_BYTES
    assert predict(aml, ml, endpoint, long_text)["predictedLabel"] == "1"


def test_a_record_over_the_size_limit_is_refused_naming_the_limit(
    aml: LocalAml, ml: Any, endpoint: str
) -> None:
    record = {"words": "great " * (MAX_RECORD_BYTES // 6 + 10)}
    with pytest.raises(ClientError) as refused:
        predict(aml, ml, endpoint, record)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert "Record" in error["Message"]
    assert "100 KB" in error["Message"]


def test_input_s3_uris_are_normalised(ml: Any, s3: Any, bucket: str) -> None:
    """Empty and `.` key segments are dropped from the URIs a datasource reads (so a doubled slash from
    joining paths still finds the data); the stored location is the normalised one."""
    source_id = unique_id("ds-uri")
    put_text(s3, bucket, f"{source_id}/part/data.csv", text_csv(50))
    ml.create_data_source_from_s3(
        DataSourceId=source_id,
        DataSpec={
            "DataLocationS3": f"s3://{bucket}/{source_id}//./part/",
            "DataSchema": schema_text(words="TEXT", x="NUMERIC", y="BINARY"),
        },
    )
    done = wait_for(ml, "DataSource", source_id)
    assert done["Status"] == "COMPLETED", done.get("Message")
    assert done["DataLocationS3"] == f"s3://{bucket}/{source_id}/part/"


@pytest.mark.parametrize(
    "uri",
    ["s3://b/data/../other.csv", "s3://b/data/..", "s3://b/../data.csv"],
    ids=["inside", "end", "start"],
)
def test_dot_dot_segments_are_refused_naming_the_field(ml: Any, uri: str) -> None:
    with pytest.raises(ClientError) as refused:
        ml.create_data_source_from_s3(
            DataSourceId=unique_id("ds-dotdot"),
            DataSpec={"DataLocationS3": uri, "DataSchema": schema_text(x="NUMERIC", y="BINARY")},
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert "dataSpec.dataLocationS3" in error["Message"]
    assert "'..'" in error["Message"]


def _scheduling_of_a_worker(config: ServiceConfig, answer: Connection) -> None:
    _lower_priority(config)
    answer.send((os.sched_getscheduler(0), os.nice(0)))


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
@pytest.mark.parametrize("scheduling", ["nice", "idle"])
def test_job_workers_run_niced_and_under_the_configured_policy(tmp_path: Path, scheduling: str) -> None:
    config = ServiceConfig(data_dir=tmp_path, job_niceness=7, job_scheduling=scheduling)
    ours, theirs = multiprocessing.Pipe()
    worker = multiprocessing.get_context("fork").Process(
        target=_scheduling_of_a_worker, args=(config, theirs)
    )
    worker.start()
    policy, niceness = ours.recv()
    worker.join()
    assert policy == (os.SCHED_IDLE if scheduling == "idle" else os.SCHED_OTHER)
    assert niceness == os.nice(0) + 7
