"""
A stable hold-out for data without dates: each row goes to training or evaluation by a hash of its
content with a per-family seed, so a row is never training data in one run and evaluation data in
another, however files are added. Unlike partitions, this reads the rows through the worker.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aml_provider.family.layout import split_s3_uri
from aml_provider.family.partitions import MissingPartition, Plan, _as_prefix, _objects, _skip_reason


def holds_out(line: str, seed: str, percent: float) -> bool:
    """True when the row belongs to the evaluation share (the same answer for the same row and seed)."""
    digest = hashlib.sha256(f"{seed}\x1f{line.rstrip()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100 < percent


def plan_holdout(
    s3: Any,
    *,
    data_uri: str,
    run_uri: str,
    seed: str,
    percent: float,
    header: bool,
    champion_training: list[str],
) -> Plan:
    """Split every CSV file under ``data_uri`` into the run's training and evaluation copies."""
    bucket, prefix = split_s3_uri(_as_prefix(data_uri))
    files = [f"s3://{bucket}/{item['Key']}" for item in _objects(s3, bucket, prefix) if item.get("Size", 0)]
    if not files:
        raise MissingPartition(f"No data under {_as_prefix(data_uri)}: land CSV files there first.")
    run_uri = _as_prefix(run_uri)
    plan = Plan(
        evaluation_partitions=files,
        training_partitions=files,
        evaluation_uri=f"{run_uri}evaluation/",
        training_uri=f"{run_uri}training/",
        evaluation_files=len(files),
        training_files=len(files),
        skip_reason=_skip_reason(files, set(champion_training)),
    )
    if not plan.skip_reason:
        for uri in files:
            _split_file(s3, uri, uri[len(_as_prefix(data_uri)) :], plan, seed, percent, header)
    return plan


def _split_file(s3: Any, uri: str, name: str, plan: Plan, seed: str, percent: float, header: bool) -> None:
    bucket, key = split_s3_uri(uri)
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig").splitlines()
    head, rows = (lines[:1], lines[1:]) if header else ([], lines)
    shares: dict[bool, list[str]] = {True: [], False: []}
    for row in rows:
        if row.strip():
            shares[holds_out(row, seed, percent)].append(row)
    for held_out, target in ((True, plan.evaluation_uri), (False, plan.training_uri)):
        target_bucket, target_key = split_s3_uri(target + name)
        body = "\n".join(head + shares[held_out]) + "\n"
        s3.put_object(Bucket=target_bucket, Key=target_key, Body=body.encode())
