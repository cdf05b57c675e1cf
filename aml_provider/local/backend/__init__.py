"""The 28 Amazon ML operations: semantic checks, idempotency, entity documents, Describe, tags, endpoints."""

from __future__ import annotations

from aml_provider.local.backend.service import OPERATIONS, Backend

__all__ = ["OPERATIONS", "Backend"]
