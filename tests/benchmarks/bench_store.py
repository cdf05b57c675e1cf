"""Get and Describe latency over HTTP with 10,000 stored entities (target: p99 under 10 ms).

Run on demand: `.venv/bin/python -m tests.benchmarks.bench_store [--entities N] [--calls N]`.
The store is filled directly, then a LocalAml serves it; each call is signed with botocore's SigV4 signer
and timed from sending the request to reading the whole answer (client-side response parsing excluded).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aml_provider.local import LocalAml
from aml_provider.local.store import EntityStore

TARGET_P99_MS = 10.0
CALLER = "arn:aws:iam::123456789012:user/bench"


def fill(data_dir: Path, data_sources: int, models: int) -> None:
    """Store COMPLETED datasources and models shaped as the service stores them."""
    store = EntityStore(data_dir / "state.db")
    started = time.time() - data_sources - models
    for i in range(data_sources):
        moment = round(started + i, 3)
        document = {
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
        }
        store.insert("MLModel", document["MLModelId"], document, {"MLModelId": document["MLModelId"]})
    store.close()


class SignedClient:
    """Sends signed Amazon ML requests over one keep-alive HTTP connection; only the exchange is timed."""

    def __init__(self, service: LocalAml) -> None:
        self.url = service.endpoint_url
        self.region = service.region_name
        self.credentials = Credentials(service.access_key_id, service.secret_access_key)
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


def measure(client: SignedClient, scenario: Scenario, calls: int) -> tuple[float, float, float]:
    """p50 and p99 of `calls` timed calls after a short warm-up, and the CPU spent per call, in ms.

    The CPU figure (service and client share this process) shows the cost even on a busy machine,
    where wall-clock quantiles mostly measure waiting for a core.
    """
    for _ in range(20):
        client.timed_call(*scenario())
    cpu_started = time.process_time()
    timings = [client.timed_call(*scenario())[0] for _ in range(calls)]
    cpu_ms = (time.process_time() - cpu_started) * 1000 / calls
    return statistics.median(timings), statistics.quantiles(timings, n=100)[98], cpu_ms


def scenarios(client: SignedClient, data_sources: int) -> dict[str, Scenario]:
    def data_source_id() -> str:
        return f"ds-{random.randrange(data_sources):06d}"

    middle = f"bench datasource {data_sources // 2:06d}"
    page_50 = _token_of_page(client, 50)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000, help="datasources to store")
    parser.add_argument("--calls", type=int, default=500, help="timed calls per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aml-bench-") as directory:
        data_dir = Path(directory)
        began = time.perf_counter()
        fill(data_dir, args.entities, 1000)
        print(f"stored {args.entities} datasources and 1000 models in {time.perf_counter() - began:.1f} s")
        with LocalAml(data_dir=data_dir) as service:
            client = SignedClient(service)
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'call':40} {'p50 ms':>8} {'p99 ms':>8} {'target':>8} {'p99/target':>10} {'CPU ms':>8}")
            for name, scenario in scenarios(client, args.entities).items():
                p50, p99, cpu = measure(client, scenario, args.calls)
                verdict = "ok" if p99 <= TARGET_P99_MS else "SLOW"
                ratio = p99 / TARGET_P99_MS
                print(
                    f"{name:40} {p50:8.2f} {p99:8.2f} {TARGET_P99_MS:8.1f} {ratio:10.2f} {cpu:8.2f}  {verdict}"
                )


if __name__ == "__main__":
    main()
