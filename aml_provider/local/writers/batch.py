"""Batch prediction output: one gzipped CSV per input file and a manifest, published all or nothing."""

from __future__ import annotations

import gzip
import json
import posixpath
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from aml_provider.local.data.s3 import S3Object, S3Store, join_uri, split_uri
from aml_provider.local.errors import JobFailed
from aml_provider.local.writers.numbers import format_scores

BINARY = "BINARY"
MULTICLASS = "MULTICLASS"
#: The file, in a batch prediction's artifacts, that lists what its upload puts in S3 while it runs.
UPLOAD_JOURNAL = "uploading.json"


def result_header(model_type: str, classes: Sequence[str], tag: bool, true_label: bool) -> list[str]:
    """Column names: `tag` (rowId), `trueLabel` (target present), then the model type's score columns."""
    leading = ["tag"] * tag + ["trueLabel"] * true_label
    if model_type == BINARY:
        return [*leading, "bestAnswer", "score"]
    if model_type == MULTICLASS:
        return [*leading, *classes]
    return [*leading, "score"]


def result_lines(
    model_type: str,
    scores: np.ndarray,
    score_threshold: float,
    leading: Sequence[np.ndarray] = (),
) -> list[str]:
    """One CSV line per scored row: leading text columns (tag, trueLabel), then bestAnswer/scores."""
    columns = [csv_column(column) for column in leading]
    if model_type == BINARY:
        columns.append(np.where(scores >= score_threshold, "1", "0").tolist())
        columns.append(format_scores(scores))
    elif model_type == MULTICLASS:
        flat, width = format_scores(scores), scores.shape[1]
        columns.extend(flat[i::width] for i in range(width))
    else:
        columns.append(format_scores(scores))
    return list(map(",".join, zip(*columns, strict=True)))


def csv_column(values: np.ndarray) -> list[str]:
    """A column of CSV fields; values are quoted only when they hold a comma, quote or line break."""
    texts = [str(value) for value in values.tolist()]
    joined = "".join(texts)
    if any(c in joined for c in ',"\n\r'):
        return [csv_field(text) for text in texts]
    return texts


def csv_field(value: object) -> str:
    """A CSV field, quoted only when it holds a comma, quote or line break."""
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class BatchOutput:
    """Result files written to local temp files first; `publish` uploads them, then the manifest."""

    def __init__(self, s3: S3Store, output_uri: str, batch_id: str, header: list[str], workdir: Path) -> None:
        self.s3 = s3
        self.output_uri = output_uri
        self.batch_id = batch_id
        self.header = ",".join(csv_field(name) for name in header)
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, IO[str]] = {}
        self._paths: dict[str, Path] = {}

    @property
    def manifest_uri(self) -> str:
        return join_uri(self.output_uri, "batch-prediction", f"{self.batch_id}.manifest")

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

    def write(self, source: S3Object, lines: list[str]) -> None:
        """Append result lines for rows of `source` (a blank line for a row that could not be scored)."""
        handle = self._handle(source)
        if lines:
            handle.write("\n".join(lines))
            handle.write("\n")

    def publish(
        self,
        sources: list[S3Object],
        after_first_upload: Callable[[], None] = lambda: None,
        journal: Path | None = None,
    ) -> dict[str, str]:
        """Upload every result file, then the manifest; on any failure remove what was uploaded and re-raise.

        `journal` (a local file) lists what is about to be uploaded while the upload runs, so that
        `discard_interrupted_upload` can remove it after the process died half-way.
        `after_first_upload` is called once the first result file is in S3 (a fault-injection point).
        """
        manifest = self.result_uris(sources)
        for source in sources:
            self._handle(source)
        for handle in self._open.values():
            handle.close()
        if journal is not None:
            journal.write_text(json.dumps([*manifest.values(), self.manifest_uri]))
        uploaded: list[str] = []
        try:
            for source in sources:
                uri = manifest[source.uri]
                self.s3.upload(self._paths[source.uri], uri)
                uploaded.append(uri)
                if len(uploaded) == 1:
                    after_first_upload()
            self.s3.put(self.manifest_uri, json.dumps(manifest).encode(), "application/json")
        except JobFailed:
            self.s3.delete(uploaded)
            _remove(journal)
            raise
        finally:
            self.discard()
        _remove(journal)
        return manifest

    def discard(self) -> None:
        """Drop the local files (nothing has been published unless `publish` returned)."""
        for handle in self._open.values():
            handle.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _handle(self, source: S3Object) -> IO[str]:
        handle = self._open.get(source.uri)
        if handle is None:
            path = self.workdir / f"{len(self._paths):06d}-{source.name}.gz"
            handle = gzip.open(path, "wt", encoding="utf-8", newline="\n", compresslevel=3)  # noqa: SIM115
            handle.write(self.header + "\n")
            self._open[source.uri] = handle
            self._paths[source.uri] = path
        return handle


def discard_interrupted_upload(s3: S3Store, journal: Path) -> list[str]:
    """Delete from S3 what a publish that never ended (the process died) may have uploaded; answer it."""
    if not journal.exists():
        return []
    uris: list[str] = json.loads(journal.read_text())
    s3.delete(uris)
    journal.unlink()
    return uris


def _remove(journal: Path | None) -> None:
    if journal is not None:
        journal.unlink(missing_ok=True)
