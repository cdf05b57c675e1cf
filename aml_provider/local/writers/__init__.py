"""Batch prediction output: Amazon ML's number format, gzipped result files and the manifest."""

from __future__ import annotations

from aml_provider.local.writers.batch import (
    BatchOutput,
    discard_publication,
    result_block,
    result_header,
)
from aml_provider.local.writers.cells import csv_field
from aml_provider.local.writers.numbers import format_score, format_scores

__all__ = [
    "BatchOutput",
    "csv_field",
    "discard_publication",
    "format_score",
    "format_scores",
    "result_header",
    "result_block",
]
