"""
DAG factories for a model family: retrain, batch scoring and rollback, one call per family.

``retrain_dag`` evaluates each run on the partition of its data interval (rows no model has trained
on), trains the challenger on the window before it, scores both models on the same rows, decides with
a paired, interval-aware comparison and gates, and promotes through the family record; every wait
defers. ``batch_score_dag`` scores with the champion, daily and after each promotion (the family's
champion Asset). ``rollback_dag`` brings back any retained model.
"""

from __future__ import annotations

from aml_provider.pipelines.common import champion_asset
from aml_provider.pipelines.retrain import retrain_dag
from aml_provider.pipelines.serving import batch_score_dag, rollback_dag

__all__ = ["batch_score_dag", "champion_asset", "retrain_dag", "rollback_dag"]
