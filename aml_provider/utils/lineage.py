"""OpenLineage datasets for S3 locations; everything is optional when OpenLineage is not installed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def s3_dataset_name(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into OpenLineage's namespace (``s3://bucket``) and name (the key)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/"


def s3_lineage(inputs: list[str], outputs: list[str] | None = None) -> Any:
    """An ``OperatorLineage`` from S3 URIs, or None when the OpenLineage provider is absent."""
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage(
        inputs=[Dataset(*s3_dataset_name(uri)) for uri in inputs],
        outputs=[Dataset(*s3_dataset_name(uri)) for uri in outputs or []],
    )
