"""Model families as the provider keeps them in S3, read with any boto3 S3 client (no Airflow needed).

Under each ``reports_uri`` a family is a folder ``<family>/`` holding its record ``family.json``, its
decision log ``log/*.json`` (one event per object, keys in time order) and its decision reports
``<ds>/decision.html`` and ``decision.json`` (see ``aml_provider.family.record`` and ``.log``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

RECORD = "family.json"
LOG = "log/"
#: A report's path below its family's folder.
REPORT = re.compile(r"^[^/]+/decision\.(html|json)$")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json"}


class FamilyNotFound(LookupError):
    """No configured reports URI holds the family (or the URI asked for is not configured)."""


def parse_uris(text: str, setting: str = "families URI") -> list[str]:
    """Reports URIs from a setting: a JSON list, or URIs separated by commas or whitespace."""
    text = text.strip()
    items = json.loads(text) if text.startswith("[") else re.split(r"[\s,]+", text)
    uris = [str(item).strip() for item in items if str(item).strip()]
    for uri in uris:
        if not uri.startswith("s3://") or len(uri) <= 5:
            raise ValueError(f"{setting} must list S3 prefixes like s3://bucket/families/, not {uri!r}")
    return [uri if uri.endswith("/") else uri + "/" for uri in uris]


@dataclass(frozen=True)
class Report:
    body: bytes
    content_type: str


class FamilyReader:
    """Finds the families under the configured reports URIs and reads their records, logs and reports."""

    def __init__(self, client: Any, reports_uris: Sequence[str], setting: str = "the families URIs") -> None:
        self.client = client
        self.reports_uris = list(reports_uris)
        self.setting = setting  # where the URIs are configured, for messages

    def families(self, reports_uri: str) -> list[str]:
        """The families under ``reports_uri``: folders holding a record or a decision log, in name order."""
        bucket, prefix = _split(reports_uri)
        return [name for name in self._folders(bucket, prefix) if self._holds_family(bucket, prefix + name)]

    def locate(self, family: str, reports_uri: str | None = None) -> str:
        """The configured reports URI holding ``family`` (``reports_uri`` when given and configured)."""
        if "/" in family or not family:
            raise FamilyNotFound(f"Not a family name: {family!r}")
        if reports_uri:
            wanted = reports_uri if reports_uri.endswith("/") else reports_uri + "/"
            if wanted not in self.reports_uris:
                raise FamilyNotFound(
                    f"{reports_uri!r} is not one of the reports URIs configured in {self.setting}; add it there"
                )
            return wanted
        for uri in self.reports_uris:
            bucket, prefix = _split(uri)
            if self._holds_family(bucket, prefix + family):
                return uri
        raise FamilyNotFound(
            f"No model family {family!r} under {', '.join(self.reports_uris) or 'any URI'} (configured in "
            f"{self.setting})"
        )

    def record(self, reports_uri: str, family: str) -> dict[str, Any]:
        """The family record as stored (an empty record when there is none yet)."""
        bucket, prefix = _split(reports_uri)
        body = self._get(bucket, f"{prefix}{family}/{RECORD}")
        return json.loads(body) if body is not None else {"family": family}

    def events(self, reports_uri: str, family: str, last: int | None = None) -> list[dict[str, Any]]:
        """The decision log, oldest first (only the ``last`` events when given)."""
        bucket, prefix = _split(reports_uri)
        keys = self._keys(bucket, f"{prefix}{family}/{LOG}")
        keys = keys[-last:] if last else keys
        return [json.loads(body) for key in keys if (body := self._get(bucket, key)) is not None]

    def report(self, reports_uri: str, family: str, path: str) -> Report | None:
        """A decision report (``<ds>/decision.html`` or ``.json``) of the family, None when absent."""
        match = REPORT.match(path)
        if not match:
            return None
        bucket, prefix = _split(reports_uri)
        body = self._get(bucket, f"{prefix}{family}/{path}")
        return None if body is None else Report(body, CONTENT_TYPES[match.group(1)])

    def _holds_family(self, bucket: str, folder: str) -> bool:
        return self._has(bucket, f"{folder}/{RECORD}") or bool(self._keys(bucket, f"{folder}/{LOG}", 1))

    def _folders(self, bucket: str, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Prefix"][len(prefix) :].rstrip("/")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            for item in page.get("CommonPrefixes", [])
        )

    def _keys(self, bucket: str, prefix: str, limit: int | None = None) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        config = {"MaxItems": limit} if limit else {}
        pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=config)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def _has(self, bucket: str, key: str) -> bool:
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def _get(self, bucket: str, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as error:
            if _missing(error):
                return None
            raise


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")
