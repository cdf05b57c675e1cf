"""Data access: schemas, DataRearrangement, value parsing, the streaming CSV reader, statistics, S3 and databases."""

from __future__ import annotations

from aml_provider.local.data.reader import Chunk, DataSourceReader, open_datasource
from aml_provider.local.data.rearrangement import Rearrangement, parse_rearrangement
from aml_provider.local.data.s3 import S3Object, S3Store
from aml_provider.local.data.schema import Attribute, Schema, parse_schema
from aml_provider.local.data.statistics import StatisticsBuilder
from aml_provider.local.data.values import is_missing, parse_binary, parse_numeric

__all__ = [
    "Attribute",
    "Chunk",
    "DataSourceReader",
    "Rearrangement",
    "S3Object",
    "S3Store",
    "Schema",
    "StatisticsBuilder",
    "is_missing",
    "open_datasource",
    "parse_binary",
    "parse_numeric",
    "parse_rearrangement",
    "parse_schema",
]
