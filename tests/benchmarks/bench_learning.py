"""Benchmark: training, batch prediction and Predict on 1,000,000-row data sets, against scikit-learn.

The service runs in its own process (LocalAml) against a moto S3 server; everything goes over HTTP with
boto3. For each model type it trains with the default recipe, evaluates on 200,000 held-out rows and
batch-predicts the 1,000,000 training rows; the reference is scikit-learn's pipeline on the same CSV,
timed whole (pandas read_csv, quantile bins and one-hot built independently of the service by
tests/quality.py, SGD of the same loss with the same number of passes), against the whole training job.
Predict latency is measured at 200 requests/s from this process with boto3, then 1,000 requests/s from a
separate load process that replays a signed request. Model quality on the wine, bank marketing, adult,
generated multiclass and spam (TEXT) tasks is compared with converged scikit-learn models
(learning_quality.py). It exits non-zero when a target is missed. The service's Predict rate limit is
raised to 2,000 requests/s (default 200) so the 1,000 requests/s load is not throttled; the run prints it.
Smoke mode (AML_BENCH_SMOKE=1) runs 3,000 rows, 1 s of each Predict load and the generated quality
tasks only, and enforces nothing.

    .venv/bin/python -m tests.benchmarks.bench_learning [rows]     # everything
    .venv/bin/python -m tests.benchmarks.bench_learning --quality  # the quality tasks only (about a minute)
"""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from tests.benchmarks.harness import SMOKE, client, peak_rss, reset_peak_rss, settings, size, verdict
from tests.benchmarks.learning_quality import quality_rows
from tests.helpers import free_port
from tests.quality import encoders, features as reference_features

ROWS = 1_000_000
HELD_OUT_ROWS = size(200_000, 1_000)
PREDICT_SECONDS = size(10, 1)
#: The service's Predict rate limit for this run (its default is 200 requests/s).
PREDICT_RPS = 2000
PASSES = 10
KEYS = {"AWS_ACCESS_KEY_ID": "AKIABENCHMARK0000001", "AWS_SECRET_ACCESS_KEY": "benchmark-secret"}
TARGET_TYPE = {"BINARY": "BINARY", "MULTICLASS": "CATEGORICAL", "REGRESSION": "NUMERIC"}
METRIC = {"BINARY": "BinaryAUC", "MULTICLASS": "MulticlassAvgFScore", "REGRESSION": "RegressionRMSE"}
LAUNCHER = """
import sys
from pathlib import Path
from aml_provider.local import LocalAml
data_dir, s3, port, rate, key, secret = sys.argv[1:]
with LocalAml(data_dir=Path(data_dir), s3_endpoint_url=s3, port=int(port), access_keys={key: secret},
              predict_requests_per_second=int(rate)):
    print("ready", flush=True)
    sys.stdin.read()
"""


# --- data -------------------------------------------------------------------------------------------------


