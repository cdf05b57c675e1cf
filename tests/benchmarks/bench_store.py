"""Get and Describe latency over HTTP with 100,000 stored entities (target: p99 under 10 ms).

Run on demand: `.venv/bin/python -m tests.benchmarks.bench_store [--entities N] [--calls N]`.
Most entities are stored directly (starting a job for each would take hours), then `aml-local serve`
serves them in its own process; the last datasources and a model are created through the API of that
process, and the stored documents must have exactly the members of those (else the run fails). Each call
is signed with botocore's SigV4 signer and timed from sending the request to reading the whole answer
(client-side response parsing excluded). It exits 1 when a p99 misses the target (not in smoke mode,
AML_BENCH_SMOKE=1: 1,000 entities, 50 calls).
Pages deep in a listing are measured too (NextToken holds where a page ended, so they cost what the
first page does), and one full walk with NextToken must see every stored datasource exactly once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aml_provider.local.store import EntityStore
from tests.benchmarks.harness import SMOKE, serve, settings, size, verdict

TARGET_P99_MS = 10.0
CALLER = "arn:aws:iam::000000000000:user/local"
KEY, SECRET, REGION = "AKIABENCHSTORE000000", "bench-store-secret", "us-east-1"
#: Datasources (the last IDs) created through the API; one model is trained on the last of them.
API_DATA_SOURCES = size(100, 10)
MODELS = 1000
DATA_SCHEMA = json.dumps(
    {
        "version": "1.0",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "targetAttributeName": "y",
        "attributes": [
            {"attributeName": "x", "attributeType": "NUMERIC"},
            {"attributeName": "y", "attributeType": "BINARY"},
        ],
    }
)


def fill(data_dir: Path, data_sources: int, models: int) -> None:
    """Store COMPLETED datasources and models shaped as the service stores them."""
    store = EntityStore(data_dir / "state.db")
    started = time.time() - data_sources - models
    for i in range(data_sources):
        moment = round(started + i, 3)
        document: dict[str, Any] = {
            "DataSourceId": f"ds-{i:06d}",
            "CreatedByIamUser": CALLER,
            "CreatedAt": moment,
            "LastUpdatedAt": moment,
            "Status": random.choice(["COMPLETED", "COMPLETED", "FAILED", "DELETED"]),
            "Name": f"bench datasource {i:06d}",
            "DataLocationS3": f"s3://bench/data/{i % 100:03d}/part-{i:06d}.csv",
            "ComputeStatistics": True,
            "DataSizeInBytes": 1000 + i,
            "NumberOfFiles": 1,
            "StartedAt": moment,
            "FinishedAt": moment,
            "ComputeTime": 10,
        }
        store.insert(
            "DataSource", document["DataSourceId"], document, {"DataSourceId": document["DataSourceId"]}
        )
    for i in range(models):
        moment = round(started + data_sources + i, 3)
        document = {
            "MLModelId": f"ml-{i:06d}",
            "CreatedByIamUser": CALLER,
            "CreatedAt": moment,
            "LastUpdatedAt": moment,
            "Status": "COMPLETED",
            "Name": f"bench model {i:06d}",
            "TrainingDataSourceId": f"ds-{i:06d}",
            "MLModelType": "BINARY",
            "ScoreThreshold": 0.5,
            "EndpointInfo": {"EndpointStatus": "NONE", "PeakRequestsPerSecond": 0},
            "TrainingParameters": {"algorithm": "sgd", "sgd.maxPasses": "10"},
            "InputDataLocationS3": f"s3://bench/data/{i % 100:03d}/part-{i:06d}.csv",
            "SizeInBytes": 4096,
            "StartedAt": moment,
            "FinishedAt": moment,
            "ComputeTime": 100,
        }
        store.insert("MLModel", document["MLModelId"], document, {"MLModelId": document["MLModelId"]})
    store.close()


class SignedClient:
    """Sends signed Amazon ML requests over one keep-alive HTTP connection; only the exchange is timed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.region = REGION
        self.credentials = Credentials(KEY, SECRET)
        self.connection = http.client.HTTPConnection(self.url.removeprefix("http://"))

    def timed_call(self, operation: str, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """(milliseconds from sending the request to reading the whole answer, the answer)."""
        body = json.dumps(request)
        headers = {
            "X-Amz-Target": f"AmazonML_20141212.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        }
        signed = AWSRequest(method="POST", url=f"{self.url}/", data=body, headers=headers)
        SigV4Auth(self.credentials, "machinelearning", self.region).add_auth(signed)
        begin = time.perf_counter()
        self.connection.request("POST", "/", body, dict(signed.headers.items()))
        response = self.connection.getresponse()
        answer = response.read()
        elapsed = (time.perf_counter() - begin) * 1000
        if response.status != 200:
            raise RuntimeError(f"{operation} answered {response.status}: {answer[:300]!r}")
        return elapsed, json.loads(answer)


Scenario = Callable[[], tuple[str, dict[str, Any]]]


def measure(client: SignedClient, scenario: Scenario, calls: int, pid: int) -> tuple[float, float, float]:
    """p50 and p99 of `calls` timed calls after a short warm-up, and the service's CPU per call, in ms.

    The CPU figure (of the service process `pid`) shows the cost even on a busy machine, where
    wall-clock quantiles mostly measure waiting for a core.
    """
    for _ in range(20):
        client.timed_call(*scenario())
    cpu_started = cpu_seconds(pid)
    timings = [client.timed_call(*scenario())[0] for _ in range(calls)]
    cpu_ms = (cpu_seconds(pid) - cpu_started) * 1000 / calls
    return statistics.median(timings), statistics.quantiles(timings, n=100)[98], cpu_ms


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_through_the_api(client: SignedClient, s3_url: str, data_sources: int) -> None:
    """The last API_DATA_SOURCES datasources and the last model, created with the API and run to the end."""
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=s3_url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    s3.create_bucket(Bucket="bench")
    body = ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40))).encode()
    first = data_sources - API_DATA_SOURCES
    for i in range(first, data_sources):
        key = f"data/{i % 100:03d}/part-{i:06d}.csv"
        s3.put_object(Bucket="bench", Key=key, Body=body)
        spec = {"DataLocationS3": f"s3://bench/{key}", "DataSchema": DATA_SCHEMA}
        request = {"DataSourceId": f"ds-{i:06d}", "DataSourceName": f"bench datasource {i:06d}"}
        client.timed_call("CreateDataSourceFromS3", request | {"DataSpec": spec, "ComputeStatistics": True})
    last = f"ds-{data_sources - 1:06d}"
    model = {"MLModelId": f"ml-{MODELS - 1:06d}", "MLModelName": f"bench model {MODELS - 1:06d}"}
    client.timed_call("CreateMLModel", model | {"MLModelType": "BINARY", "TrainingDataSourceId": last})
    for operation, request in [
        *(("GetDataSource", {"DataSourceId": f"ds-{i:06d}"}) for i in range(first, data_sources)),
        ("GetMLModel", {"MLModelId": model["MLModelId"]}),
    ]:
        while (answer := client.timed_call(operation, request)[1])["Status"] not in ("COMPLETED", "FAILED"):
            time.sleep(0.05)
        if answer["Status"] != "COMPLETED":
            raise SystemExit(f"{operation} {request}: FAILED, {answer.get('Message')}")


