"""Benchmark: a 1,000,000-row CSV datasource with statistics, created over HTTP with boto3.

Runs `aml-local serve` as a subprocess against a moto S3 server, measures the wall time from
CreateDataSourceFromS3 to COMPLETED and the service process's peak resident memory, and compares them
with the targets and with plain `pandas.read_csv` of the same file measured in the same run.

    .venv/bin/python -m tests.benchmarks.bench_datasource [rows]

It exits 1 when a target is missed (not in smoke mode, AML_BENCH_SMOKE=1, which reads 2,000 rows).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from moto.server import ThreadedMotoServer

from tests.benchmarks.harness import client, settings, size, verdict
from tests.helpers import free_port

ROWS = 1_000_000
TARGET_SECONDS = 30.0
TARGET_BYTES = 1024**3
KEYS = {"AWS_ACCESS_KEY_ID": "AKIABENCHMARK0000000", "AWS_SECRET_ACCESS_KEY": "benchmark-secret"}
SCHEMA = {
    "version": "1.0",
    "targetAttributeName": "buys",
    "rowId": "id",
    "dataFormat": "CSV",
    "dataFileContainsHeader": True,
    "attributes": [
        {"attributeName": name, "attributeType": kind}
        for name, kind in [
            ("id", "CATEGORICAL"),
            ("age", "NUMERIC"),
            ("income", "NUMERIC"),
            ("balance", "NUMERIC"),
            ("city", "CATEGORICAL"),
            ("plan", "CATEGORICAL"),
            ("comment", "TEXT"),
            ("buys", "BINARY"),
        ]
    ],
    "excludedAttributeNames": [],
}


def generate(path: Path, rows: int) -> None:
    """Mixed-type customer rows with a target that depends on some of them; a few values missing."""
    rng = np.random.default_rng(7)
    age = rng.integers(18, 90, size=rows)
    income = np.round(rng.lognormal(10, 0.6, size=rows), 2)
    vocabulary = np.array([f"word{i}" for i in range(300)] + ["great", "slow", "cheap", "support"])
    words = rng.choice(vocabulary, size=(rows, 3))
    buys = (age < 40) ^ (rng.random(rows) < 0.2)
    frame = pd.DataFrame(
        {
            "id": np.char.add("c", np.arange(rows).astype(str)),
            "age": age,
            "income": income,
            "balance": np.where(rng.random(rows) < 0.02, np.nan, np.round(rng.normal(1000, 400, rows), 1)),
            "city": rng.choice([f"city{i}" for i in range(60)], size=rows),
            "plan": rng.choice(["basic", "plus", "pro, yearly"], size=rows),
            "comment": pd.Series(words[:, 0]) + " " + words[:, 1] + " " + words[:, 2],
            "buys": np.where(buys, "yes", "no"),
        }
    )
    frame.to_csv(path, index=False)


def memory(pid: int) -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def start_service(data_dir: Path, s3_endpoint: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "aml_provider.local.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--s3-endpoint", s3_endpoint]
    command += [
        "--access-key-id",
        KEYS["AWS_ACCESS_KEY_ID"],
        "--secret-access-key",
        KEYS["AWS_SECRET_ACCESS_KEY"],
    ]
    process = subprocess.Popen(command, env={**os.environ, **KEYS}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the service did not start")


def run_datasource(endpoint: str, location: str) -> tuple[float, dict[str, Any]]:
    ml = client("machinelearning", endpoint, KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
    start = time.perf_counter()
    ml.create_data_source_from_s3(
        DataSourceId="ds-bench",
        DataSpec={"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)},
        ComputeStatistics=True,
    )
    while (entity := ml.get_data_source(DataSourceId="ds-bench"))["Status"] not in ("COMPLETED", "FAILED"):
        time.sleep(0.1)
    return time.perf_counter() - start, entity


def reference(path: Path) -> tuple[float, int]:
    """Seconds and peak memory of `pandas.read_csv` of the same file, in a fresh process."""
    script = (
        "import resource, sys, time, pandas\n"
        "start = time.perf_counter()\n"
        "pandas.read_csv(sys.argv[1])\n"
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    seconds, peak = output.stdout.split()
    return float(seconds), int(peak)


def report(rows: int, size: int, seconds: float, peak: int, idle: int, ref: tuple[float, int]) -> bool:
    mib = 1024**2
    print(f"\nDatasource with statistics: {rows:,} rows, {size / mib:.1f} MiB CSV\n")
    print(f"{'measure':<34}{'measured':>12}{'target':>12}{'ratio':>8}{'read_csv':>12}{'vs read_csv':>13}")
    print(
        f"{'wall time, create -> COMPLETED (s)':<34}{seconds:>12.2f}{TARGET_SECONDS:>12.0f}"
        f"{seconds / TARGET_SECONDS:>8.2f}{ref[0]:>12.2f}{seconds / ref[0]:>12.1f}x"
    )
    print(
        f"{'service peak RSS (MiB)':<34}{peak / mib:>12.0f}{TARGET_BYTES / mib:>12.0f}"
        f"{peak / TARGET_BYTES:>8.2f}{ref[1] / mib:>12.0f}{peak / ref[1]:>12.1f}x"
    )
    print(f"{'service RSS before the job (MiB)':<34}{idle / mib:>12.0f}")
    return seconds <= TARGET_SECONDS and peak <= TARGET_BYTES


def main(rows: int = ROWS) -> int:
    settings()
    with tempfile.TemporaryDirectory(prefix="aml-bench-") as tmp:
        csv_path = Path(tmp) / "customers.csv"
        generate(csv_path, rows)
        s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        s3_server.start()
        try:
            host, port = s3_server.get_host_and_port()
            s3_endpoint = f"http://{host}:{port}"
            s3 = client("s3", s3_endpoint, KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
            s3.create_bucket(Bucket="aml-bench")
            s3.upload_file(str(csv_path), "aml-bench", "customers.csv")
            service, endpoint = start_service(Path(tmp) / "service", s3_endpoint)
            try:
                idle = memory(service.pid)["VmRSS"]
                seconds, entity = run_datasource(endpoint, "s3://aml-bench/customers.csv")
                peak = memory(service.pid)["VmHWM"]
            finally:
                service.terminate()
                service.wait(timeout=30)
        finally:
            s3_server.stop()
        if entity["Status"] != "COMPLETED":
            raise SystemExit(f"datasource FAILED: {entity.get('Message')}")
        statistics_path = Path(tmp) / "service" / "artifacts" / "DataSource" / "ds-bench" / "statistics.json"
        records = json.loads(statistics_path.read_text())["records"]
        assert records == rows, f"read {records} records of {rows}"
        met = report(rows, csv_path.stat().st_size, seconds, peak, idle, reference(csv_path))
    return verdict(met)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else size(ROWS, 2_000)))
