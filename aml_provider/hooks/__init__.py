"""Hook for Amazon Machine Learning and the entity kinds it works with."""

from __future__ import annotations

from aml_provider.hooks.aml import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    ENDPOINT_WAITER,
    ENDPOINT_WAITERS,
    EVALUATION,
    FAILED_STATES,
    KINDS,
    METRICS,
    ML_MODEL,
    AmlError,
    AmlHook,
    EntityKind,
    entity_kind,
    failure_message,
)

__all__ = [
    "AmlError",
    "AmlHook",
    "BATCH_PREDICTION",
    "DATA_SOURCE",
    "ENDPOINT_WAITER",
    "ENDPOINT_WAITERS",
    "EVALUATION",
    "EntityKind",
    "FAILED_STATES",
    "KINDS",
    "METRICS",
    "ML_MODEL",
    "entity_kind",
    "failure_message",
]
