"""
Promotion and rollback of a family's champion: record the change, mount the endpoint, then commit.

The family record (:mod:`aml_provider.family.serving`) makes each switch resumable: a crash at any step
is completed or reverted by the next attempt or run, and one writer acts on a family at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowSkipException

from aml_provider.family.serving import ChampionChanged, Writer
from aml_provider.links.family_page import AmlFamilyPageLink
from aml_provider.operators.base import AmlWaitingOperator
from aml_provider.operators.family import AmlFamilyMixin, run_facts
from aml_provider.triggers.aml import AmlRealtimeEndpointReadyTrigger
from aml_provider.utils.documents import as_dict

if TYPE_CHECKING:
    from airflow.sdk import Context

#: ``expected_champion`` value that promotes over whichever champion there is.
ANY = "any"


class AmlChampionSwitchOperator(AmlFamilyMixin, AmlWaitingOperator):
    """
    Base of promotion and rollback: record the change, mount the endpoint (deferrable wait), then commit.

    :param smoke_record: a record to predict once the endpoint is READY (None skips it). (templated)
    :param score_threshold: the new champion's ScoreThreshold; None carries the current one over. (templated)
    :param endpoint_grace: seconds the old champion's endpoint stays up for traffic still using it.
    :param lease: seconds another run must wait before taking over an unfinished change.
    """

    template_fields: Sequence[str] = aws_template_fields(
        "family", "reports_uri", "ml_model_id", "smoke_record", "score_threshold", "endpoint_grace"
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"smoke_record": "json"}
    trigger_class = AmlRealtimeEndpointReadyTrigger
    operator_extra_links = (AmlFamilyPageLink(),)
    op: ClassVar[str]

    def __init__(
        self,
        *,
        family: str,
        reports_uri: str,
        ml_model_id: str | None = None,
        smoke_record: dict[str, Any] | str | None = None,
        score_threshold: float | str | None = None,
        endpoint_grace: float | str = 600,
        lease: float = 1800,
        waiter_delay: float = 10,
        waiter_max_attempts: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(waiter_delay=waiter_delay, waiter_max_attempts=waiter_max_attempts, **kwargs)
        self.family = family
        self.reports_uri = reports_uri
        self.ml_model_id = ml_model_id
        self.smoke_record = smoke_record
        self.score_threshold = score_threshold
        self.endpoint_grace = endpoint_grace
        self.lease = lease

    def writer(self, context: Context) -> Writer:
        ti = context["ti"]
        return Writer(
            owner=f"{ti.dag_id}/{ti.run_id}/{ti.task_id}",
            run_id=ti.run_id,
            lease=dt.timedelta(seconds=self.lease),
            grace=dt.timedelta(seconds=float(self.endpoint_grace)),
        )

    def target(self) -> str:
        """The model that becomes champion."""
        raise NotImplementedError

    def expected(self) -> str | None:
        """The champion the change was decided against."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        self.context = context
        target = self.target()
        threshold = None if self.score_threshold in (None, "", "None") else float(self.score_threshold)
        try:
            started = self.models.serving(self.writer(context)).begin(
                self.op, target, self.expected(), threshold
            )
        except ChampionChanged as error:
            self.models.log.append("superseded", context["dag_run"].run_id, reason=str(error))
            raise AirflowSkipException(str(error)) from error
        if not started:
            self.log.info("%s is already the champion of %s", target, self.family)
            return {"champion": target, "previous": self.models.record().previous, "prediction": None}
        return self.finish(target)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        self.context = context
        return super().execute_complete(context, event)

    def is_done(self, entity_id: str) -> bool:
        return self.hook.endpoint_status(entity_id) == "READY"

    def wait(self, entity_id: str) -> None:
        self.hook.wait_for_endpoint(
            entity_id, waiter_delay=self.waiter_delay, waiter_max_attempts=self.waiter_max_attempts
        )

    def result(self, entity_id: str) -> dict[str, Any]:
        """The endpoint is READY: smoke prediction, pointer moved, tags; then the log event."""
        context = self.context
        smoke = as_dict(self.smoke_record, "smoke_record") or None
        outcome = self.models.serving(self.writer(context)).commit(entity_id, smoke)
        facts = run_facts(context)
        self.models.log.append(
            "promotion" if self.op == "promote" else "rollback",
            facts["run_id"],
            ml_model_id=entity_id,
            previous=outcome["previous"],
            logical_date=facts["logical_date"],
        )
        self.log.info("%s is the champion of %s (previous: %s)", entity_id, self.family, outcome["previous"])
        return outcome


class AmlPromoteMLModelOperator(AmlChampionSwitchOperator):
    """
    Make a model the family's champion (exactly one champion at every instant, resumable at every step).

    Returns ``{"champion", "previous", "prediction"}``. Emits an event on its outlets (the family's
    champion Asset) with the model ID, the run and the metric.

    :param ml_model_id: the model to promote. (templated)
    :param expected_champion: the champion the decision was made against (None: there was none); if the
        record names another by now, the task skips instead of promoting blindly. ``"any"`` (default)
        promotes over whichever champion there is. (templated)
    :param metric: the decision's metric, for the Asset event. (templated)
    """

    template_fields: Sequence[str] = (
        *AmlChampionSwitchOperator.template_fields,
        "expected_champion",
        "metric",
    )
    op = "promote"

    def __init__(self, *, expected_champion: str | None = ANY, metric: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expected_champion = expected_champion
        self.metric = metric

    def target(self) -> str:
        if not self.ml_model_id:
            raise ValueError("ml_model_id is required to promote a model")
        return str(self.ml_model_id)

    def expected(self) -> str | None:
        if self.expected_champion == ANY:
            return self.models.champion()
        return None if self.expected_champion in (None, "", "None") else str(self.expected_champion)

    def result(self, entity_id: str) -> dict[str, Any]:
        outcome = super().result(entity_id)
        for outlet in self.outlets:
            self.context["outlet_events"][outlet].extra = {
                "ml_model_id": entity_id,
                "family": self.family,
                "run_id": self.context["dag_run"].run_id,
                "metric": self.metric,
            }
        return outcome


class AmlRollbackMLModelOperator(AmlChampionSwitchOperator):
    """
    Bring back any retained model of the family (default: the previous champion), as safely as a promotion.

    Returns ``{"champion", "previous", "prediction"}``; the model it replaced becomes the previous champion.

    :param ml_model_id: the model to roll back to; empty for the previous champion. A model that is not
        a retained member fails the task with the valid choices listed. (templated)
    """

    op = "rollback"

    def target(self) -> str:
        return self.models.rollback_target(str(self.ml_model_id or "") or None)

    def expected(self) -> str | None:
        return self.models.champion()