def generate(model_type: str, rows: int, seed: int) -> pd.DataFrame:
    """Six numbers and two categories; the target depends on some of them, partly non-linearly."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 6))
    city = rng.integers(0, 40, rows)
    plan = rng.integers(0, 4, rows)
    signal = numbers[:, 0] - 0.7 * numbers[:, 1] + 0.5 * numbers[:, 2] ** 2 + 0.05 * (city % 7) - 0.3 * plan
    frame = pd.DataFrame(np.round(numbers, 4), columns=[f"n{i}" for i in range(6)])
    frame["city"] = np.char.add("city", city.astype(str))
    frame["plan"] = np.char.add("plan", plan.astype(str))
    if model_type == "BINARY":
        frame["target"] = (rng.random(rows) < 1 / (1 + np.exp(-signal))).astype(int)
    elif model_type == "MULTICLASS":
        scores = np.c_[signal, -signal, numbers[:, 3], numbers[:, 4] - numbers[:, 5], 0.5 * numbers[:, 1]]
        frame["target"] = np.char.add(
            "class", (scores + rng.gumbel(size=scores.shape)).argmax(axis=1).astype(str)
        )
    else:
        frame["target"] = np.round(10 * signal + 3 * rng.normal(size=rows) + 100, 3)
    frame.insert(0, "id", np.char.add("r", np.arange(rows).astype(str)))
    return frame


def schema(frame: pd.DataFrame, model_type: str) -> str:
    types = {
        "id": "CATEGORICAL",
        "city": "CATEGORICAL",
        "plan": "CATEGORICAL",
        "target": TARGET_TYPE[model_type],
    }
    attributes = [{"attributeName": n, "attributeType": types.get(n, "NUMERIC")} for n in frame.columns]
    return json.dumps(
        {
            "version": "1.0",
            "rowId": "id",
            "targetAttributeName": "target",
            "dataFormat": "CSV",
            "dataFileContainsHeader": True,
            "attributes": attributes,
        }
    )


# --- service ----------------------------------------------------------------------------------------------


def start_service(data_dir: Path, s3_endpoint: str, rate: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    args = [str(data_dir), s3_endpoint, str(port), str(rate), *KEYS.values()]
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        env={**os.environ, **KEYS},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("the service did not start")
    return process, f"http://127.0.0.1:{port}"


def wait(ml: Any, kind: str, entity_id: str) -> dict[str, Any]:
    get = {"DataSource": ml.get_data_source, "MLModel": ml.get_ml_model}.get(kind)
    get = get or {"Evaluation": ml.get_evaluation, "BatchPrediction": ml.get_batch_prediction}[kind]
    while (entity := get(**{f"{kind}Id": entity_id}))["Status"] not in ("COMPLETED", "FAILED"):
        time.sleep(0.2)
    if entity["Status"] != "COMPLETED":
        raise SystemExit(f"{kind} {entity_id} FAILED: {entity.get('Message')}")
    return entity  # type: ignore[no-any-return]


# --- one model type ---------------------------------------------------------------------------------------


def learner_seconds(log: str) -> float:
    """Seconds from the end of feature caching to the chosen learner, from the training log's timestamps."""
    stamps = {}
    for line in log.splitlines():
        for key in ("features:", "best learner:"):
            if f" {key}" in line:
                stamps[key] = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
    return (stamps["best learner:"] - stamps["features:"]).total_seconds()


def run_model_type(
    model_type: str, rows: int, ml: Any, s3: Any, data_dir: Path, service_pid: int, results: dict[str, Any]
) -> None:
    train, held_out = generate(model_type, rows, 1), generate(model_type, HELD_OUT_ROWS, 2)
    text = schema(train, model_type)
    ids = {}
    csv = {"train": train.to_csv(index=False).encode(), "held-out": held_out.to_csv(index=False).encode()}
    for name in ("train", "held-out"):
        key = f"{model_type.lower()}/{name}.csv"
        s3.put_object(Bucket="aml-bench", Key=key, Body=csv[name])
        ids[name] = f"ds-{model_type.lower()}-{name}"
        ml.create_data_source_from_s3(
            DataSourceId=ids[name],
            DataSpec={"DataLocationS3": f"s3://aml-bench/{key}", "DataSchema": text},
            ComputeStatistics=True,
        )
    for data_source_id in ids.values():
        wait(ml, "DataSource", data_source_id)
    model_id = f"ml-{model_type.lower()}"
    reset_peak_rss(service_pid)  # VmHWM from here on is the peak while training
    ml.create_ml_model(
        MLModelId=model_id,
        MLModelType=model_type,
        TrainingDataSourceId=ids["train"],
        Parameters={"sgd.maxPasses": str(PASSES), "sgd.shuffleType": "auto"},
    )
    model = wait(ml, "MLModel", model_id)
    peak_memory = peak_rss(service_pid)
    with urllib.request.urlopen(model["LogUri"]) as response:
        log = response.read().decode()
    ml.create_evaluation(
        EvaluationId=f"ev-{model_id}", MLModelId=model_id, EvaluationDataSourceId=ids["held-out"]
    )
    ours = float(
        wait(ml, "Evaluation", f"ev-{model_id}")["PerformanceMetrics"]["Properties"][METRIC[model_type]]
    )
    batch_id = f"bp-{model_id}"
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=ids["train"],
        OutputUri=f"s3://aml-bench/{model_type.lower()}/output/",
    )
    batch = wait(ml, "BatchPrediction", batch_id)
    batch_seconds = (batch["FinishedAt"] - batch["StartedAt"]).total_seconds()
    assert batch["TotalRecordCount"] == rows, batch["TotalRecordCount"]
    reference_seconds, fit_seconds, read_seconds, reference = scikit_learn(model_type, csv["train"], held_out)
    results[model_type] = {
        "learner_seconds": learner_seconds(log),
        "job_seconds": (model["FinishedAt"] - model["StartedAt"]).total_seconds(),
        "reference_seconds": reference_seconds,
        "reference_fit_seconds": fit_seconds,
        "read_csv_rows_per_minute": rows / read_seconds * 60,
        "metric": ours,
        "reference_metric": reference,
        "peak_memory": peak_memory,
        "batch_rows_per_minute": rows / max(batch_seconds, 1e-9) * 60,
        "passes": re.findall(r"total-passes=(\d+)", log)[0],
    }
    print(f"{model_type}: {json.dumps(results[model_type])}", flush=True)


