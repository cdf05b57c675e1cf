"""The entity store: DataSources, MLModels, Evaluations, BatchPredictions and their tags in SQLite."""

from __future__ import annotations

from aml_provider.local.store.entities import COMPARISONS, EntityStore, SortKey, StoredEntity, now

__all__ = ["COMPARISONS", "EntityStore", "SortKey", "StoredEntity", "now"]
