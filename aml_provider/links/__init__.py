"""Extra links to Amazon Machine Learning entities."""

from __future__ import annotations

from aml_provider.links.aml import (
    AmlBatchPredictionLink,
    AmlDataSourceLink,
    AmlEvaluationLink,
    AmlLink,
    AmlMLModelLink,
)

__all__ = [
    "AmlBatchPredictionLink",
    "AmlDataSourceLink",
    "AmlEvaluationLink",
    "AmlLink",
    "AmlMLModelLink",
]
