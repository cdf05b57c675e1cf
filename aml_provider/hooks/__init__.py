"""Hook for Amazon Machine Learning and the entity kinds it works with."""

from __future__ import annotations

from aml_provider.hooks.aml import ENDPOINT_WAITER, ENDPOINT_WAITERS, METRICS, AmlError, AmlHook
from aml_provider.hooks.kinds import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    FAILED_STATES,
    KINDS,
    ML_MODEL,
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
