"""The SQLite tables of the entity store and the indexed columns derived from an entity's document."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row per DataSource, MLModel, Evaluation and BatchPrediction. `document` holds the API fields;
#: the other columns copy the fields Describe filters and sorts by, so it can use an index.
entities = sa.Table(
    "entities",
    metadata,
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_updated_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("data_uri", sa.String),
    sa.Column("model_id", sa.String),
    sa.Column("data_source_id", sa.String),
    sa.Column("model_type", sa.String),
    sa.Column("algorithm", sa.String),
    sa.Column("endpoint_status", sa.String),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("request", sa.Text, nullable=False),
)

# Each index ends with the tie-breakers of Describe's sort order, so a page is read straight off it.
sa.Index("ix_entities_created_at", entities.c.kind, entities.c.created_at, entities.c.id)
for _column in (
    "last_updated_at",
    "status",
    "name",
    "created_by",
    "data_uri",
    "model_id",
    "data_source_id",
    "model_type",
    "algorithm",
    "endpoint_status",
):
    sa.Index(
        f"ix_entities_{_column}", entities.c.kind, entities.c[_column], entities.c.created_at, entities.c.id
    )

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String),
)

#: Columns Describe may filter and sort by.
FILTER_COLUMNS = frozenset(
    {
        "status",
        "name",
        "created_at",
        "last_updated_at",
        "created_by",
        "data_uri",
        "model_id",
        "data_source_id",
        "model_type",
        "algorithm",
        "endpoint_status",
    }
)

_DATA_SOURCE_ID_FIELDS = ("TrainingDataSourceId", "EvaluationDataSourceId", "BatchPredictionDataSourceId")


def index_columns(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """The indexed columns of an entity, read from its API document."""
    return {
        "status": document["Status"],
        "name": document.get("Name", ""),
        "created_at": document["CreatedAt"],
        "last_updated_at": document["LastUpdatedAt"],
        "created_by": document["CreatedByIamUser"],
        "data_uri": document.get("DataLocationS3") or document.get("InputDataLocationS3"),
        "model_id": document.get("MLModelId") if kind != "MLModel" else None,
        "data_source_id": next((document[f] for f in _DATA_SOURCE_ID_FIELDS if f in document), None),
        "model_type": document.get("MLModelType"),
        "algorithm": "sgd" if kind == "MLModel" else None,
        "endpoint_status": document.get("EndpointInfo", {}).get("EndpointStatus"),
    }