def scikit_learn(model_type: str, csv: bytes, held_out: pd.DataFrame) -> tuple[float, float, float, float]:
    """scikit-learn's pipeline on the training CSV: seconds of the whole of it (pandas read_csv, quantile
    bins and one-hot encoders fitted and applied, SGD of the same loss fitted), of the SGD fit alone and of
    read_csv alone; and its metric on the held-out rows."""
    start = time.perf_counter()
    train = pd.read_csv(io.BytesIO(csv))
    read_seconds = time.perf_counter() - start
    types = {name: "CATEGORICAL" if name in ("city", "plan") else "NUMERIC" for name in train.columns}
    types = {name: kind for name, kind in types.items() if name not in ("id", "target")}
    fitted = encoders(train, types)
    x_train = reference_features(train, fitted, types)
    y_train, y_test = train["target"].to_numpy(), held_out["target"].to_numpy()
    estimator: Any
    if model_type == "REGRESSION":
        estimator = SGDRegressor(alpha=1e-6, max_iter=PASSES, tol=None, random_state=0)
    else:
        estimator = SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=PASSES, tol=None, random_state=0)
    fit_start = time.perf_counter()
    estimator.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - fit_start
    seconds = time.perf_counter() - start
    x_test = reference_features(held_out, fitted, types)
    if model_type == "BINARY":
        metric = float(roc_auc_score(y_test, estimator.predict_proba(x_test)[:, 1]))
    elif model_type == "MULTICLASS":
        metric = float(f1_score(y_test, estimator.predict(x_test), average="macro"))
    else:
        metric = float(mean_squared_error(y_test, estimator.predict(x_test)) ** 0.5)
    return seconds, fit_seconds, read_seconds, metric


# --- Predict ----------------------------------------------------------------------------------------------


def paced(call: Callable[[], None], rate: float, seconds: float) -> tuple[list[float], int]:
    """Call `call` at `rate` per second for `seconds`; latencies (s) of successes and the error count."""
    latencies, errors = [], 0
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        try:
            call()
            latencies.append(time.perf_counter() - began)
        except Exception:
            errors += 1
    return latencies, errors


