"""
Model families: the champion and its challengers, kept in one record per family.

``record`` (the single source of truth, compare-and-set in S3), ``serving`` (promotion and rollback
as resumable steps), ``partitions`` (fresh data by data interval), ``checks``, ``evidence`` and
``decision`` (data checks, the paired comparison, the gates), ``report`` and ``log`` (decision
reports and the append-only decision log), ``retention`` (clean-up that keeps evidence), and
``dags`` (the DAG factory the shipped DAGs are built with).
"""

from __future__ import annotations

from aml_provider.family.model_family import ModelFamily
from aml_provider.family.record import FamilyBusy, FamilyRecord, FamilyStore
from aml_provider.family.serving import CHAMPION, PREVIOUS, RETIRED, ChampionChanged, Serving, Writer

__all__ = [
    "CHAMPION",
    "PREVIOUS",
    "RETIRED",
    "ChampionChanged",
    "FamilyBusy",
    "FamilyRecord",
    "FamilyStore",
    "ModelFamily",
    "Serving",
    "Writer",
]
