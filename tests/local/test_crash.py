"""The crash matrix: `aml-local serve` killed with SIGKILL at each phase of each job kind, then restarted.

After the restart the service must start, nothing may stay PENDING or INPROGRESS, no scratch folder may
remain, and a batch prediction's output prefix must hold either its whole result (manifest and every file
it lists) or nothing at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from aml_provider.local import LocalAml
from aml_provider.local.config import ServiceConfig
from aml_provider.local.jobs.context import PUBLICATION_PLAN, artifacts_dir, wait_for_worker
from aml_provider.local.jobs.recovery import recover
from aml_provider.local.server import bind_socket
from aml_provider.local.store import EntityStore, now
from tests.helpers import TERMINAL_STATUSES, put_text, schema_text, unique_id, wait_for

REPOSITORY = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKIACRASHTESTKEY0000", "crash-test-secret"
ROWS = 60_000
FILES = 12


@dataclass
class Service:
    """One `aml-local serve` process on a data directory and the S3 of the test session."""

    data_dir: Path
    s3_endpoint: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with bind_socket("127.0.0.1", 0) as sock:
            self.port = sock.getsockname()[1]
        command = [sys.executable, "-m", "aml_provider.local.cli", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--s3-endpoint", self.s3_endpoint, "--max-jobs", "1"]
        command += ["--access-key-id", KEY, "--secret-access-key", SECRET]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AML_LOCAL_")}
        env |= {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
        with (self.data_dir / "service.out").open("ab") as out:
            self.process = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while not _healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "the service did not start:\n" + (self.data_dir / "service.out").read_text()
                )
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def client(self) -> Any:
        return boto3.session.Session().client(
            "machinelearning",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
        )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def data(aml: LocalAml, s3: Any, bucket: str) -> dict[str, str]:
    """Input large enough for each job to take a while: one big file, and the same rows in many files."""
    lines = [f"{i % 97},{(i * 7) % 13},w{i % 31} w{i % 17},{i % 2}" for i in range(ROWS)]
    header = "a,b,words,y\n"
    prefix = unique_id("crash")
    single = put_text(s3, bucket, f"{prefix}/data.csv", header + "\n".join(lines) + "\n")
    size = ROWS // FILES
    for part in range(FILES):
        put_text(
            s3,
            bucket,
            f"{prefix}/parts/p{part}.csv",
            header + "\n".join(lines[part * size : (part + 1) * size]) + "\n",
        )
    schema = schema_text(a="NUMERIC", b="CATEGORICAL", words="TEXT", y="BINARY")
    return {"single": single, "parts": f"s3://{bucket}/{prefix}/parts/", "schema": schema, "bucket": bucket}


@pytest.fixture
def service(aml: LocalAml, tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path, aml.s3_endpoint_url or "")
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.kill()


def create_data_source(ml: Any, location: str, schema: str) -> str:
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": location, "DataSchema": schema},
        ComputeStatistics=True,
    )
    return data_source_id


def trained_model(ml: Any, data: dict[str, str]) -> tuple[str, str]:
    """A COMPLETED datasource (of the many files) and model."""
    data_source_id = create_data_source(ml, data["parts"], data["schema"])
    model_id = unique_id("ml")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    assert wait_for(ml, "MLModel", model_id, timeout=300)["Status"] == "COMPLETED"
    return data_source_id, model_id


def start_job(kind: str, ml: Any, data: dict[str, str]) -> tuple[str, str]:
    """Create one entity of `kind` (with whatever it needs first); answers its kind and ID."""
    if kind == "DataSource":
        return kind, create_data_source(ml, data["single"], data["schema"])
    if kind == "MLModel":
        data_source_id = create_data_source(ml, data["single"], data["schema"])
        model_id = unique_id("ml")
        ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
        return kind, model_id
    data_source_id, model_id = trained_model(ml, data)
    entity_id = unique_id(kind[:2].lower())
    if kind == "Evaluation":
        ml.create_evaluation(
            EvaluationId=entity_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
        )
    else:
        ml.create_batch_prediction(
            BatchPredictionId=entity_id,
            MLModelId=model_id,
            BatchPredictionDataSourceId=data_source_id,
            OutputUri=f"s3://{data['bucket']}/{entity_id}/",
        )
    return kind, entity_id


def log_says(text: str) -> Callable[[Path], bool]:
    return lambda artifacts: text in _read(artifacts / "log.txt")


def publishing(artifacts: Path) -> bool:
    return (artifacts / PUBLICATION_PLAN).exists()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


#: (kind, phase, reached): the service is killed as soon as `reached(artifacts of the entity)` holds.
PHASES: list[tuple[str, str, Callable[[Path], bool]]] = [
    ("DataSource", "created", lambda artifacts: True),
    ("DataSource", "reading", log_says("Reading")),
    ("MLModel", "created", lambda artifacts: True),
    ("MLModel", "reading", log_says("initial-training")),
    ("MLModel", "training", log_says("features:")),
    ("Evaluation", "created", lambda artifacts: True),
    ("Evaluation", "running", log_says("job started")),
    ("BatchPrediction", "created", lambda artifacts: True),
    ("BatchPrediction", "predicting", log_says("predicting with")),
    ("BatchPrediction", "publishing", publishing),
]


@pytest.mark.parametrize(("kind", "phase", "reached"), PHASES, ids=[f"{k}-{p}" for k, p, _ in PHASES])
def test_killed_at_each_phase_the_service_restarts_clean(
    service: Service, data: dict[str, str], s3: Any, kind: str, phase: str, reached: Callable[[Path], bool]
) -> None:
    ml = service.client()
    kind, entity_id = start_job(kind, ml, data)
    artifacts = artifacts_dir(ServiceConfig(data_dir=service.data_dir), kind, entity_id)
    deadline = time.monotonic() + 120
    while not reached(artifacts):
        assert time.monotonic() < deadline, f"the job never reached its {phase} phase"
        time.sleep(0.002)
    service.kill()
    service.start()
    ml = service.client()
    entity = wait_for(ml, kind, entity_id, timeout=300)
    assert entity["Status"] in TERMINAL_STATUSES
    for plural in ("DataSources", "MLModels", "Evaluations", "BatchPredictions"):
        assert _settles(ml, plural), f"{plural} stuck in PENDING or INPROGRESS"
    assert not list((service.data_dir / "artifacts").glob("*/*/scratch")), "scratch left after the restart"
    if kind == "BatchPrediction":
        assert_whole_or_nothing(s3, data["bucket"], entity_id, entity["Status"])


def _settles(ml: Any, plural: str) -> bool:
    """Whether every entity of `plural` reaches a terminal status soon (jobs queued behind others)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        statuses = {r["Status"] for r in getattr(ml, f"describe_{snake(plural)}")()["Results"]}
        if not statuses & {"PENDING", "INPROGRESS"}:
            return True
        time.sleep(0.2)
    return False


