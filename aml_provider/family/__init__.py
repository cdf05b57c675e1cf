"""
Model families: the champion and its challengers, kept in one record per family.

``layout`` (where a family lives in S3; it imports no Airflow, so the pages read it too),
``record`` (the single source of truth, compare-and-set in S3), ``serving`` (promotion and rollback
as resumable steps), ``partitions`` (fresh data by data interval), ``checks``, ``evidence`` and
``decision`` (data checks, the paired comparison, the gates), ``report`` and ``log`` (decision
reports and the append-only decision log), ``retention`` (clean-up that keeps evidence), and
``model_family`` (membership, tags and rollback choices). Import from the modules themselves.
"""
