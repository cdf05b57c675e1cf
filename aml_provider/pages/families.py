"""Model families as the provider keeps them in S3 (``aml_provider.family.layout``), found and read for the pages."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from aml_provider.family.layout import (
    CONTENT_TYPES,
    LOG_FOLDER,
    RECORD_NAME,
    REPORT_PATH,
    event_keys,
    is_missing,
    list_keys,
    read_bytes,
    read_events,
    split_s3_uri,
)
from aml_provider.pages.family import TREND_RUNS, FamilyData


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
        bucket, prefix = split_s3_uri(reports_uri)
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
            bucket, prefix = split_s3_uri(uri)
            if self._holds_family(bucket, prefix + family):
                return uri
        raise FamilyNotFound(
            f"No model family {family!r} under {', '.join(self.reports_uris) or 'any URI'} (configured in "
            f"{self.setting})"
        )

    def record(self, reports_uri: str, family: str) -> dict[str, Any]:
        """The family record as stored (an empty record when there is none yet)."""
        bucket, prefix = split_s3_uri(reports_uri)
        body = read_bytes(self.client, bucket, f"{prefix}{family}/{RECORD_NAME}")
        return json.loads(body) if body is not None else {"family": family}

    def events(self, reports_uri: str, family: str, last: int | None = None) -> list[dict[str, Any]]:
        """The decision log, oldest first (only the ``last`` events when given)."""
        bucket, prefix = split_s3_uri(reports_uri)
        keys = event_keys(self.client, bucket, f"{prefix}{family}/{LOG_FOLDER}")
        return read_events(self.client, bucket, keys[-last:] if last else keys)

    def summary(self, reports_uri: str, family: str, record: dict[str, Any] | None = None) -> FamilyData:
        """A family as the index shows it: its record and its newest decisions only (all are counted)."""
        bucket, prefix = split_s3_uri(reports_uri)
        keys = event_keys(self.client, bucket, f"{prefix}{family}/{LOG_FOLDER}", "decision")
        events = read_events(self.client, bucket, keys[-TREND_RUNS:])
        record = record if record is not None else self.record(reports_uri, family)
        return FamilyData(family, reports_uri, record, events, decision_count=len(keys))

    def report(self, reports_uri: str, family: str, path: str) -> Report | None:
        """A decision report (``<ds>/decision.html`` or ``.json``) of the family, None when absent."""
        match = REPORT_PATH.match(path)
        if not match:
            return None
        bucket, prefix = split_s3_uri(reports_uri)
        body = read_bytes(self.client, bucket, f"{prefix}{family}/{path}")
        return None if body is None else Report(body, CONTENT_TYPES[match.group(1)])

    def _holds_family(self, bucket: str, folder: str) -> bool:
        return self._has(bucket, f"{folder}/{RECORD_NAME}") or bool(
            list_keys(self.client, bucket, f"{folder}/{LOG_FOLDER}", 1)
        )

    def _folders(self, bucket: str, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Prefix"][len(prefix) :].rstrip("/")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            for item in page.get("CommonPrefixes", [])
        )

    def _has(self, bucket: str, key: str) -> bool:
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return False
            raise
        return True
