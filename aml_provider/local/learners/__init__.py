"""Learning: training parameters, linear models (L-BFGS or SGD) over cached sparse features, metrics, reports."""

from __future__ import annotations

from aml_provider.local.learners.cache import FeatureCache
from aml_provider.local.learners.lbfgs import train_lbfgs, train_linear
from aml_provider.local.learners.metrics import (
    METRIC_NAMES,
    binary_auc,
    multiclass_avg_fscore,
    performance_metrics,
    regression_rmse,
)
from aml_provider.local.learners.parameters import TrainingParameters, parse_training_parameters
from aml_provider.local.learners.report import evaluation_report
from aml_provider.local.learners.sgd import BINARY, MULTICLASS, REGRESSION, LinearModel, train_sgd

__all__ = [
    "BINARY",
    "METRIC_NAMES",
    "MULTICLASS",
    "REGRESSION",
    "FeatureCache",
    "LinearModel",
    "TrainingParameters",
    "binary_auc",
    "evaluation_report",
    "multiclass_avg_fscore",
    "parse_training_parameters",
    "performance_metrics",
    "regression_rmse",
    "train_lbfgs",
    "train_linear",
    "train_sgd",
]