def check_stored_like_created(client: SignedClient, data_sources: int) -> None:
    """Fail unless a stored COMPLETED datasource and model answer the members API-created ones do."""
    pairs = [
        ("GetDataSource", "DataSourceId", "ds-000000", f"ds-{data_sources - 1:06d}"),
        ("GetMLModel", "MLModelId", "ml-000000", f"ml-{MODELS - 1:06d}"),
    ]
    for operation, key, stored, created in pairs:
        stored_members = set(client.timed_call(operation, {key: stored})[1])
        created_members = set(client.timed_call(operation, {key: created})[1])
        if stored_members != created_members:
            raise SystemExit(
                f"{operation}: stored entities differ from created ones: only stored "
                f"{sorted(stored_members - created_members)}, only created {sorted(created_members - stored_members)}"
            )


def scenarios(client: SignedClient, data_sources: int) -> dict[str, Scenario]:
    def data_source_id() -> str:
        return f"ds-{random.randrange(data_sources):06d}"

    middle = f"bench datasource {data_sources // 2:06d}"
    page_50 = _token_of_page(client, 50)
    last_pages = _tokens_near_the_end(client, data_sources)
    return {
        "GetDataSource": lambda: ("GetDataSource", {"DataSourceId": data_source_id()}),
        "GetDataSource Verbose": lambda: (
            "GetDataSource",
            {"DataSourceId": data_source_id(), "Verbose": True},
        ),
        "GetMLModel": lambda: ("GetMLModel", {"MLModelId": f"ml-{random.randrange(1000):06d}"}),
        "DescribeDataSources (100)": lambda: ("DescribeDataSources", {}),
        "DescribeDataSources dsc (100)": lambda: ("DescribeDataSources", {"SortOrder": "dsc"}),
        "Describe Status=FAILED (100)": lambda: (
            "DescribeDataSources",
            {"FilterVariable": "Status", "EQ": "FAILED"},
        ),
        "Describe Name Prefix+GE (100)": lambda: (
            "DescribeDataSources",
            {"FilterVariable": "Name", "Prefix": "bench datasource", "GE": middle},
        ),
        "Describe DataLocationS3 Prefix": lambda: (
            "DescribeDataSources",
            {"FilterVariable": "DataLocationS3", "Prefix": "s3://bench/data/042/"},
        ),
        "Describe CreatedAt page 51 (Limit 10)": lambda: (
            "DescribeDataSources",
            {"FilterVariable": "CreatedAt", "GT": "0", "Limit": 10, "NextToken": page_50},
        ),
        "Describe pages near the end (100)": lambda: (
            "DescribeDataSources",
            {"NextToken": random.choice(last_pages)},
        ),
        "DescribeMLModels Type=BINARY (100)": lambda: (
            "DescribeMLModels",
            {"FilterVariable": "MLModelType", "EQ": "BINARY"},
        ),
    }


