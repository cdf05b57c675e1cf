"""Extra links to Amazon Machine Learning entities."""

from __future__ import annotations

from aml_provider.links.aml import (
    AmlBatchPredictionLink,
    AmlDataSourceLink,
    AmlEvaluationLink,
    AmlLink,
    AmlMLModelLink,
)
from aml_provider.links.family_page import AmlFamilyPageLink

__all__ = [
    "AmlBatchPredictionLink",
    "AmlDataSourceLink",
    "AmlEvaluationLink",
    "AmlFamilyPageLink",
    "AmlLink",
    "AmlMLModelLink",
]