def snake(plural: str) -> str:
    return {
        "DataSources": "data_sources",
        "MLModels": "ml_models",
        "Evaluations": "evaluations",
        "BatchPredictions": "batch_predictions",
    }[plural]


def assert_whole_or_nothing(s3: Any, bucket: str, batch_id: str, status: str) -> None:
    """COMPLETED: the manifest and exactly the files it lists; otherwise nothing under the prefix."""
    keys = {
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"{batch_id}/").get("Contents", [])
    }
    if status != "COMPLETED":
        assert keys == set(), f"a {status} batch prediction left {sorted(keys)}"
        return
    manifest_key = f"{batch_id}/batch-prediction/{batch_id}.manifest"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    listed = {uri.split("/", 3)[3] for uri in manifest.values()}
    assert keys == {manifest_key} | listed


def test_start_up_fails_entities_with_unusable_ids_and_goes_on(tmp_path: Path) -> None:
    """Entities stored before IDs were checked: '.' and '..' would name the folder itself or its parent."""
    store = EntityStore(tmp_path / "state.db")
    created = now()
    common = {
        "CreatedAt": created,
        "LastUpdatedAt": created,
        "CreatedByIamUser": "arn:aws:iam::000000000000:user/x",
    }
    store.insert("DataSource", "..", {"DataSourceId": "..", "Status": "INPROGRESS", **common}, {})
    store.insert("DataSource", ".", {"DataSourceId": ".", "Status": "PENDING", **common}, {})
    store.insert("DataSource", "fine", {"DataSourceId": "fine", "Status": "COMPLETED", **common}, {})
    store.close()
    with LocalAml(data_dir=tmp_path) as service:
        results = {r["DataSourceId"]: r for r in service.client().describe_data_sources()["Results"]}
    assert results["fine"]["Status"] == "COMPLETED"
    for entity_id in (".", ".."):
        assert results[entity_id]["Status"] == "FAILED"
        assert f"DataSourceId '{entity_id}' cannot be used" in results[entity_id]["Message"]
    assert not (tmp_path / "artifacts" / "log.txt").exists(), "nothing was written outside an entity folder"


def test_start_up_removes_a_publication_that_a_stop_cut_off(
    aml: LocalAml, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """A stop that puts a publishing batch prediction back to PENDING leaves its publication plan: the next
    start removes what the plan lists before the job runs again from the start."""
    batch_id = unique_id("bp")
    output = f"s3://{bucket}/{batch_id}/batch-prediction"
    result, staging = f"{output}/result/{batch_id}-data.csv.gz", f"{output}/.staging/{batch_id}/"
    for uri in (result, f"{staging}.{batch_id}-data.csv.gz"):
        put_text(s3, bucket, uri.split("/", 3)[3], "scored\n")
    config = ServiceConfig(data_dir=tmp_path, s3_endpoint_url=aml.s3_endpoint_url)
    store = EntityStore(tmp_path / "state.db")
    document = {
        "BatchPredictionId": batch_id,
        "Status": "PENDING",
        "CreatedAt": now(),
        "LastUpdatedAt": now(),
        "CreatedByIamUser": "arn:aws:iam::000000000000:user/x",
    }
    store.insert("BatchPrediction", batch_id, document, {})
    artifacts = artifacts_dir(config, "BatchPrediction", batch_id)
    artifacts.mkdir(parents=True)
    plan = {"results": [result], "manifest": f"{output}/{batch_id}.manifest", "staging": staging}
    (artifacts / PUBLICATION_PLAN).write_text(json.dumps(plan))

    recover(config, store)

    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"{batch_id}/").get("KeyCount") == 0
    assert not (artifacts / PUBLICATION_PLAN).exists()
    assert f"removed {result}, left by the interrupted upload" in _read(artifacts / "log.txt")
    stored = store.get("BatchPrediction", batch_id)
    assert stored is not None
    assert stored.status == "PENDING"
    store.close()


def test_start_up_waits_for_a_job_worker_the_killed_service_left_running(tmp_path: Path) -> None:
    """A worker holds its job's lock while it lives; clean-up waits for it (not for ever) and goes on once
    the process is gone."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from aml_provider.local.jobs.context import hold_worker_lock; "
            "hold_worker_lock(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        assert not wait_for_worker(tmp_path, timeout=0.3)
    finally:
        holder.kill()
        holder.wait()
    assert wait_for_worker(tmp_path, timeout=5)
    assert wait_for_worker(tmp_path / "never-ran", timeout=0)
