"""Batch prediction output: Amazon ML's number format, gzipped result files and the manifest."""

from __future__ import annotations

from aml_provider.local.writers.batch import (
    UPLOAD_JOURNAL,
    BatchOutput,
    csv_field,
    discard_interrupted_upload,
    result_header,
    result_lines,
)
from aml_provider.local.writers.numbers import format_score, format_scores

__all__ = [
    "UPLOAD_JOURNAL",
    "BatchOutput",
    "csv_field",
    "discard_interrupted_upload",
    "format_score",
    "format_scores",
    "result_header",
    "result_lines",
]