def _token_of_page(client: SignedClient, page: int) -> str:
    """The NextToken that starts page `page` + 1 of 10-item CreatedAt pages."""
    request: dict[str, Any] = {"FilterVariable": "CreatedAt", "GT": "0", "Limit": 10}
    for _ in range(page):
        request["NextToken"] = client.timed_call("DescribeDataSources", request)[1]["NextToken"]
    return str(request["NextToken"])


def _tokens_near_the_end(client: SignedClient, data_sources: int) -> list[str]:
    """Walk every 100-item CreatedAt page once (each datasource must appear exactly once); the NextTokens
    of the last ten pages."""
    request: dict[str, Any] = {}
    seen: list[str] = []
    tokens: list[str] = []
    while True:
        answer = client.timed_call("DescribeDataSources", request)[1]
        seen += [result["DataSourceId"] for result in answer["Results"]]
        if "NextToken" not in answer:
            break
        request["NextToken"] = answer["NextToken"]
        tokens.append(answer["NextToken"])
    if sorted(seen) != [f"ds-{i:06d}" for i in range(data_sources)]:
        raise SystemExit(f"paging saw {len(seen)} results, {len(set(seen))} distinct, of {data_sources}")
    return tokens[-10:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=100_000, help="datasources to store")
    parser.add_argument("--calls", type=int, default=size(500, 50), help="timed calls per scenario")
    args = parser.parse_args()
    if SMOKE:
        args.entities = min(args.entities, 1_000)
    defaults = {name: parser.get_default(name) for name in ("entities", "calls")}
    settings(**{name: value for name, value in vars(args).items() if value != defaults[name]})
    met = True
    with tempfile.TemporaryDirectory(prefix="aml-bench-") as directory:
        data_dir = Path(directory)
        began = time.perf_counter()
        fill(data_dir, args.entities - API_DATA_SOURCES, MODELS - 1)
        print(
            f"stored {args.entities - API_DATA_SOURCES} datasources and {MODELS - 1} models in {time.perf_counter() - began:.1f} s"
        )
        service, url, s3_url = serve(data_dir, KEY, SECRET)
        try:
            client = SignedClient(url)
            began = time.perf_counter()
            create_through_the_api(client, s3_url, args.entities)
            print(
                f"created {API_DATA_SOURCES} datasources and 1 model through the API in {time.perf_counter() - began:.1f} s"
            )
            check_stored_like_created(client, args.entities)
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'call':40} {'p50 ms':>8} {'p99 ms':>8} {'target':>8} {'p99/target':>10} {'CPU ms':>8}")
            for name, scenario in scenarios(client, args.entities).items():
                p50, p99, cpu = measure(client, scenario, args.calls, service.pid)
                met &= p99 <= TARGET_P99_MS
                ratio = p99 / TARGET_P99_MS
                print(
                    f"{name:40} {p50:8.2f} {p99:8.2f} {TARGET_P99_MS:8.1f} {ratio:10.2f} {cpu:8.2f}  "
                    f"{'ok' if p99 <= TARGET_P99_MS else 'SLOW'}"
                )
        finally:
            service.terminate()
            service.wait(timeout=60)
    return verdict(met)


if __name__ == "__main__":
    sys.exit(main())
