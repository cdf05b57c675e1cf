"""Reading Amazon ML's CSV data and batch prediction results from S3 with a boto3 client.

Records are lines, as Amazon ML reads them: blank lines are skipped, the header (when the schema says
there is one) is not a record, and a line whose number of values differs from the schema's attributes is
an unreadable record.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

#: Amazon ML's BINARY values (any case, surrounding spaces ignored).
BINARY_VALUES = {
    **dict.fromkeys(("1", "y", "yes", "t", "true"), 1.0),
    **dict.fromkeys(("0", "n", "no", "f", "false"), 0.0),
}
_SCHEMA_ALIASES = {"variables": "attributes", "targetFieldName": "targetAttributeName"}


class FamilyDataError(ValueError):
    """Data, schema or batch output that cannot be used, with a message naming the field and the fix."""


@dataclass(frozen=True)
class Schema:
    """The parts of an Amazon ML schema these modules need; attribute i describes CSV column i."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    target: str | None
    row_id: str | None
    header: bool

    def type_of(self, name: str) -> str:
        return self.types[self.names.index(name)]

    @property
    def inputs(self) -> list[str]:
        """Attributes other than the target and rowId."""
        return [name for name in self.names if name not in (self.target, self.row_id)]


def parse_schema(schema: dict[str, Any] | str) -> Schema:
    """A Schema from Amazon ML's schema document (dict or JSON text, either key spelling)."""
    document = json.loads(schema) if isinstance(schema, str) else dict(schema)
    document = {_SCHEMA_ALIASES.get(key, key): value for key, value in document.items()}
    attributes = document.get("attributes")
    if not attributes:
        raise FamilyDataError("schema.attributes is missing or empty: list every CSV column in order.")
    names = tuple(a.get("attributeName", a.get("fieldName")) for a in attributes)
    types = tuple(str(a.get("attributeType", a.get("fieldType", ""))).upper() for a in attributes)
    target = document.get("targetAttributeName")
    if target is not None and target not in names:
        raise FamilyDataError(f"schema.targetAttributeName '{target}' is not one of schema.attributes.")
    return Schema(names, types, target, document.get("rowId"), bool(document.get("dataFileContainsHeader")))


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise FamilyDataError(f"{uri!r} is not an S3 URI: use s3://bucket/key or s3://bucket/prefix/.")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def list_data_files(s3: Any, uri: str) -> list[str]:
    """The object at `uri`, or every non-empty, non-hidden object under a prefix ending in `/`, in key order."""
    bucket, key = split_uri(uri)
    if not uri.endswith("/"):
        return [uri]
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            if item["Size"] > 0 and name and not name.startswith("."):
                found.append(f"s3://{bucket}/{item['Key']}")
    if not found:
        raise FamilyDataError(f"No data files under {uri}: land CSV files there or fix the URI.")
    return sorted(found)


def read_bytes(s3: Any, uri: str) -> bytes:
    """The object's bytes, gunzipped when they are gzip."""
    return read_object(s3, uri)[0]


def read_object(s3: Any, uri: str) -> tuple[bytes, str]:
    """The object's bytes (gunzipped when they are gzip) and its ETag (the same for a copy)."""
    bucket, key = split_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        raise FamilyDataError(f"{uri} does not exist.") from None
    body: bytes = response["Body"].read()
    return (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body), str(response.get("ETag", ""))


@dataclass
class Records:
    """The records of one CSV file: the header line, the number of data lines, the readable ones."""

    uri: str
    etag: str
    header: list[str] | None
    lines: int
    sampled: int  # data lines parsed (all of them, unless sampled)
    frame: pd.DataFrame  # str values of the readable ones by attribute name, indexed by data-line number


