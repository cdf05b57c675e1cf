"""
Operators for a model family: plan fresh data, check it, decide, promote, roll back, clean up.

They are thin over :mod:`aml_provider.family`, whose record (one S3 object per family, changed by
compare-and-set writes) is the single source of truth; tags and endpoints are its projections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowSkipException

from aml_provider.family import retrain
from aml_provider.family.model_family import ModelFamily
from aml_provider.family.record import iso, now
from aml_provider.family.serving import Writer
from aml_provider.links.family import AmlDecisionReportLink
from aml_provider.links.family_page import AmlFamilyPageLink
from aml_provider.operators.base import AmlBaseOperator
from aml_provider.utils.documents import as_dict, as_list

if TYPE_CHECKING:
    from airflow.sdk import Context

#: ``expected_champion`` value that promotes over whichever champion there is.
ANY = "any"


class AmlFamilyMixin:
    """
    What every family operator has: the family and where its record, log and reports live.

    :param family: the family's name (no ``/``). (templated)
    :param reports_uri: S3 prefix of the families' records, decision logs and reports. (templated)
    """

    family: str
    reports_uri: str

    @cached_property
    def s3(self) -> Any:
        operator: Any = self  # an AwsBaseOperator: it has the hook and its parameters
        return S3Hook(**operator._hook_parameters).get_conn()

    @property
    def models(self) -> ModelFamily:
        operator: Any = self
        return ModelFamily(operator.hook, self.s3, self.reports_uri, self.family)


def run_facts(context: Context) -> dict[str, str]:
    """The run as the family's log names it: DAG, run ID, logical date and its ``ds``."""
    dag_run = context["dag_run"]
    moment = dag_run.logical_date or dag_run.run_after
    return {
        "dag_id": dag_run.dag_id,
        "run_id": dag_run.run_id,
        "logical_date": moment.isoformat(),
        "ds": moment.strftime("%Y-%m-%d"),
    }


def data_interval(context: Context) -> tuple[dt.datetime, dt.datetime]:
    """The run's data interval; a point (Airflow 3's cron default) becomes the day it starts."""
    dag_run = context["dag_run"]
    start = dag_run.data_interval_start or dag_run.logical_date or dag_run.run_after
    end = dag_run.data_interval_end or start
    return (start, end) if end > start else (start, start + dt.timedelta(days=1))


