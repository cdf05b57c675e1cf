"""Batch prediction output: one gzipped CSV per input file and a manifest, published all or nothing."""

from __future__ import annotations

import contextlib
import gzip
import json
import posixpath
import shutil
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from aml_provider.local.data.s3 import S3Object, S3Store, join_uri, split_uri
from aml_provider.local.writers.cells import Cells, csv_field, join_lines, text_cells
from aml_provider.local.writers.numbers import score_cells

BINARY = "BINARY"
MULTICLASS = "MULTICLASS"
#: The file, in a batch prediction's artifacts, that lists what its upload puts in S3 while it runs.
UPLOAD_JOURNAL = "uploading.json"
#: gzip level of result files: the fastest (zlib at level 1 still shrinks CSV of scores about 3x).
COMPRESS_LEVEL = 1
#: Blocks of result lines waiting for the compressing thread before `write` waits (bounds memory).
MAX_PENDING_BLOCKS = 2


def result_header(model_type: str, classes: Sequence[str], tag: bool, true_label: bool) -> list[str]:
    """Column names: `tag` (rowId), `trueLabel` (target present), then the model type's score columns."""
    leading = ["tag"] * tag + ["trueLabel"] * true_label
    if model_type == BINARY:
        return [*leading, "bestAnswer", "score"]
    if model_type == MULTICLASS:
        return [*leading, *classes]
    return [*leading, "score"]


def result_block(
    model_type: str,
    scores: np.ndarray,
    score_threshold: float,
    leading: Sequence[np.ndarray] = (),
) -> bytes:
    """One CSV line per scored row, each ending in a newline: leading text columns (tag, trueLabel), then
    bestAnswer and score (BINARY), the class probabilities (MULTICLASS) or the value (REGRESSION)."""
    if len(scores) == 0:
        return b""
    columns = [text_cells(column) for column in leading]
    if model_type == BINARY:
        best = np.where(scores >= score_threshold, ord("1"), ord("0")).astype(np.uint8)
        columns.append(Cells(best, np.ones(len(best), dtype=np.int64)))
        columns.append(score_cells(scores))
    elif model_type == MULTICLASS:
        columns.extend(score_cells(scores[:, k]) for k in range(scores.shape[1]))
    else:
        columns.append(score_cells(scores))
    return join_lines(columns)


class BatchOutput:
    """Result files written to local temp files first; `publish` makes them visible whole, manifest last.

    Lines are compressed in a thread of their own (zlib lets go of the GIL), so compressing one block
    overlaps with scoring the next.

    Publishing uploads every file under a hidden staging prefix, copies each to its result URI inside S3,
    writes the manifest, then removes the staging prefix. Before anything is uploaded the plan (result
    URIs, manifest, staging prefix) is written to `plan_path`, so that `discard_publication` can remove
    whatever a publication cut off half-way (a failure, or the process killed) left behind.
    """

    def __init__(
        self,
        s3: S3Store,
        output_uri: str,
        batch_id: str,
        header: list[str],
        workdir: Path,
        plan_path: Path,
    ) -> None:
        self.s3 = s3
        self.output_uri = output_uri
        self.batch_id = batch_id
        self.header = ",".join(csv_field(name) for name in header)
        self.workdir = workdir
        self.plan_path = plan_path
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, gzip.GzipFile] = {}
        self._paths: dict[str, Path] = {}
        self._compressor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aml-batch-gzip")
        self._pending: deque[Future[int]] = deque()

    @property
    def manifest_uri(self) -> str:
        return join_uri(self.output_uri, "batch-prediction", f"{self.batch_id}.manifest")

    @property
    def staging_prefix(self) -> str:
        """Where files wait until all are uploaded; hidden (leading '.') from datasource listings."""
        return join_uri(self.output_uri, "batch-prediction", ".staging", self.batch_id) + "/"

    def result_uris(self, sources: list[S3Object]) -> dict[str, str]:
        """Input URI -> result URI, `<id>-<file name>.gz`; files of the same name in different folders
        (under a prefix) keep their folders in the name, joined by '-', so no result overwrites another."""
        names = Counter(source.name for source in sources)
        common = (
            posixpath.commonpath([split_uri(source.uri)[1] for source in sources]) if len(sources) > 1 else ""
        )
        results = {}
        for source in sources:
            name = source.name
            if names[name] > 1:
                name = posixpath.relpath(split_uri(source.uri)[1], common).replace("/", "-")
            results[source.uri] = join_uri(
                self.output_uri, "batch-prediction", "result", f"{self.batch_id}-{name}.gz"
            )
        return results

    def write(self, source: S3Object, lines: bytes) -> None:
        """Append result lines (each ending in a newline; an empty one for a row that could not be scored)
        for rows of `source`."""
        handle = self._handle(source)
        if lines:
            self._pending.append(self._compressor.submit(handle.write, lines))
            while len(self._pending) > MAX_PENDING_BLOCKS:
                self._pending.popleft().result()

    def publish(
        self, sources: list[S3Object], after_first_file: Callable[[], None] = lambda: None
    ) -> dict[str, str]:
        """Stage every result file, copy each into place, then write the manifest; on any failure remove
        what was written and re-raise. `after_first_file` is called once the first result file is in
        place (a fault-injection point)."""
        manifest = self.result_uris(sources)
        for source in sources:
            self._handle(source)
        self._finish_writing()
        staged = {uri: self.staging_prefix + "." + uri.rsplit("/", 1)[-1] for uri in manifest.values()}
        plan = {
            "results": list(manifest.values()),
            "manifest": self.manifest_uri,
            "staging": self.staging_prefix,
        }
        self.plan_path.write_text(json.dumps(plan))
        try:
            for source in sources:
                self.s3.upload(self._paths[source.uri], staged[manifest[source.uri]])
            for number, (result, staging) in enumerate(staged.items()):
                self.s3.copy(staging, result)
                if number == 0:
                    after_first_file()
            self.s3.put(self.manifest_uri, json.dumps(manifest).encode(), "application/json")
        except Exception:
            with contextlib.suppress(Exception):  # the error that stopped the publication matters more
                discard_publication(self.s3, self.plan_path)
            raise
        finally:
            self.discard()
        self.s3.delete_prefix(self.staging_prefix)
        self.plan_path.unlink()
        return manifest

    def discard(self) -> None:
        """Drop the local files (nothing has been published unless `publish` returned)."""
        with contextlib.suppress(Exception):  # a failed write has been reported by `write` or `publish`
            self._finish_writing()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _finish_writing(self) -> None:
        """Wait for the compressing thread, then close every file (re-raising a failed write)."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._compressor.shutdown()
            for handle in self._open.values():
                handle.close()

    def _handle(self, source: S3Object) -> gzip.GzipFile:
        handle = self._open.get(source.uri)
        if handle is None:
            path = self.workdir / f"{len(self._paths):06d}.csv.gz"  # S3 names may be longer than a file name
            handle = gzip.open(path, "wb", compresslevel=COMPRESS_LEVEL)  # noqa: SIM115
            handle.write((self.header + "\n").encode())
            self._open[source.uri] = handle
            self._paths[source.uri] = path
        return handle


def discard_publication(s3: S3Store, plan_path: Path) -> list[str]:
    """Remove everything a publication planned at `plan_path` may have written (then the plan itself);
    answer the result and manifest URIs it removed (none without a plan)."""
    if not plan_path.exists():
        return []
    plan = json.loads(plan_path.read_text())
    removed = [plan["manifest"], *plan["results"]]
    s3.delete(removed)
    s3.delete_prefix(plan["staging"])
    plan_path.unlink()
    return removed
