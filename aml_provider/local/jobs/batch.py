"""The batch prediction job: score every observation of a datasource into gzipped CSVs and a manifest."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from aml_provider.local.data import Chunk, DataSourceReader, open_datasource, parse_binary
from aml_provider.local.jobs.context import PUBLICATION_PLAN, JobContext
from aml_provider.local.jobs.training import (
    TrainedModel,
    encode_target,
    load_trained_model,
    require_inputs,
    score_threshold,
)
from aml_provider.local.learners import BINARY, MULTICLASS
from aml_provider.local.writers import BatchOutput, result_block, result_header

#: Scored rows, with their inputs, kept in preview.json for the console.
PREVIEW_ROWS = 20


class _Seconds:
    """Where a batch prediction's time went (compressing runs in a thread beside the rest)."""

    PHASES = ("reading", "scoring", "formatting", "writing", "publishing")

    def __init__(self) -> None:
        self.spent = dict.fromkeys(self.PHASES, 0.0)
        self._mark = time.perf_counter()

    def start(self) -> None:
        """Time from now on counts toward the next `lap`."""
        self._mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Add the time since the last mark to `phase`."""
        now = time.perf_counter()
        self.spent[phase] += now - self._mark
        self._mark = now

    def report(self, rows: int) -> str:
        spent = self.spent
        rate = rows / spent["scoring"] if spent["scoring"] > 0 else 0.0
        return (
            f"seconds: reading={spent['reading']:.2f} scoring={spent['scoring']:.2f} ({rate:.0f} rows/s) "
            f"formatting={spent['formatting']:.2f} waiting-for-output={spent['writing']:.2f} "
            f"publishing={spent['publishing']:.2f}"
        )


@dataclass
class _FileProgress:
    """Where the output of one input file stands: next data line expected, blank lines written so far."""

    next_line: int = 0
    blanks: int = 0
    rejected: int = 0


def run_batch_prediction(ctx: JobContext) -> dict[str, Any]:
    """Predict every row; publish results and manifest under OutputUri; return the record counts."""
    model_id, source_id = ctx.entity["MLModelId"], ctx.entity["BatchPredictionDataSourceId"]
    trained = load_trained_model(ctx.artifacts_of("MLModel", model_id))
    threshold = score_threshold(ctx.get_entity("MLModel", model_id))
    reader = open_datasource(
        ctx.s3, ctx.artifacts_of("DataSource", source_id), ctx.get_entity("DataSource", source_id)
    )
    require_inputs(trained, reader.schema, source_id, "predict")
    leading = _leading_columns(trained, reader)
    header = result_header(trained.model_type, trained.classes, "tag" in leading, "trueLabel" in leading)
    output = BatchOutput(
        ctx.s3,
        ctx.entity["OutputUri"],
        ctx.entity["BatchPredictionId"],
        header,
        ctx.scratch / "results",
        ctx.artifacts / PUBLICATION_PLAN,
    )
    ctx.log(f"predicting with MLModel '{model_id}' ({trained.model_type}, score threshold {threshold!r})")
    seconds = _Seconds()
    try:
        total, invalid = _predict_all(ctx, trained, reader, output, leading, threshold, header, seconds)
        seconds.start()
        manifest = output.publish(reader.files, lambda: ctx.reach("batch:after-first-file"))
        seconds.lap("publishing")
    finally:
        output.discard()
    ctx.log(f"wrote {len(manifest)} result file(s) and {output.manifest_uri}")
    ctx.log(seconds.report(total - invalid))
    ctx.log(f"total-records={total} invalid-records={invalid}")
    return {"TotalRecordCount": total, "InvalidRecordCount": invalid}


def _leading_columns(trained: TrainedModel, reader: DataSourceReader) -> dict[str, str]:
    """`tag` (the rowId attribute) and `trueLabel` (the target) when the batch data has them."""
    names = set(reader.schema.names)
    columns = {}
    row_id = reader.schema.row_id or trained.schema.row_id
    if row_id and row_id in names:
        columns["tag"] = row_id
    if trained.schema.target and trained.schema.target in names:
        columns["trueLabel"] = trained.schema.target
    return columns


def _predict_all(
    ctx: JobContext,
    trained: TrainedModel,
    reader: DataSourceReader,
    output: BatchOutput,
    leading: dict[str, str],
    threshold: float,
    header: list[str],
    seconds: _Seconds,
) -> tuple[int, int]:
    """Write one line per observation in input order (blank where a malformed one could not be scored)."""
    place_blanks = reader.rearrangement.selects_all
    progress: dict[str, _FileProgress] = {}
    total = invalid = 0
    numbers = trained.pipeline.numeric_inputs() - set(leading.values())
    seconds.start()
    for chunk in reader.chunks(numbers=numbers):
        seconds.lap("reading")
        state = progress.setdefault(chunk.file.uri, _FileProgress())
        state.rejected += chunk.rejected
        total += len(chunk) + chunk.rejected
        invalid += chunk.rejected
        lines = _chunk_lines(trained, chunk, leading, threshold, seconds)
        if lines and not (ctx.artifacts / "preview.json").exists():
            _write_preview(ctx, chunk, lines, header)
        if place_blanks:
            lines = _with_blanks(lines, chunk.line_numbers, state)
        seconds.start()
        output.write(chunk.file, lines)
        seconds.lap("writing")
        ctx.log(f"progress: records={total} invalid-records={invalid}")
    if place_blanks:
        for uri, state in progress.items():
            trailing = state.rejected - state.blanks
            if trailing > 0:
                output.write(next(f for f in reader.files if f.uri == uri), b"\n" * trailing)
    return total, invalid


def _chunk_lines(
    trained: TrainedModel, chunk: Chunk, leading: dict[str, str], threshold: float, seconds: _Seconds
) -> bytes:
    """The result lines of the chunk's rows (each ending in a newline)."""
    if len(chunk) == 0:
        return b""
    seconds.start()
    scores = trained.outputs(chunk.columns)
    seconds.lap("scoring")
    texts = [_leading_text(trained, name, chunk.columns[column]) for name, column in leading.items()]
    lines = result_block(trained.model_type, scores, threshold, texts)
    seconds.lap("formatting")
    return lines