def signed_predict(endpoint: str, model_id: str, record: dict[str, str]) -> bytes:
    """One Predict request as raw HTTP/1.1 bytes, SigV4-signed by botocore (valid for 15 minutes)."""
    body = json.dumps({"MLModelId": model_id, "Record": record, "PredictEndpoint": endpoint}).encode()
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"X-Amz-Target": "AmazonML_20141212.Predict", "Content-Type": "application/x-amz-json-1.1"},
    )
    credentials = Credentials(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(credentials, "machinelearning", "us-east-1").add_auth(request)
    head = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
    host = urlsplit(endpoint).netloc
    return f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def predict_driver(endpoint: str, payload: bytes, rate: float, seconds: float, out: Any) -> None:
    """A load process: replays a signed Predict over keep-alive connections at `rate` requests/s.

    It sends raw bytes rather than calling boto3, whose per-call CPU would make this process, not the
    service, the bottleneck on a small machine; the service still verifies every signature.
    """
    out.put(asyncio.run(_drive(urlsplit(endpoint), payload, rate, seconds, connections=16)))


async def _drive(
    url: Any, payload: bytes, rate: float, seconds: float, connections: int
) -> tuple[list[float], int]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    start = loop.time() + 0.5

    async def connection(index: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        for i in range(int(rate * seconds / connections)):
            delay = start + (i * connections + index) / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            began = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if head.startswith(b"HTTP/1.1 200"):
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
        writer.close()

    await asyncio.gather(*(connection(index) for index in range(connections)))
    return latencies, errors


def predict_latency(ml: Any, endpoint: str, model_id: str, record: dict[str, str]) -> dict[str, float]:
    """Predict latency with boto3 in this process, then at 200 and 1,000 requests/s from a load process."""
    ml.create_realtime_endpoint(MLModelId=model_id)
    while ml.get_ml_model(MLModelId=model_id)["EndpointInfo"]["EndpointStatus"] != "READY":
        time.sleep(0.1)
    for _ in range(200):  # warm up
        ml.predict(MLModelId=model_id, Record=record, PredictEndpoint=endpoint)
    boto3_latencies, boto3_errors = paced(
        lambda: ml.predict(MLModelId=model_id, Record=record, PredictEndpoint=endpoint), 200, PREDICT_SECONDS
    )
    payload = signed_predict(endpoint, model_id, record)
    found = {"boto3": (boto3_latencies, boto3_errors)}
    for rate in (200, 1000):
        found[str(rate)] = load_process(endpoint, payload, rate, seconds=PREDICT_SECONDS)
    measured: dict[str, float] = {}
    for name, (latencies, errors) in found.items():
        measured |= {
            f"p50_{name}": float(np.percentile(latencies, 50)),
            f"p99_{name}": float(np.percentile(latencies, 99)),
            f"rate_{name}": len(latencies) / PREDICT_SECONDS,
            f"errors_{name}": errors,
        }
    return measured


def load_process(endpoint: str, payload: bytes, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies and error count of `rate` Predict requests/s sent by a separate process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    driver = context.Process(target=predict_driver, args=(endpoint, payload, rate, seconds, queue))
    driver.start()
    latencies, errors = queue.get()
    driver.join()
    return latencies, errors


# --- report -----------------------------------------------------------------------------------------------


Row = tuple[str, str, str, bool]  # measure, measured (vs reference), target, met


def performance_rows(results: dict[str, Any], predict: dict[str, float]) -> list[Row]:
    rows: list[Row] = []
    for model_type, r in results.items():
        ratio = r["job_seconds"] / r["reference_seconds"]
        rows.append(
            (
                f"{model_type} whole training job (read, features, fit, save) vs scikit-learn's pipeline",
                f"{r['job_seconds']:.1f} s / {r['reference_seconds']:.1f} s = {ratio:.2f}x",
                "<= 1.0x",
                ratio <= 1.0,
            )
        )
        rows.append(
            (
                f"{model_type} learner ({r['passes']} passes) vs scikit-learn's SGD fit",
                f"{r['learner_seconds']:.1f} s / {r['reference_fit_seconds']:.1f} s = "
                f"{r['learner_seconds'] / r['reference_fit_seconds']:.2f}x",
                "info",
                True,
            )
        )
        worse = (
            r["reference_metric"] - r["metric"]
            if model_type != "REGRESSION"
            else r["metric"] - r["reference_metric"]
        )
        if model_type == "REGRESSION":
            worse /= r["reference_metric"]
        rows.append(
            (
                f"{model_type} {METRIC[model_type]} vs scikit-learn",
                f"{r['metric']:.4f} vs {r['reference_metric']:.4f} (worse by {worse:+.4f})",
                "<= 0.005 worse" + (" (relative)" if model_type == "REGRESSION" else ""),
                worse <= 0.005,
            )
        )
        rows.append(
            (
                f"{model_type} peak service memory while training",
                f"{r['peak_memory'] / 2**20:.0f} MiB",
                "< 1024 MiB",
                r["peak_memory"] < 2**30,
            )
        )
        rows.append(
            (
                f"{model_type} batch prediction (vs pandas read_csv of the same CSV)",
                f"{r['batch_rows_per_minute'] / 1e6:.2f} M rows/min "
                f"({r['read_csv_rows_per_minute'] / 1e6:.1f} M rows/min)",
                ">= 15 M rows/min",
                r["batch_rows_per_minute"] >= 15e6,
            )
        )
    rows.append(
        (
            "Predict p99 at 200 requests/s from a separate load process",
            f"{predict['p99_200'] * 1000:.2f} ms (p50 {predict['p50_200'] * 1000:.2f}), "
            f"{predict['errors_200']:.0f} errors",
            "< 5 ms",
            predict["p99_200"] < 0.005 and predict["errors_200"] == 0,
        )
    )
    rows.append(
        (
            "Predict at 200 requests/s with boto3 in this process (client cost included)",
            f"p99 {predict['p99_boto3'] * 1000:.2f} ms (p50 {predict['p50_boto3'] * 1000:.2f}), "
            f"{predict['errors_boto3']:.0f} errors",
            "info",
            True,
        )
    )
    rows.append(
        (
            f"Predict 1,000 requests/s from a separate load process ({os.cpu_count()} CPUs shared)",
            f"{predict['rate_1000']:.0f}/s, p99 {predict['p99_1000'] * 1000:.2f} ms, {predict['errors_1000']:.0f} errors",
            ">= 1000/s sustained",
            predict["rate_1000"] >= 990 and predict["errors_1000"] == 0,
        )
    )
    return rows


def report(rows: list[Row]) -> bool:
    """Print the rows as a table; answer whether every target was met."""
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'measure':<{width}}{'measured (vs reference)':<58}{'target':<24}result")
    for name, measured, target, met in rows:
        print(f"{name:<{width}}{measured:<58}{target:<24}{'met' if met else 'MISSED'}")
    return all(met for *_, met in rows)


def main(rows: int = ROWS, quality_only: bool = False) -> int:
    settings(predict_rps=f"{PREDICT_RPS} (default 200)")
    with tempfile.TemporaryDirectory(prefix="aml-bench-learning-") as tmp:
        s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        s3_server.start()
        host, port = s3_server.get_host_and_port()
        s3_endpoint = f"http://{host}:{port}"
        s3 = client("s3", s3_endpoint, KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="aml-bench")
        data_dir = Path(tmp) / "service"
        service, endpoint = start_service(data_dir, s3_endpoint, rate=PREDICT_RPS)
        try:
            ml = client("machinelearning", endpoint, KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
            table = quality_rows(ml, s3, "aml-bench", generated_only=SMOKE)
            if not quality_only:
                results: dict[str, Any] = {}
                for model_type in ("BINARY", "MULTICLASS", "REGRESSION"):
                    run_model_type(model_type, rows, ml, s3, data_dir, service.pid, results)
                sample = generate("BINARY", 1, 3).drop(columns=["id", "target"]).iloc[0]
                record = {str(name): str(value) for name, value in sample.items()}
                table = performance_rows(results, predict_latency(ml, endpoint, "ml-binary", record)) + table
        finally:
            assert service.stdin is not None
            service.stdin.close()
            service.wait(timeout=60)
            s3_server.stop()
    return verdict(report(table))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    quality = "--quality" in arguments
    numbers = [int(argument) for argument in arguments if argument != "--quality"]
    sys.exit(main(numbers[0] if numbers else size(ROWS, 3_000), quality_only=quality))
