"""The Airflow plugin "Amazon ML": model family pages in the Airflow UI (``/amazon-ml/``)."""

from __future__ import annotations

from aml_provider.plugins.amazon_ml import AmazonMlPlugin

__all__ = ["AmazonMlPlugin"]
