"""
Operators for a family of models: find the champion, promote a challenger, roll back, clean up.

See :mod:`aml_provider.champion` for how a family and its roles are kept in Amazon ML's tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from aml_provider.champion import CHAMPION, ModelFamily
from aml_provider.operators.aml import AmlBaseOperator
from aml_provider.utils.documents import as_dict

if TYPE_CHECKING:
    from airflow.sdk import Context


class AmlModelFamilyOperator(AmlBaseOperator):
    """
    Base of the model-family operators.

    :param family: the family's name (entities are named ``<family>/<run id>/<part>``). (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("family")

    def __init__(self, *, family: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family

    @property
    def models(self) -> ModelFamily:
        return ModelFamily(self.hook, self.family)


class AmlFindChampionOperator(AmlModelFamilyOperator):
    """Return the ID of the family's champion model, or None when it has none yet."""

    def execute(self, context: Context) -> str | None:
        champion = self.models.holder(CHAMPION)
        self.log.info("Champion of %s: %s", self.family, champion or "none yet")
        return champion


class AmlEndpointSwitchOperator(AmlModelFamilyOperator):
    """
    Base of the operators that move the champion's real-time endpoint to another model.

    :param smoke_record: a record to predict once the new endpoint is READY (None skips it). (templated)
    :param waiter_delay: seconds between endpoint status checks.
    :param waiter_max_attempts: endpoint status checks before giving up.
    """

    template_fields: Sequence[str] = aws_template_fields("family", "smoke_record")
    template_fields_renderers: ClassVar[dict[str, str]] = {"smoke_record": "json"}

    def __init__(
        self,
        *,
        smoke_record: dict[str, Any] | None = None,
        waiter_delay: float = 30,
        waiter_max_attempts: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.smoke_record = smoke_record
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts


class AmlPromoteMLModelOperator(AmlEndpointSwitchOperator):
    """
    Make a model the family's champion.

    Mounts its real-time endpoint, waits until it is READY, checks it with a smoke prediction, then
    moves the tags (the old champion becomes the previous champion) and removes the old endpoint.
    Returns ``{"champion", "previous", "prediction"}``.

    :param ml_model_id: the model to promote. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("family", "ml_model_id", "smoke_record")

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.models.promote(
            self.ml_model_id,
            as_dict(self.smoke_record, "smoke_record"),
            waiter_delay=self.waiter_delay,
            waiter_max_attempts=self.waiter_max_attempts,
        )
        self.log.info(
            "Promoted %s to champion of %s (previous: %s)", self.ml_model_id, self.family, result["previous"]
        )
        return result


class AmlRollbackMLModelOperator(AmlEndpointSwitchOperator):
    """
    Bring back the family's previous champion; the current champion is retired.

    Returns ``{"champion", "retired", "prediction"}``.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.models.rollback(
            as_dict(self.smoke_record, "smoke_record"),
            waiter_delay=self.waiter_delay,
            waiter_max_attempts=self.waiter_max_attempts,
        )
        self.log.info(
            "Rolled %s back to %s (retired: %s)", self.family, result["champion"], result["retired"]
        )
        return result


class AmlCleanupOperator(AmlModelFamilyOperator):
    """
    Delete the family's entities of all but its newest runs; the champion and previous champion stay.

    Returns the deleted IDs by kind.

    :param keep_runs: how many of the newest runs to keep. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("family", "keep_runs")

    def __init__(self, *, keep_runs: int | str = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_runs = keep_runs

    def execute(self, context: Context) -> dict[str, list[str]]:
        deleted = self.models.cleanup(int(self.keep_runs))
        self.log.info("Deleted from %s: %s", self.family, {kind: len(ids) for kind, ids in deleted.items()})
        return deleted
