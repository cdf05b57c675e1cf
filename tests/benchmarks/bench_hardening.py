"""The service under abuse: memory of huge unauthenticated bodies, /health while heavy records are predicted.

Targets: a 400 MB POST without valid credentials leaves the service's RSS within 50 MB of idle (sent with
Content-Length, chunked, and chunked with a forged signature of a known key), and /health answers with
a p99 under 10 ms while Predict is busy with 100 KB text records at full speed.

Run on demand: `.venv/bin/python -m tests.benchmarks.bench_hardening [--mb 400] [--seconds 20]`.
The service runs as `aml-local serve --local-s3` in its own process; load comes from other processes.
It exits 1 when a target is missed (not in smoke mode, AML_BENCH_SMOKE=1: 4 MB bodies, 4 s of load).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.benchmarks.harness import client, peak_rss, reset_peak_rss, serve, settings, size, verdict

KEY, SECRET = "AKIABENCHHARDENING00", "bench-hardening-secret"
TARGET = "AmazonML_20141212"
RSS_TARGET = 50 * 2**20
HEALTH_P99_TARGET_MS = 10.0
#: The Predict rate limit of the service, raised from its default of 200 so the load is not throttled.
PREDICT_RPS = 100_000


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- huge bodies ------------------------------------------------------------------------------------------


def forged_authorization() -> dict[str, str]:
    """Headers that pass every check but the signature: a known key, this service's scope, a fresh date."""
    request = AWSRequest(
        method="POST", url="http://bench/", data=b"{}", headers=api_headers("DescribeMLModels")
    )
    SigV4Auth(Credentials(KEY, SECRET), "machinelearning", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def api_headers(operation: str) -> dict[str, str]:
    return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET}.{operation}"}


def chunks(megabytes: int) -> Iterator[bytes]:
    block = b" " * 2**20
    for _ in range(megabytes):
        yield block


def post_huge(url: str, megabytes: int, headers: dict[str, str], chunked: bool) -> tuple[int | str, float]:
    """Send a `megabytes` MB body; answer the status (or how the connection ended) and the seconds taken."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    began = time.perf_counter()
    try:
        if not chunked:
            headers = headers | {"Content-Length": str(megabytes * 2**20)}
        connection.request("POST", "/", body=chunks(megabytes), headers=headers, encode_chunked=chunked)
        status: int | str = connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        try:
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
    finally:
        connection.close()
    return status, time.perf_counter() - began


def huge_bodies(url: str, pid: int, megabytes: int) -> bool:
    client("machinelearning", url, KEY, SECRET).describe_ml_models()  # warm: the service model is loaded
    time.sleep(0.5)
    idle = rss(pid)
    print(f"idle RSS {idle / 2**20:.1f} MB")
    ok = True
    scenarios = [
        ("no credentials, Content-Length", api_headers("DescribeMLModels"), False),
        ("no credentials, chunked", api_headers("DescribeMLModels"), True),
        ("forged signature of a known key, chunked", forged_authorization(), True),
    ]
    for name, headers, chunked in scenarios:
        reset_peak_rss(pid)
        status, seconds = post_huge(url, megabytes, headers, chunked)
        growth = peak_rss(pid) - idle
        ok = ok and growth <= RSS_TARGET
        print(
            f"{megabytes} MB POST, {name}: answer {status} after {seconds * 1000:.0f} ms, peak RSS "
            f"+{growth / 2**20:.1f} MB (target +{RSS_TARGET / 2**20:.0f} MB)"
        )
    return ok


# --- /health while heavy records are predicted ----------------------------------------------------------


def text_model(url: str, s3_url: str) -> str:
    """A BINARY model over a TEXT attribute, with its endpoint READY."""
    ml, s3 = client("machinelearning", url, KEY, SECRET), client("s3", s3_url, KEY, SECRET)
    rows = [" ".join(f"w{(i * j) % 5000}" for j in range(40)) + f",{i % 2}" for i in range(3000)]
    s3.create_bucket(Bucket="bench-hardening")
    s3.put_object(
        Bucket="bench-hardening", Key="text.csv", Body=("text,y\n" + "\n".join(rows) + "\n").encode()
    )
    attributes = [
        {"attributeName": "text", "attributeType": "TEXT"},
        {"attributeName": "y", "attributeType": "BINARY"},
    ]
    schema = {
        "version": "1.0",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "targetAttributeName": "y",
    }
    spec = {
        "DataLocationS3": "s3://bench-hardening/text.csv",
        "DataSchema": json.dumps(schema | {"attributes": attributes}),
    }
    ml.create_data_source_from_s3(DataSourceId="ds-text", ComputeStatistics=True, DataSpec=spec)
    ml.create_ml_model(MLModelId="ml-text", MLModelType="BINARY", TrainingDataSourceId="ds-text")
    while (model := ml.get_ml_model(MLModelId="ml-text"))["Status"] not in ("COMPLETED", "FAILED"):
        time.sleep(0.2)
    if model["Status"] != "COMPLETED":
        raise SystemExit(f"training failed: {model.get('Message')}")
    ml.create_realtime_endpoint(MLModelId="ml-text")
    while ml.get_ml_model(MLModelId="ml-text")["EndpointInfo"]["EndpointStatus"] != "READY":
        time.sleep(0.1)
    return "ml-text"


def heavy_record() -> dict[str, str]:
    """A text record of about 100 KB (the observation limit is 100 KB)."""
    words = " ".join(f"w{i % 5000}" for i in range(18_000))
    return {"text": words[: 100 * 1024 - 100]}


def signed_predict(url: str, model_id: str, record: dict[str, str]) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"MLModelId": model_id, "Record": record, "PredictEndpoint": url}).encode()
    request = AWSRequest(method="POST", url=url + "/", data=body, headers=api_headers("Predict"))
    SigV4Auth(Credentials(KEY, SECRET), "machinelearning", "us-east-1").add_auth(request)
    return dict(request.headers.items()), body


def predict_load(url: str, headers: dict[str, str], body: bytes, seconds: float, results: Any) -> None:
    """A load process: Predict back to back over one keep-alive connection for `seconds`."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    done, errors, latencies = 0, 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        done, errors = done + (response.status == 200), errors + (response.status != 200)
    results.put((done, errors, latencies))