def _write_preview(ctx: JobContext, chunk: Chunk, block: bytes, header: list[str]) -> None:
    """The first scored rows of `chunk` beside their input values (preview.json)."""
    rows = min(PREVIEW_ROWS, len(chunk))
    lines = [line.decode("utf-8") for line in block.split(b"\n", rows)[:rows]]
    names = list(chunk.columns)
    preview = {
        "file": chunk.file.uri,
        "inputColumns": names,
        "resultColumns": header,
        "rows": [
            {
                "line": int(chunk.line_numbers[i]) + 1,
                "inputs": [_input_text(chunk.columns[name][i]) for name in names],
                "results": result,
            }
            for i, result in zip(range(rows), csv.reader(lines), strict=True)
        ],
    }
    (ctx.artifacts / "preview.json").write_text(json.dumps(preview))


def _input_text(value: object) -> str:
    """An input value for the preview: text as read; a number parsed while reading in its shortest form."""
    if isinstance(value, float):
        return "" if np.isnan(value) else np.format_float_positional(value, trim="-")
    return str(value)


def _leading_text(trained: TrainedModel, name: str, values: np.ndarray) -> np.ndarray:
    """trueLabel as the model reads the target: 0/1 for BINARY (empty if not a binary value), the class
    label without surrounding spaces for MULTICLASS (as in the header); other columns as given."""
    if name == "trueLabel" and trained.model_type == BINARY:
        parsed = parse_binary(values)
        return np.where(np.isnan(parsed), "", np.where(parsed == 1.0, "1", "0"))
    if name == "trueLabel" and trained.model_type == MULTICLASS:
        return encode_target(MULTICLASS, values)[0]
    return values


def _with_blanks(lines: bytes, line_numbers: np.ndarray, state: _FileProgress) -> bytes:
    """Insert a blank line for every data line skipped since the previous row (it was malformed)."""
    if len(line_numbers) == 0:
        return lines
    expected = np.concatenate(([state.next_line], line_numbers[:-1] + 1))
    gaps = line_numbers - expected
    state.next_line = int(line_numbers[-1]) + 1
    if not gaps.any():
        return lines
    state.blanks += int(gaps.sum())
    rows = lines.split(b"\n")[:-1]
    return b"".join(b"\n" * gap + row + b"\n" for row, gap in zip(rows, gaps.tolist(), strict=True))
