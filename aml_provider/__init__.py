"""Apache Airflow provider for Amazon Machine Learning, with a local Amazon ML service."""

from __future__ import annotations

__version__ = "0.1.0"
