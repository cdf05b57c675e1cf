"""
Where a model family lives in S3: one layout, read by the provider and by the pages (no Airflow here).

Under a reports URI, a family is the folder ``<family>/`` holding its record ``family.json``, its
decision log ``log/<time>-<run hash>-<event>.json`` (one event per object, keys in time order) and
its decision reports ``<ds>/decision.html`` and ``<ds>/decision.json``. Any boto3 S3 client reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

RECORD_NAME = "family.json"
LOG_FOLDER = "log/"
REPORT_HTML = "decision.html"
REPORT_JSON = "decision.json"
#: A report's path below its family's folder, and its content type by extension.
REPORT_PATH = re.compile(r"^[^/]+/decision\.(html|json)$")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); raise a clear error for anything else."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"Expected an S3 URI like s3://bucket/prefix/, not {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def check_family_name(family: str) -> None:
    if not family or "/" in family or family.strip() != family:
        raise ValueError(f"family must be a non-empty name without '/' or surrounding spaces, not {family!r}")


def family_prefix(reports_uri: str, family: str) -> str:
    """``<reports_uri><family>/``: where the record, the decision log and the reports live."""
    check_family_name(family)
    return f"{reports_uri.rstrip('/')}/{family}/"


def is_missing(error: ClientError) -> bool:
    """Whether an S3 error says the object (or its bucket) is not there."""
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


def get_object(client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The GetObject response, or None when the object is not there."""
    try:
        return dict(client.get_object(Bucket=bucket, Key=key))
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def read_bytes(client: Any, bucket: str, key: str) -> bytes | None:
    response = get_object(client, bucket, key)
    return None if response is None else bytes(response["Body"].read())


def list_keys(client: Any, bucket: str, prefix: str, limit: int | None = None) -> list[str]:
    """Keys under ``prefix`` in key order (at most ``limit``, the first ones)."""
    paginator = client.get_paginator("list_objects_v2")
    config = {"MaxItems": limit} if limit else {}
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=config)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def event_keys(client: Any, bucket: str, log_prefix: str, event: str | None = None) -> list[str]:
    """The decision log's keys under ``log_prefix``, oldest first (only one kind of event when given)."""
    keys = list_keys(client, bucket, log_prefix)
    return keys if event is None else [key for key in keys if key.endswith(f"-{event}.json")]


def read_events(client: Any, bucket: str, keys: list[str]) -> list[dict[str, Any]]:
    """The events stored under ``keys``, in their order."""
    return [json.loads(body) for key in keys if (body := read_bytes(client, bucket, key)) is not None]
