"""Benchmark: 1, 3 and 10 million generated rows through datasource, training, evaluation and batch prediction.

For each size a fresh service process (`aml-local` in its own process, jobs in its threads) reads a
generated CSV from a moto S3 server over boto3: CreateDataSourceFromS3 with statistics, CreateMLModel
(BINARY, default recipe), CreateEvaluation and CreateBatchPrediction on that datasource. It prints each
stage's job time, the peak memory of the service (VmHWM of its process, reset before each stage, plus
the largest VmHWM of its job worker processes, sampled four times a second while they run), and the ratio
of each size's total time to the smallest size's, next to the ratio of rows (time linear in rows means
the two ratios match). pandas `read_csv` of the same file, timed in this process, is the reference.
While a job runs, its newest progress line from the log at LogUri is printed.

Targets: service plus job process VmHWM under 1 GiB at every size; time per row at the largest size at
most 1.3x the time per row at the smallest (roughly linear). It exits non-zero when one is missed.

    make bench-scale                                            # 1 M, 3 M, 10 M rows (about 20 minutes)
    .venv/bin/python -m tests.benchmarks.bench_scale --smoke    # 20 k, 60 k, 200 k rows; targets not enforced
    .venv/bin/python -m tests.benchmarks.bench_scale 1000000 3000000   # only these sizes (smallest first)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
from moto.server import ThreadedMotoServer

from tests.benchmarks.bench_learning import KEYS, generate, schema, start_service
from tests.benchmarks.harness import SMOKE, client, peak_rss, reset_peak_rss, settings, verdict

SIZES = (1_000_000, 3_000_000, 10_000_000)
SMOKE_SIZES = (20_000, 60_000, 200_000)
MEMORY_TARGET = 2**30
LINEARITY_TARGET = 1.3
BLOCK_ROWS = 500_000
STAGES = ("DataSource", "MLModel", "Evaluation", "BatchPrediction")
PROGRESS_WORDS = ("read:", "Read ", "pass=", "progress:", "learner", "features:", "evaluated-records")


def write_csv(path: Path, rows: int) -> None:
    """`rows` generated BINARY rows (bench_learning's generator), written block by block."""
    with path.open("w") as out:
        for start in range(0, rows, BLOCK_ROWS):
            block = generate("BINARY", min(BLOCK_ROWS, rows - start), seed=start // BLOCK_ROWS + 1)
            block["id"] = [f"r{i}" for i in range(start, start + len(block))]
            block.to_csv(out, index=False, header=start == 0)


def wait_showing_progress(ml: Any, kind: str, entity_id: str) -> dict[str, Any]:
    """Wait for the entity to finish, printing the newest progress line of its log every few seconds."""
    get = {
        "DataSource": ml.get_data_source,
        "MLModel": ml.get_ml_model,
        "Evaluation": ml.get_evaluation,
        "BatchPrediction": ml.get_batch_prediction,
    }[kind]
    shown = ""
    while (entity := get(**{f"{kind}Id": entity_id}))["Status"] not in ("COMPLETED", "FAILED"):
        time.sleep(3)
        if entity["Status"] == "INPROGRESS":
            with urllib.request.urlopen(entity["LogUri"]) as response:
                lines = [
                    line
                    for line in response.read().decode().splitlines()
                    if any(w in line for w in PROGRESS_WORDS)
                ]
            if lines and lines[-1] != shown:
                shown = lines[-1]
                print(f"    {kind:15} {shown.split(' ', 1)[1][:110]}", flush=True)
    if entity["Status"] != "COMPLETED":
        raise SystemExit(f"{kind} {entity_id} FAILED: {entity.get('Message')}")
    return entity  # type: ignore[no-any-return]


class JobPeaks:
    """The largest VmHWM of any process below `pid` (the job workers) while the block runs, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> JobPeaks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            for child in _descendants(self.pid):
                with contextlib.suppress(OSError, RuntimeError):
                    self.peak = max(self.peak, peak_rss(child))


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def run_size(rows: int, ml: Any, s3: Any, pid: int, uri: str, text: str) -> dict[str, float]:
    """Seconds of each stage's job and the service's peak memory during each (VmHWM, reset in between)."""
    ids = {kind: f"{kind.lower()}-{rows}" for kind in STAGES}
    creates = {
        "DataSource": lambda: ml.create_data_source_from_s3(
            DataSourceId=ids["DataSource"],
            DataSpec={"DataLocationS3": uri, "DataSchema": text},
            ComputeStatistics=True,
        ),
        "MLModel": lambda: ml.create_ml_model(
            MLModelId=ids["MLModel"], MLModelType="BINARY", TrainingDataSourceId=ids["DataSource"]
        ),
        "Evaluation": lambda: ml.create_evaluation(
            EvaluationId=ids["Evaluation"], MLModelId=ids["MLModel"], EvaluationDataSourceId=ids["DataSource"]
        ),
        "BatchPrediction": lambda: ml.create_batch_prediction(
            BatchPredictionId=ids["BatchPrediction"],
            MLModelId=ids["MLModel"],
            BatchPredictionDataSourceId=ids["DataSource"],
            OutputUri=uri.rsplit("/", 1)[0] + "/output/",
        ),
    }
    result: dict[str, float] = {}
    for kind, create in creates.items():
        reset_peak_rss(pid)
        create()
        with JobPeaks(pid) as jobs:
            entity = wait_showing_progress(ml, kind, ids[kind])
        result[kind], result[f"{kind} peak"] = _job_seconds(entity), float(peak_rss(pid) + jobs.peak)
    assert entity["TotalRecordCount"] == rows, entity["TotalRecordCount"]
    result["total"] = sum(result[kind] for kind in STAGES)
    result["peak"] = max(result[f"{kind} peak"] for kind in STAGES)
    return result


def _job_seconds(entity: dict[str, Any]) -> float:
    return float((entity["FinishedAt"] - entity["StartedAt"]).total_seconds())


def main(sizes: tuple[int, ...]) -> int:
    settings()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every S3 request
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="aml-bench-scale-") as tmp:
        s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        s3_server.start()
        host, port = s3_server.get_host_and_port()
        s3 = client("s3", f"http://{host}:{port}", KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="aml-bench")
        try:
            for rows in sizes:
                path = Path(tmp) / f"rows-{rows}.csv"
                write_csv(path, rows)
                started = time.perf_counter()
                pd.read_csv(path)
                reference = time.perf_counter() - started
                key = f"scale/{rows}/data.csv"
                s3.upload_file(str(path), "aml-bench", key)
                text = schema(pd.read_csv(path, nrows=5), "BINARY")
                path.unlink()
                print(
                    f"{rows:,} rows, {s3.head_object(Bucket='aml-bench', Key=key)['ContentLength'] / 2**20:,.0f} MiB of CSV",
                    flush=True,
                )
                service, endpoint = start_service(
                    Path(tmp) / f"service-{rows}", f"http://{host}:{port}", rate=200
                )
                try:
                    results[rows] = run_size(
                        rows,
                        client(
                            "machinelearning",
                            endpoint,
                            KEYS["AWS_ACCESS_KEY_ID"],
                            KEYS["AWS_SECRET_ACCESS_KEY"],
                        ),
                        s3,
                        service.pid,
                        f"s3://aml-bench/{key}",
                        text,
                    )
                    results[rows]["reference"] = reference
                finally:
                    assert service.stdin is not None
                    service.stdin.close()
                    service.wait(timeout=120)
                s3.delete_object(Bucket="aml-bench", Key=key)
        finally:
            s3_server.stop()
    return report(results)


def report(results: dict[int, dict[str, float]]) -> int:
    smallest = min(results)
    print(
        f"\n{'rows':>12}"
        + "".join(f"{s[:12]:>14}" for s in STAGES)
        + f"{'total s':>10}{'x time':>8}{'x rows':>8}{'VmHWM MiB':>11}{'read_csv s':>11}"
    )
    for rows, r in results.items():
        print(
            f"{rows:>12,}"
            + "".join(f"{r[s]:>14.1f}" for s in STAGES)
            + f"{r['total']:>10.1f}{r['total'] / results[smallest]['total']:>8.2f}{rows / smallest:>8.1f}"
            + f"{r['peak'] / 2**20:>11.0f}{r['reference']:>11.1f}"
        )
        print(f"{'VmHWM MiB':>12}" + "".join(f"{r[stage + ' peak'] / 2**20:>14.0f}" for stage in STAGES))
    largest = max(results)
    linearity = (results[largest]["total"] / largest) / (results[smallest]["total"] / smallest)
    memory = max(r["peak"] for r in results.values())
    print(
        f"time per row at {largest:,} rows / at {smallest:,} rows: {linearity:.2f} (target <= {LINEARITY_TARGET})"
    )
    print(
        f"largest VmHWM of the service plus its job process: {memory / 2**20:.0f} MiB "
        f"(target < {MEMORY_TARGET / 2**20:.0f} MiB)"
    )
    return verdict(linearity <= LINEARITY_TARGET and memory < MEMORY_TARGET)


if __name__ == "__main__":
    chosen = tuple(sorted(int(arg) for arg in sys.argv[1:]))
    sys.exit(main(chosen or (SMOKE_SIZES if SMOKE else SIZES)))