def read_records(s3: Any, uri: str, schema: Schema, sample: int | None = None, seed: int = 0) -> Records:
    """The file's records; with `sample`, at most that many data lines drawn at random (all are counted)."""
    body, etag = read_object(s3, uri)
    lines = body.decode("utf-8", errors="replace").split("\n")
    lines = [line.removesuffix("\r") for line in lines]
    lines = [line for line in lines if line]
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    header = next(csv.reader([lines.pop(0)])) if schema.header and lines else None
    numbers = np.arange(len(lines))
    if sample is not None and len(lines) > sample:
        numbers = np.sort(np.random.default_rng(seed).choice(len(lines), size=sample, replace=False))
    frame = parse_lines([lines[i] for i in numbers], list(schema.names))
    frame.index = numbers[frame.index.to_numpy()]
    return Records(uri, etag, header, len(lines), len(numbers), frame)


@dataclass
class Partition:
    """The records of some files: every line counted, a sample of them parsed."""

    name: str
    files: list[Records]

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @cached_property
    def frame(self) -> pd.DataFrame:
        return pd.concat([f.frame for f in self.files], ignore_index=True)

    @property
    def unreadable_share(self) -> float:
        sampled = sum(f.sampled for f in self.files)
        return 1 - sum(len(f.frame) for f in self.files) / sampled if sampled else 0.0


def read_partition(s3: Any, name: str, uris: list[str], schema: Schema, sample_rows: int) -> Partition:
    """Every data file under `uris` (objects or prefixes), sampled to about `sample_rows` lines in all."""
    files = [file for uri in uris for file in list_data_files(s3, uri)]
    per_file = max(1, sample_rows // max(1, len(files)))
    return Partition(
        name, [read_records(s3, uri, schema, sample=per_file, seed=i) for i, uri in enumerate(files)]
    )


def parse_lines(lines: list[str], names: list[str]) -> pd.DataFrame:
    """The lines that hold exactly one value per name, as str columns indexed by their position in `lines`."""
    counts = np.array([field_count(line) for line in lines])
    good = np.flatnonzero(counts == len(names))
    if not len(good):
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    text = "\n".join(lines[i] for i in good)
    frame = pd.read_csv(
        io.StringIO(text + "\n"),
        header=None,
        names=list(range(len(names))),
        dtype=object,
        na_filter=False,
        skip_blank_lines=False,
        index_col=False,
    )
    frame.columns = names
    frame.index = good
    return frame


def field_count(line: str) -> int:
    """Values on one line (-1 when it is badly quoted)."""
    if '"' not in line:
        return line.count(",") + 1
    try:
        return len(next(csv.reader([line], strict=True)))
    except csv.Error:
        return -1


def read_results(s3: Any, uri: str) -> pd.DataFrame:
    """A batch prediction result file as str columns, one row per line (a blank line: a row of NaN)."""
    text = read_bytes(s3, uri)
    return pd.read_csv(
        io.BytesIO(text), dtype=str, skip_blank_lines=False, keep_default_na=False, na_values=[""]
    )


def read_manifest(s3: Any, output_uri: str, batch_prediction_id: str) -> dict[str, str]:
    """Input file URI -> result file URI, from `<output_uri>batch-prediction/<id>.manifest`."""
    uri = f"{output_uri.rstrip('/')}/batch-prediction/{batch_prediction_id}.manifest"
    try:
        manifest: dict[str, str] = json.loads(read_bytes(s3, uri))
    except FamilyDataError:
        raise FamilyDataError(
            f"BatchPrediction '{batch_prediction_id}' has no manifest at {uri}: wait until it is COMPLETED "
            "and check its OutputUri."
        ) from None
    return manifest


def target_values(model_type: str, values: pd.Series) -> pd.Series:
    """Targets as Amazon ML reads them: 0/1 (BINARY), stripped labels (MULTICLASS), numbers (REGRESSION);
    NaN where missing or invalid."""
    text = values.astype(str).str.strip()
    if model_type == "BINARY":
        return text.str.lower().map(BINARY_VALUES).astype(float)
    if model_type == "REGRESSION":
        numbers = pd.to_numeric(text, errors="coerce")
        return numbers.where(np.isfinite(numbers))
    return text.where(text != "")