class AmlFamilyOperator(AmlFamilyMixin, AmlBaseOperator):
    """Base of the family operators that do not wait."""

    template_fields: Sequence[str] = aws_template_fields("family", "reports_uri")

    def __init__(self, *, family: str, reports_uri: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family
        self.reports_uri = reports_uri


class AmlFindChampionOperator(AmlFamilyOperator):
    """
    Return the family's champion model ID from its record (None, or a skip, when it has none yet).

    :param skip_if_none: skip this task (and what depends on it) when there is no champion.
    """

    def __init__(self, *, skip_if_none: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_if_none = skip_if_none

    def execute(self, context: Context) -> str | None:
        champion = self.models.champion()
        self.log.info("Champion of %s: %s", self.family, champion or "none yet")
        if champion is None and self.skip_if_none:
            raise AirflowSkipException(f"Model family {self.family!r} has no champion yet")
        return champion


class AmlPlanRetrainOperator(AmlFamilyOperator):
    """
    Choose the run's evaluation partition(s) and training window, and assemble them by S3 copies.

    Skips the run (after logging the decision) when the champion already trained on the whole window.

    :param data_uri: S3 prefix the partitions land under. (templated)
    :param partition_template: ``strftime`` pattern of a partition below it (``ds=%Y-%m-%d/``). (templated)
    :param training_window: partitions before the evaluation one to train on; 0 = all. (templated)
    :param work_uri: S3 prefix for the run's assembled copies. (templated)
    :param missing_partition: ``fail`` (default) or ``skip`` when the run's partition has not landed.
        (templated)
    :param holdout_percent: for data without dated partitions: above 0, every file under ``data_uri``
        is split by a hash of each row (seeded by the family), this share going to evaluation. (templated)
    :param schema_uri: the data's schema (whether files have a header line), for the hold-out. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields(
        "family",
        "reports_uri",
        "data_uri",
        "partition_template",
        "training_window",
        "work_uri",
        "missing_partition",
        "holdout_percent",
        "schema_uri",
    )

    def __init__(
        self,
        *,
        data_uri: str,
        work_uri: str,
        partition_template: str = "ds=%Y-%m-%d/",
        training_window: int | str = 7,
        missing_partition: str = "fail",
        holdout_percent: float | str = 0,
        schema_uri: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.missing_partition = missing_partition
        self.holdout_percent = holdout_percent
        self.schema_uri = schema_uri
        self.data_uri = data_uri
        self.work_uri = work_uri
        self.partition_template = partition_template
        self.training_window = training_window

    def execute(self, context: Context) -> dict[str, Any]:
        plan = retrain.plan(
            self.models,
            run=run_facts(context),
            data_uri=self.data_uri,
            template=self.partition_template,
            interval=data_interval(context),
            training_window=int(self.training_window),
            work_uri=self.work_uri,
            skip_missing=self.missing_partition == "skip",
            holdout=self.holdout(),
        )
        self.log.info(
            "Evaluating on %s; training on %s", plan["evaluation_partitions"], plan["training_partitions"]
        )
        if plan["skip_reason"]:
            raise AirflowSkipException(f"Not retraining {self.family}: {plan['skip_reason']}")
        return plan

    def holdout(self) -> dict[str, Any] | None:
        percent = float(self.holdout_percent or 0)
        if percent <= 0:
            return None
        if not self.schema_uri:
            raise ValueError(
                "schema_uri is required with holdout_percent (it says whether files have a header)"
            )
        header = retrain.read_schema(self.s3, self.schema_uri).get("dataFileContainsHeader", False)
        return {"percent": percent, "header": bool(header)}


class AmlCheckDataOperator(AmlFamilyOperator):
    """
    Check the fresh partition and the training window before training; a failing check skips the rest.

    :param plan: what :class:`AmlPlanRetrainOperator` returned. (templated)
    :param schema_uri: S3 URI of the data's Amazon ML schema. (templated)
    :param checks: check name -> ``warn``, ``fail`` or ``off``. (templated)
    :param min_rows: the fewest rows training and evaluation may have. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields(
        "family", "reports_uri", "plan", "schema_uri", "checks", "min_rows"
    )

    def __init__(
        self,
        *,
        plan: Any,
        schema_uri: str,
        checks: dict[str, str] | str | None = None,
        min_rows: int | str = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.schema_uri = schema_uri
        self.checks = checks
        self.min_rows = min_rows

    def execute(self, context: Context) -> list[dict[str, Any]]:
        result = retrain.check(
            self.models,
            run=run_facts(context),
            plan=as_dict(self.plan, "plan") or {},
            schema=retrain.read_schema(self.s3, self.schema_uri),
            settings=as_dict(self.checks, "checks"),
            min_rows=int(self.min_rows),
        )
        for item in result["checks"]:
            log = self.log.warning if item["status"] != "pass" else self.log.info
            log("Check %s: %s (%s)", item["name"], item["status"], item["message"])
        if not result["passed"]:
            raise AirflowSkipException("A data check failed: the challenger is not trained (see the report)")
        return result["checks"]


class AmlDecideOperator(AmlFamilyOperator):
    """
    Compare challenger and champion on the same unseen rows and decide: promote, keep or reject.

    Writes ``decision.json``/``decision.html`` and a decision log event, registers the challenger as a
    family member (with the evidence its decision cites) and returns the decision.

    :param plan: what :class:`AmlPlanRetrainOperator` returned. (templated)
    :param schema_uri: S3 URI of the data's Amazon ML schema. (templated)
    :param model_type: BINARY, MULTICLASS or REGRESSION. (templated)
    :param contestants: ``{"role", "ml_model_id", "output_uri"}`` each. (templated)
    :param batch_prediction_ids: the contestants' batch predictions on the evaluation data, in the
        same order. (templated)
    :param evaluations: the Amazon ML evaluations of the contestants on the same data. (templated)
    :param data_checks: what :class:`AmlCheckDataOperator` returned. (templated)
    :param data_sources: the run's data source IDs (kept as evidence). (templated)
    :param extra_evidence: more entity IDs the decision cites, by kind (``ml_models``, ``evaluations``):
        the candidates that lost and their validation. (templated)
    :param rules: ``min_improvement``, ``confidence``, ``floor``, ``min_rows``. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields(
        "family",
        "reports_uri",
        "plan",
        "schema_uri",
        "model_type",
        "contestants",
        "batch_prediction_ids",
        "evaluations",
        "data_checks",
        "data_sources",
        "extra_evidence",
        "rules",
    )
    operator_extra_links = (AmlDecisionReportLink(), AmlFamilyPageLink())

    def __init__(
        self,
        *,
        plan: Any,
        schema_uri: str,
        model_type: str,
        contestants: Any,
        batch_prediction_ids: Any,
        evaluations: Any,
        rules: Any,
        data_checks: Any = None,
        data_sources: Any = (),
        extra_evidence: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.extra_evidence = extra_evidence
        self.plan = plan
        self.schema_uri = schema_uri
        self.model_type = model_type
        self.contestants = contestants
        self.batch_prediction_ids = batch_prediction_ids
        self.evaluations = evaluations
        self.rules = rules
        self.data_checks = data_checks
        self.data_sources = data_sources

    def execute(self, context: Context) -> dict[str, Any]:
        outcome = retrain.decide(
            self.models,
            run=run_facts(context),
            plan=as_dict(self.plan, "plan") or {},
            schema=retrain.read_schema(self.s3, self.schema_uri),
            model_type=str(self.model_type),
            contestants=[
                {**contestant, "batch_prediction_id": batch_id}
                for contestant, batch_id in zip(
                    _listed(self.contestants, "contestants"),
                    _listed(self.batch_prediction_ids, "batch_prediction_ids"),
                    strict=True,
                )
            ],
            evaluations=_listed(self.evaluations, "evaluations"),
            checks=_listed(self.data_checks, "data_checks"),
            data_sources=[str(i) for i in _listed(self.data_sources, "data_sources")],
            rules=as_dict(self.rules, "rules") or {},
            extra_evidence=as_dict(self.extra_evidence, "extra_evidence") or {},
        )
        url = AmlDecisionReportLink.persist_report(context, self, self.s3, outcome["report_uri"])
        self.log.info("Decision: %s (%s). Report: %s", outcome["action"], outcome["reason"], url)
        return outcome


def _listed(value: Any, field: str) -> list[Any]:
    """A templated list, also when it arrives as text or as the lazy sequence of a mapped task's XCom."""
    if value is None or isinstance(value, str | list | tuple):
        return list(as_list(value, field) or [])
    return [value[index] for index in range(len(value))]  # by index: iterating reads one past the end


class AmlCleanupOperator(AmlFamilyOperator):
    """
    Repair the family's projections, remove drained endpoints, and delete what retention lets go.

    Keeps the newest ``keep_runs`` members (models that retrain runs produced), the champion, the
    previous champion, challengers of other runs still on their way to promotion and every entity their
    decisions cite; the decision log is never touched. Its own run's challenger is settled: past promotion.
    Returns the deleted (or, with ``dry_run``, the deletable) IDs by kind.

    :param keep_runs: how many of the newest members to keep. (templated)
    :param list_only: a dry run: only list what would be deleted. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("family", "reports_uri", "keep_runs", "list_only")

    def __init__(self, *, keep_runs: int | str = 3, list_only: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_runs = keep_runs
        self.list_only = list_only

    def execute(self, context: Context) -> dict[str, list[str]]:
        ti = context["ti"]
        dry_run = str(self.list_only).lower() in ("true", "1", "yes")
        if not dry_run:
            self.models.serving(Writer(owner=f"{ti.dag_id}/{ti.run_id}/{ti.task_id}")).reconcile()
        plan = self.models.cleanup(int(self.keep_runs), dry_run=dry_run, own_run=(ti.dag_id, ti.run_id))
        for kind, ids in plan.items():
            for entity_id in ids:
                self.log.info("%s %s %s", "Would delete" if dry_run else "Deleted", kind, entity_id)
        if not dry_run and any(plan.values()):
            self.models.log.append("cleanup", ti.run_id, deleted=plan, at_time=iso(now()))
        return plan
