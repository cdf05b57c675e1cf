"""Helpers of the Airflow provider: deterministic entity IDs, JSON documents and rendered values, lineage."""

from __future__ import annotations

from aml_provider.utils.documents import as_dict, as_list, json_document
from aml_provider.utils.ids import attempt_id, attempt_ids, entity_id_for, entity_id_from_context
from aml_provider.utils.lineage import s3_dataset_name, s3_lineage

__all__ = [
    "as_dict",
    "as_list",
    "attempt_id",
    "attempt_ids",
    "entity_id_for",
    "entity_id_from_context",
    "json_document",
    "s3_dataset_name",
    "s3_lineage",
]
