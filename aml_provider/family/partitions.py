"""
Fresh data by data interval: which landing partitions a run evaluates and trains on.

Data lands under ``<data_uri><partition>/`` where the partition is a ``strftime`` pattern
(default ``ds=%Y-%m-%d/``: one folder per day, any number of CSV files). A run evaluates on the
partitions inside its data interval (out of time: no model has trained on them) and trains on the
``training_window`` partitions before it. Both are assembled under a run prefix by server-side S3
copies, so no data passes through the worker and Amazon ML reads each set as one prefix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from aml_provider.family.layout import split_s3_uri
from aml_provider.hooks.aml import AmlError

DEFAULT_PARTITION = "ds=%Y-%m-%d/"
_FIELDS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}"}


class MissingPartition(AmlError):
    """The run's evaluation partition has not landed (or holds no data)."""


@dataclass(frozen=True)
class Plan:
    """What one run evaluates and trains on, and where the assembled copies are."""

    evaluation_partitions: list[str]
    training_partitions: list[str]
    evaluation_uri: str
    training_uri: str
    evaluation_files: int
    training_files: int
    skip_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def partition_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the start of a key relative to the data URI, for a strftime template."""
    pattern = re.escape(template)
    for code, regex in _FIELDS.items():
        pattern = pattern.replace(re.escape(code), regex)
    if "%" in pattern.replace("%%", ""):
        raise AmlError(f"partition template {template!r} may only use {', '.join(_FIELDS)}")
    return re.compile(pattern)


def list_partitions(s3: Any, data_uri: str, template: str) -> dict[dt.datetime, dict[str, list[str]]]:
    """Landed partitions by time: {time: {partition prefix URI: [file URIs]}} (empty files ignored)."""
    bucket, prefix = split_s3_uri(_as_prefix(data_uri))
    pattern = partition_pattern(template)
    found: dict[dt.datetime, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for item in _objects(s3, bucket, prefix):
        relative = item["Key"][len(prefix) :]
        match = pattern.match(relative)
        if not match or item["Key"].endswith("/") or item.get("Size", 1) == 0:
            continue
        moment = dt.datetime.strptime(match.group(0), template).replace(tzinfo=dt.UTC)
        found[moment][f"s3://{bucket}/{prefix}{match.group(0)}"].append(f"s3://{bucket}/{item['Key']}")
    return found


def plan_run(
    s3: Any,
    *,
    data_uri: str,
    template: str,
    interval: tuple[dt.datetime, dt.datetime],
    training_window: int,
    run_uri: str,
    champion_training: Iterable[str] = (),
) -> Plan:
    """Choose the evaluation and training partitions of the run whose data interval is ``interval``."""
    start, end = (_utc(moment) for moment in interval)
    landed = list_partitions(s3, data_uri, template)
    evaluation = {
        part: files
        for moment in sorted(landed)
        if start <= moment < end
        for part, files in landed[moment].items()
    }
    if not evaluation:
        raise MissingPartition(
            f"No data for the interval {start.isoformat()} - {end.isoformat()}: expected CSV files under "
            f"{_as_prefix(data_uri)}{start.strftime(template)} (partition template {template!r}). "
            "Land the data first, or run for a date whose partition exists."
        )
    earlier = [moment for moment in sorted(landed) if moment < start]
    window = earlier[-training_window:] if training_window > 0 else earlier
    training = {part: files for moment in window for part, files in landed[moment].items()}
    skip = _skip_reason(list(training), set(champion_training))
    run_uri = _as_prefix(run_uri)
    plan = Plan(
        evaluation_partitions=sorted(evaluation),
        training_partitions=sorted(training),
        evaluation_uri=f"{run_uri}evaluation/",
        training_uri=f"{run_uri}training/",
        evaluation_files=sum(len(files) for files in evaluation.values()),
        training_files=sum(len(files) for files in training.values()),
        skip_reason=skip,
    )
    if not skip:
        copy_partitions(s3, evaluation, plan.evaluation_uri, _as_prefix(data_uri))
        copy_partitions(s3, training, plan.training_uri, _as_prefix(data_uri))
    return plan


def copy_partitions(s3: Any, partitions: dict[str, list[str]], target_uri: str, data_uri: str) -> None:
    """Server-side copies of every file, keeping its path below the data URI (copies that exist stay)."""
    target_bucket, target_prefix = split_s3_uri(target_uri)
    existing = {item["Key"] for item in _objects(s3, target_bucket, target_prefix)}
    for files in partitions.values():
        for uri in files:
            bucket, key = split_s3_uri(uri)
            target_key = target_prefix + uri[len(data_uri) :]
            if target_key not in existing:
                s3.copy({"Bucket": bucket, "Key": key}, target_bucket, target_key)


def _skip_reason(training: list[str], champion_training: set[str]) -> str | None:
    if not training:
        return "no earlier partition to train on"
    if champion_training and set(training) <= champion_training:
        return f"no new data since {max(training).rstrip('/').rsplit('/', 1)[-1]}: the champion trained on every partition of the window"
    return None


def _objects(s3: Any, bucket: str, prefix: str) -> Iterable[dict[str, Any]]:
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def _as_prefix(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
