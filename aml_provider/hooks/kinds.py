"""The four kinds of Amazon ML entity, as the API, boto3 and this provider name them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_machinelearning.literals import TaggableResourceTypeType

#: Statuses an entity never leaves and that mean it cannot be used.
FAILED_STATES = ("FAILED", "DELETED")


@dataclass(frozen=True)
class EntityKind:
    """How one kind of Amazon ML entity is named in the API, in boto3 and in this provider."""

    name: (
        TaggableResourceTypeType  # ResourceType in the API: DataSource, MLModel, Evaluation, BatchPrediction
    )
    label: str  # for messages
    prefix: str  # of generated IDs
    snake: str  # boto3 method stem: get_<snake>, delete_<snake>, update_<snake>

    @property
    def id_key(self) -> str:
        return f"{self.name}Id"

    @property
    def name_key(self) -> str:
        return f"{self.name}Name"

    @property
    def id_param(self) -> str:
        """Name of the ID argument of this provider's operators, sensors and triggers."""
        return f"{self.snake}_id"

    @property
    def waiter(self) -> str:
        return f"{self.snake}_completed"

    def describe(self, entity_id: str) -> str:
        """How messages name one entity: ``Amazon ML data source ds-1``."""
        return f"Amazon ML {self.label} {entity_id}"


DATA_SOURCE = EntityKind("DataSource", "data source", "ds", "data_source")
ML_MODEL = EntityKind("MLModel", "model", "ml", "ml_model")
EVALUATION = EntityKind("Evaluation", "evaluation", "ev", "evaluation")
BATCH_PREDICTION = EntityKind("BatchPrediction", "batch prediction", "bp", "batch_prediction")
KINDS: dict[str, EntityKind] = {
    kind.name: kind for kind in (DATA_SOURCE, ML_MODEL, EVALUATION, BATCH_PREDICTION)
}


def entity_kind(name: str | EntityKind) -> EntityKind:
    """Look up an entity kind by its API ResourceType name."""
    if isinstance(name, EntityKind):
        return name
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"resource_type must be one of {', '.join(KINDS)}, not {name!r}") from None


def failure_message(kind: EntityKind, entity: Mapping[str, Any]) -> str:
    """Explain why an entity ended FAILED or DELETED, with Amazon ML's Message and LogUri."""
    reason = entity.get("Message") or (
        "it was deleted" if entity.get("Status") == "DELETED" else "no message"
    )
    log_uri = entity.get("LogUri")
    where = f" (log: {log_uri})" if log_uri else ""
    return f"{kind.describe(entity.get(kind.id_key, '?'))} ended {entity.get('Status')}: {reason}{where}"
