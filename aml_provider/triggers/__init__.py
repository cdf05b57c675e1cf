"""Triggers that wait for Amazon Machine Learning entities in the triggerer."""

from __future__ import annotations

from aml_provider.triggers.aml import (
    AmlBatchPredictionCompletedTrigger,
    AmlDataSourceCompletedTrigger,
    AmlEntityCompletedTrigger,
    AmlEvaluationCompletedTrigger,
    AmlMLModelCompletedTrigger,
    AmlRealtimeEndpointDeletedTrigger,
    AmlRealtimeEndpointReadyTrigger,
    AmlRealtimeEndpointTrigger,
)

__all__ = [
    "AmlBatchPredictionCompletedTrigger",
    "AmlDataSourceCompletedTrigger",
    "AmlEntityCompletedTrigger",
    "AmlEvaluationCompletedTrigger",
    "AmlMLModelCompletedTrigger",
    "AmlRealtimeEndpointDeletedTrigger",
    "AmlRealtimeEndpointReadyTrigger",
    "AmlRealtimeEndpointTrigger",
]
