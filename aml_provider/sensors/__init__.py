"""Sensors for Amazon Machine Learning entities and real-time endpoints."""

from __future__ import annotations

from aml_provider.sensors.aml import (
    AmlBaseSensor,
    AmlBatchPredictionCompletedSensor,
    AmlDataSourceCompletedSensor,
    AmlEvaluationCompletedSensor,
    AmlMLModelCompletedSensor,
    AmlRealtimeEndpointReadySensor,
)

__all__ = [
    "AmlBaseSensor",
    "AmlBatchPredictionCompletedSensor",
    "AmlDataSourceCompletedSensor",
    "AmlEvaluationCompletedSensor",
    "AmlMLModelCompletedSensor",
    "AmlRealtimeEndpointReadySensor",
]
