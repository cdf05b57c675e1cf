"""`aml-local serve` as a real process: SIGTERM during a (fault-)delayed job, planned exits, JSON logs.

Every service here keeps its data in S3 served by a moto server of the test, so the data outlives the
service and the next start shows what the previous one left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto.server import ThreadedMotoServer

from aml_provider.local import admin_call
from aml_provider.local.faults import EXIT_STATUS
from aml_provider.local.server import bind_socket
from tests.helpers import put_text, schema_text, unique_id, wait_for

REPOSITORY = Path(__file__).resolve().parents[2]
SCHEMA = schema_text(x="NUMERIC", y="BINARY")
CSV = "x,y\n" + "".join(f"{i / 50:.2f},{int(i > 25)}\n" for i in range(50))
NO_RETRIES = Config(retries={"total_max_attempts": 1})
OFF: dict[str, list[Any]] = {"failJobs": [], "delayJobs": [], "errors": [], "exits": []}


class Service:
    """One `python -m aml_provider.local.cli serve` process on a data directory, its output in files."""

    def __init__(self, data_dir: Path, s3_url: str, *flags: str, env: dict[str, str] | None = None) -> None:
        with bind_socket("127.0.0.1", 0) as sock:
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.stderr_path = data_dir / f"stderr-{self.port}.log"
        command = [sys.executable, "-m", "aml_provider.local.cli", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(data_dir), "--s3-endpoint", s3_url, *flags]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AML_LOCAL_")}
        clean |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # for moto's S3
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                command,
                cwd=REPOSITORY,
                env={**clean, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._wait_until_ready()
        pair = json.loads((data_dir / "credentials.json").read_text())
        self.key, self.secret = pair["access_key_id"], pair["secret_access_key"]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5):
                    return
            except OSError:  # not listening yet, or not ready (503)
                time.sleep(0.1)
        self.process.kill()
        raise AssertionError(f"aml-local serve did not start:\n{self.stderr}")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def client(self, config: Config | None = None) -> Any:
        return boto3.session.Session().client(
            "machinelearning",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            config=config,
        )

    def set_faults(self, plan: dict[str, Any]) -> dict[str, Any]:
        return admin_call(self.url, self.key, self.secret, "PutFaultPlan", plan)

    def faults(self) -> dict[str, Any]:
        return admin_call(self.url, self.key, self.secret, "GetFaultPlan")

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    def terminate(self) -> float:
        """SIGTERM; answers the seconds until the process ended (it must end with status 0)."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        assert self.wait() == 0, self.stderr
        return time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    s3.create_bucket(Bucket="process")
    put_text(s3, "process", "data.csv", CSV)
    yield url
    server.stop()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Services a test starts; any left running are killed at its end."""
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


def create_data_source(ml: Any) -> str:
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": "s3://process/data.csv", "DataSchema": SCHEMA},
        ComputeStatistics=True,
    )
    return data_source_id


def create_model(ml: Any, data_source_id: str) -> str:
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    return model_id


def wait_for_status(ml: Any, data_source_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while ml.get_data_source(DataSourceId=data_source_id)["Status"] != status:
        assert time.monotonic() < deadline, f"{data_source_id} never became {status}"
        time.sleep(0.05)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def log_text(entity: dict[str, Any]) -> str:
    with urllib.request.urlopen(entity["LogUri"]) as log:
        return str(log.read().decode())


def test_sigterm_lets_running_jobs_finish_within_the_shutdown_timeout(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    delay = {"delayJobs": [{"kind": "DataSource", "seconds": 3}]}
    first = Service(tmp_path, s3_url, "--shutdown-timeout", "60", env={"AML_LOCAL_FAULTS": json.dumps(delay)})
    services.append(first)
    assert first.faults()["delayJobs"] == [{"kind": "DataSource", "seconds": 3.0}]
    ml = first.client()
    data_source_id = create_data_source(ml)
    wait_for_status(ml, data_source_id, "INPROGRESS")
    sent = time.monotonic()
    first.process.send_signal(signal.SIGTERM)
    while first.process.poll() is None and not refuses_connections(first.port):
        time.sleep(0.05)
    assert first.process.poll() is None, "the service ended before its job did"  # it waits for the job,
    assert refuses_connections(first.port)  # no longer accepting
    assert first.wait() == 0, first.stderr
    assert time.monotonic() - sent < 30

    second = Service(tmp_path, s3_url)
    services.append(second)
    assert second.faults() == OFF  # the plan came from the environment of the first process only
    finished = second.client().get_data_source(DataSourceId=data_source_id)
    assert finished["Status"] == "COMPLETED", finished  # stored before the first process ended
    assert "stopped before this job finished" not in log_text(finished)
    second.terminate()


def test_sigterm_puts_jobs_running_past_the_timeout_back_to_pending(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    delay = json.dumps({"delayJobs": [{"kind": "DataSource", "seconds": 120}]})
    first = Service(tmp_path, s3_url, "--shutdown-timeout", "1", "--faults", delay)
    services.append(first)
    ml = first.client()
    data_source_id = create_data_source(ml)
    model_id = create_model(ml, data_source_id)
    wait_for_status(ml, data_source_id, "INPROGRESS")
    assert first.terminate() < 20  # bounded: not the 120 s of the job

    second = Service(tmp_path, s3_url)
    services.append(second)
    ml = second.client()
    resumed = wait_for(ml, "DataSource", data_source_id)
    assert resumed["Status"] == "COMPLETED", resumed
    log = log_text(resumed)
    assert "stopped before this job finished (it waited 1 s); the job runs again from the start" in log
    assert log.count("job started") == 1  # the delay held the first run before the job proper
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    second.terminate()


def test_planned_exits_end_the_process_where_the_plan_says(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    first = Service(tmp_path, s3_url)
    services.append(first)
    ml = first.client()
    data_source_id = create_data_source(ml)
    model_id = create_model(ml, data_source_id)
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    first.set_faults({"exits": ["batch:after-first-file"]})
    batch_id = unique_id("bp")
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=data_source_id,
        OutputUri="s3://process/exits/",
    )
    assert first.wait() == EXIT_STATUS
    assert "Injected fault: exiting at batch:after-first-file" in first.stderr
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )

    def outputs() -> list[str]:
        return [
            item["Key"] for item in s3.list_objects_v2(Bucket="process", Prefix="exits/").get("Contents", [])
        ]

    in_place = [key for key in outputs() if "/.staging/" not in key]
    assert [key.rsplit("/", 2)[-2] for key in in_place] == ["result"]  # a result file, no manifest

    second = Service(tmp_path, s3_url)
    services.append(second)
    ml = second.client()
    cut_off = ml.get_batch_prediction(BatchPredictionId=batch_id)
    assert cut_off["Status"] == "FAILED"
    assert "stopped while this job was in progress" in cut_off["Message"]
    assert outputs() == []  # the next start removed what the cut-off upload left
    assert "left by the interrupted upload" in log_text(cut_off)
    second.set_faults({"exits": ["job:MLModel:start"]})
    other_model = unique_id("ml")
    with contextlib.suppress(BotoCoreError):  # the job may start before the answer
        second.client(NO_RETRIES).create_ml_model(
            MLModelId=other_model, MLModelType="BINARY", TrainingDataSourceId=data_source_id
        )
    assert second.wait() == EXIT_STATUS

    third = Service(tmp_path, s3_url)
    services.append(third)
    ml = third.client(NO_RETRIES)
    assert "stopped while this job was in progress" in ml.get_ml_model(MLModelId=other_model)["Message"]
    third.set_faults({"exits": ["job:DataSource:before-finish"]})
    other_source = create_data_source(ml)
    assert third.wait() == EXIT_STATUS
    assert "Injected fault: exiting at job:DataSource:before-finish" in third.stderr

    fourth = Service(tmp_path, s3_url)
    services.append(fourth)
    ml = fourth.client(NO_RETRIES)
    lost = ml.get_data_source(DataSourceId=other_source)
    assert lost["Status"] == "FAILED"
    assert "stopped while this job was in progress" in lost["Message"]
    assert "job started" in log_text(lost)  # its work had run; its result was never stored
    fourth.set_faults({"exits": ["request:CreateEvaluation"]})
    evaluation_id = unique_id("ev")
    with pytest.raises(BotoCoreError):  # the connection closes unanswered
        ml.create_evaluation(
            EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
        )
    assert fourth.wait() == EXIT_STATUS

    fifth = Service(tmp_path, s3_url)
    services.append(fifth)
    assert fifth.faults() == OFF  # a plan set at run time ends with the process
    with pytest.raises(ClientError) as missing:
        fifth.client().get_evaluation(EvaluationId=evaluation_id)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    fifth.terminate()


def test_json_logs_carry_the_request_id_the_client_sees(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    service = Service(tmp_path, s3_url, "--log-format", "json")
    services.append(service)
    ml = service.client(NO_RETRIES)
    answered = ml.describe_ml_models(Limit=1)["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as refused:
        ml.get_ml_model(MLModelId="no-such-model")
    refused_id = refused.value.response["ResponseMetadata"]["RequestId"]
    service.set_faults({"delayJobs": [{"kind": "MLModel", "seconds": 1}]})
    service.terminate()

    lines = [json.loads(line) for line in service.stderr.splitlines()]  # every line is a JSON object
    requests = [line for line in lines if line["logger"] == "aml_provider.local.requests"]
    by_request = {line["request_id"]: line for line in requests}
    assert by_request[answered]["operation"] == "DescribeMLModels"
    assert by_request[answered]["status"] == 200
    assert by_request[refused_id]["error"] == "ResourceNotFoundException"
    assert by_request[refused_id]["status"] == 404
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(by_request[refused_id])
    plan_line = next(line for line in lines if line["message"].startswith("Fault plan in force"))
    assert by_request[plan_line["request_id"]]["operation"] == "PutFaultPlan"  # lines inside a request


def test_sigterm_while_calls_run_in_worker_threads_ends_promptly_and_logs_each_id(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    service = Service(tmp_path, s3_url, "--log-format", "json", "--shutdown-timeout", "2")
    services.append(service)
    described: list[str] = []  # request IDs of DescribeMLModels answers
    plans_put: list[dict[str, Any]] = []
    stopping = threading.Event()

    def call_until_refused() -> None:
        ml = service.client(NO_RETRIES)
        while not stopping.is_set():
            try:
                described.append(ml.describe_ml_models(Limit=1)["ResponseMetadata"]["RequestId"])
                plans_put.append(service.set_faults({}))
            except (BotoCoreError, ClientError, OSError):
                return

    callers = [threading.Thread(target=call_until_refused) for _ in range(4)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 30
    while len(plans_put) < 20:
        assert time.monotonic() < deadline, service.stderr
        time.sleep(0.05)
    assert service.terminate() < 15
    stopping.set()
    for caller in callers:
        caller.join(30)
        assert not caller.is_alive(), "a call hung after SIGTERM"

    lines = [json.loads(line) for line in service.stderr.splitlines()]
    requests = {line["request_id"]: line for line in lines if line["logger"] == "aml_provider.local.requests"}
    assert {requests[request_id]["operation"] for request_id in described} == {"DescribeMLModels"}
    in_threads = [
        line for line in lines if line["message"] == "No fault plan in force" and "request_id" in line
    ]
    # Logged in the worker thread that ran each PutFaultPlan, under its ID (never a concurrent call's).
    assert len(in_threads) >= len(plans_put)
    assert {requests[line["request_id"]]["operation"] for line in in_threads} == {"PutFaultPlan"}


def aml_local(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aml_provider.local.cli", *arguments],
        cwd=REPOSITORY,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_faults_command_changes_the_plan_of_a_running_service(
    tmp_path: Path, s3_url: str, services: list[Service]
) -> None:
    service = Service(tmp_path, s3_url)
    services.append(service)
    where = ["--url", service.url, "--data-dir", str(tmp_path)]
    plan = {"errors": [{"operation": "GetMLModel", "error": "ThrottlingException", "times": 2}]}
    put = aml_local("faults", *where, json.dumps(plan))
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["errors"] == plan["errors"]
    assert service.faults()["errors"] == plan["errors"]
    shown = aml_local("faults", *where)
    assert json.loads(shown.stdout) == service.faults()
    wrong_key = aml_local(
        "faults", "--url", service.url, "--access-key-id", service.key, "--secret-access-key", "x"
    )
    assert wrong_key.returncode == 1
    assert "InvalidSignatureException" in wrong_key.stderr
    assert aml_local("faults", *where, "off").returncode == 0
    assert service.faults() == OFF
    service.terminate()


def test_a_wrong_fault_plan_in_the_environment_stops_the_start(tmp_path: Path) -> None:
    plan = json.dumps({"failJobs": [{"kind": "Model"}]})
    result = aml_local("serve", "--data-dir", str(tmp_path), "--port", "0", env={"AML_LOCAL_FAULTS": plan})
    assert result.returncode != 0
    assert "failJobs[0].kind must be one of DataSource, MLModel, Evaluation, BatchPrediction" in result.stderr


# --- flags and their AML_LOCAL_* variables -----------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "env", "public"),
    [
        (("--public-url", "http://aml.example:9000"), {}, "http://aml.example:9000"),
        ((), {"AML_LOCAL_PUBLIC_URL": "http://aml.example:9001/"}, "http://aml.example:9001"),
    ],
    ids=["flag", "variable"],
)
def test_the_public_url_names_the_log_pages(
    tmp_path: Path,
    s3_url: str,
    services: list[Service],
    flags: tuple[str, ...],
    env: dict[str, str],
    public: str,
) -> None:
    services.append(service := Service(tmp_path, s3_url, *flags, env=env))
    ml = service.client()
    data_source_id = create_data_source(ml)
    assert (
        wait_for(ml, "DataSource", data_source_id)["LogUri"] == f"{public}/logs/DataSource/{data_source_id}"
    )


@pytest.mark.parametrize(
    ("flags", "env", "running"),
    [(("--max-jobs", "1"), {}, 1), ((), {"AML_LOCAL_MAX_JOBS": "3"}, 3)],
    ids=["flag", "variable"],
)
def test_max_jobs_bounds_the_jobs_that_run_at_once(
    tmp_path: Path,
    s3_url: str,
    services: list[Service],
    flags: tuple[str, ...],
    env: dict[str, str],
    running: int,
) -> None:
    delay = json.dumps({"delayJobs": [{"kind": "DataSource", "seconds": 3}]})  # each job runs 3 s
    services.append(service := Service(tmp_path, s3_url, *flags, env=env | {"AML_LOCAL_FAULTS": delay}))
    ml = service.client()
    data_source_ids = [create_data_source(ml) for _ in range(3)]
    time.sleep(1.0)
    statuses = sorted(ml.get_data_source(DataSourceId=i)["Status"] for i in data_source_ids)
    assert statuses == ["INPROGRESS"] * running + ["PENDING"] * (3 - running)


@pytest.mark.parametrize(
    ("flags", "env", "rate"),
    [(("--predict-rps", "7"), {}, 7), ((), {"AML_LOCAL_PREDICT_RPS": "9"}, 9)],
    ids=["flag", "variable"],
)
def test_predict_rps_sets_the_endpoints_request_rate(
    tmp_path: Path,
    s3_url: str,
    services: list[Service],
    flags: tuple[str, ...],
    env: dict[str, str],
    rate: int,
) -> None:
    services.append(service := Service(tmp_path, s3_url, *flags, env=env))
    ml = service.client()
    model_id = create_model(ml, create_data_source(ml))
    assert wait_for(ml, "MLModel", model_id)["Status"] == "COMPLETED"
    info = ml.create_realtime_endpoint(MLModelId=model_id)["RealtimeEndpointInfo"]
    assert info["PeakRequestsPerSecond"] == rate