def health_latencies(url: str, seconds: float, interval: float = 0.02) -> list[float]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        connection.request("GET", "/health")
        connection.getresponse().read()
        latencies.append(time.perf_counter() - began)
        time.sleep(interval)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def health_while_predicting(url: str, s3_url: str, seconds: float, clients: int) -> bool:
    model_id = text_model(url, s3_url)
    headers, body = signed_predict(url, model_id, heavy_record())
    idle = health_latencies(url, 2.0)
    results: Any = multiprocessing.get_context("spawn").Queue()
    loaders = [
        multiprocessing.get_context("spawn").Process(
            target=predict_load, args=(url, headers, body, seconds, results)
        )
        for _ in range(clients)
    ]
    for loader in loaders:
        loader.start()
    time.sleep(1.0)  # the load is under way
    busy = health_latencies(url, seconds - 2.0)
    outcomes = [results.get() for _ in loaders]
    for loader in loaders:
        loader.join()
    done = sum(o[0] for o in outcomes)
    errors = sum(o[1] for o in outcomes)
    predict = [latency for o in outcomes for latency in o[2]]
    p99 = percentile(busy, 0.99)
    print(f"/health idle: p50 {percentile(idle, 0.5):.2f} ms, p99 {percentile(idle, 0.99):.2f} ms")
    print(
        f"/health while {clients} clients predict {len(body) // 1024} KB text records: p50 "
        f"{percentile(busy, 0.5):.2f} ms, p99 {p99:.2f} ms, max {max(busy) * 1000:.2f} ms over {len(busy)} calls "
        f"(target p99 {HEALTH_P99_TARGET_MS:.0f} ms)"
    )
    print(
        f"Predict: {done} answered ({done / seconds:.1f}/s), {errors} errors, p50 {percentile(predict, 0.5):.1f} ms, "
        f"p99 {percentile(predict, 0.99):.1f} ms"
    )
    return p99 < HEALTH_P99_TARGET_MS and errors == 0 and done > 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=size(400, 4), help="size of the huge bodies")
    parser.add_argument("--seconds", type=float, default=size(20, 4), help="length of the Predict load")
    parser.add_argument("--clients", type=int, default=size(2, 1), help="Predict load processes")
    args = parser.parse_args()
    settings(predict_rps=f"{PREDICT_RPS} (default 200)")
    with tempfile.TemporaryDirectory(prefix="bench-hardening-") as workdir:
        process, url, s3_url = serve(Path(workdir), KEY, SECRET, "--predict-rps", str(PREDICT_RPS))
        try:
            memory_ok = huge_bodies(url, process.pid, args.mb)
            health_ok = health_while_predicting(url, s3_url, args.seconds, args.clients)
        finally:
            process.terminate()
            process.wait()
    return verdict(memory_ok and health_ok)


if __name__ == "__main__":
    sys.exit(main())
