"""The entity store: entities and their tags in one SQLite file, safe to use from many threads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from aml_provider.local.store.tables import FILTER_COLUMNS, entities, index_columns, metadata, tags

#: Describe comparison operators (the API's names) and what they mean in SQL.
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "EQ": lambda column, value: column == value,
    "NE": lambda column, value: column != value,
    "GT": lambda column, value: column > value,
    "GE": lambda column, value: column >= value,
    "LT": lambda column, value: column < value,
    "LE": lambda column, value: column <= value,
    "Prefix": lambda column, value: sa.and_(*_prefix(column, value)),
}

#: Where a Describe page ends: the sort column's value (absent when it is the creation time), then the
#: creation time and the ID.
SortKey = tuple[Any, ...]

#: Built once: the hot path (Get, Predict's model check) skips building SQL expressions.
_GET = sa.select(entities.c.document, entities.c.request).where(
    entities.c.kind == sa.bindparam("kind"), entities.c.id == sa.bindparam("id")
)


def now() -> float:
    """The current time as the API shows it: epoch seconds with millisecond precision."""
    return round(time.time(), 3)


@dataclass(frozen=True)
class StoredEntity:
    kind: str
    id: str
    document: dict[str, Any]  # the API fields
    request: dict[str, Any]  # the create request as received, passwords removed

    @property
    def status(self) -> str:
        return str(self.document["Status"])


class EntityStore:
    """Entities and tags in `<data_dir>/state.db`; reads run in parallel, writes one at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        sa.event.listen(self.engine, "connect", _configure_connection)
        metadata.create_all(self.engine)
        for index in entities.indexes:  # indexes added since the file was created
            index.create(self.engine, checkfirst=True)
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise unless the database answers a query."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def insert(self, kind: str, entity_id: str, document: dict[str, Any], request: dict[str, Any]) -> bool:
        """Store a new entity; False (nothing written) when the ID is already taken."""
        row = {
            "kind": kind,
            "id": entity_id,
            **index_columns(kind, document),
            "document": json.dumps(document),
            "request": json.dumps(request),
        }
        try:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(entities.insert().values(row))
        except IntegrityError:
            return False
        return True

    def get(self, kind: str, entity_id: str) -> StoredEntity | None:
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"kind": kind, "id": entity_id}).first()
        if row is None:
            return None
        return StoredEntity(kind, entity_id, json.loads(row.document), json.loads(row.request))

    def update(
        self,
        kind: str,
        entity_id: str,
        changes: dict[str, Any],
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any] | None:
        """Merge `changes` into the document (None removes a field) and stamp LastUpdatedAt.

        Nothing is written when the entity is missing or `when(document)` is false; returns the new
        document, or None when nothing was written.
        """
        with self._write_lock, self.engine.begin() as conn:
            key = (entities.c.kind == kind, entities.c.id == entity_id)
            row = conn.execute(sa.select(entities.c.document).where(*key)).first()
            if row is None:
                return None
            document = json.loads(row.document)
            if when is not None and not when(document):
                return None
            document.update(changes)
            document = {name: value for name, value in document.items() if value is not None}
            document["LastUpdatedAt"] = max(now(), document["LastUpdatedAt"])
            conn.execute(
                entities.update()
                .where(*key)
                .values(**index_columns(kind, document), document=json.dumps(document))
            )
        return document

    def describe(
        self,
        kind: str,
        column: str,
        comparisons: dict[str, Any],
        descending: bool = False,
        limit: int = 100,
        after: SortKey | None = None,
    ) -> tuple[list[dict[str, Any]], SortKey | None]:
        """A page of up to `limit` documents of `kind` whose `column` passes every comparison ({"GT": 3,
        ...}), sorted by it (then creation time and ID), from just after the sort key `after`; and the key
        to pass as `after` for the next page (None when this is the last). A page is one range read of the
        column's index (keyset pagination), whatever its position."""
        if column not in FILTER_COLUMNS:
            raise ValueError(f"cannot filter by {column!r}")
        order = list(dict.fromkeys([entities.c[column], entities.c.created_at, entities.c.id]))
        base = sa.select(entities.c.document, *order).order_by(
            *(c.desc() if descending else c for c in order)
        )
        found: list[sa.Row[Any]] = []
        with self.engine.connect() as conn:
            for segment in _segments(order, comparisons, descending, after):
                query = base.where(entities.c.kind == kind, *segment).limit(limit + 1 - len(found))
                found += conn.execute(query).all()
                if len(found) > limit:
                    break
        documents = list(json.loads(f"[{','.join(row[0] for row in found[:limit])}]"))  # one parse
        return documents, (tuple(found[limit - 1][1:]) if len(found) > limit else None)

    def with_status(self, status: str) -> list[StoredEntity]:
        """Every entity in `status`, oldest first."""
        query = (
            sa.select(entities.c.kind, entities.c.id, entities.c.document, entities.c.request)
            .where(entities.c.status == status)
            .order_by(entities.c.created_at, entities.c.id)
        )
        with self.engine.connect() as conn:
            return [
                StoredEntity(row.kind, row.id, json.loads(row.document), json.loads(row.request))
                for row in conn.execute(query)
            ]

    def with_endpoint_status(self, status: str) -> list[StoredEntity]:
        """Every MLModel whose real-time endpoint is in `status`."""
        query = sa.select(entities.c.id, entities.c.document, entities.c.request).where(
            entities.c.kind == "MLModel", entities.c.endpoint_status == status
        )
        with self.engine.connect() as conn:
            return [
                StoredEntity("MLModel", row.id, json.loads(row.document), json.loads(row.request))
                for row in conn.execute(query)
            ]

    def get_tags(self, kind: str, entity_id: str) -> list[tuple[str, str | None]]:
        """The entity's tags as (key, value) pairs, by key."""
        query = (
            sa.select(tags.c.key, tags.c.value)
            .where(tags.c.kind == kind, tags.c.id == entity_id)
            .order_by(tags.c.key)
        )
        with self.engine.connect() as conn:
            return [(row.key, row.value) for row in conn.execute(query)]

    def put_tags(self, kind: str, entity_id: str, new_tags: dict[str, str | None], max_tags: int) -> bool:
        """Add or overwrite tags; False (nothing written) when the entity would end with more than `max_tags`."""
        with self._write_lock, self.engine.begin() as conn:
            key = (tags.c.kind == kind, tags.c.id == entity_id)
            existing = set(conn.execute(sa.select(tags.c.key).where(*key)).scalars())
            if len(existing | new_tags.keys()) > max_tags:
                return False
            if new_tags:
                conn.execute(tags.delete().where(*key, tags.c.key.in_(list(new_tags))))
                conn.execute(
                    tags.insert(),
                    [{"kind": kind, "id": entity_id, "key": k, "value": v} for k, v in new_tags.items()],
                )
        return True

    def delete_tags(self, kind: str, entity_id: str, keys: Iterable[str]) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                tags.delete().where(tags.c.kind == kind, tags.c.id == entity_id, tags.c.key.in_(list(keys)))
            )


def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _segments(
    order: list[Any], comparisons: dict[str, Any], descending: bool, after: SortKey | None
) -> list[list[Any]]:
    """The WHERE terms of the parts of the sorted sequence to read, in order, from `after` on.

    SQLite sorts NULL first, so a column that may be NULL (no comparison excludes it) is read as two
    index ranges: the rows without a value (ordered by the tie-breakers) and those with one.
    """
    column, ties = order[0], order[1:]
    values = _bounds(column, comparisons, after is not None, descending)
    if comparisons or column.name == "created_at":  # no NULL can be among the results
        if after is None:
            return [values]
        if "EQ" in comparisons and ties:
            return [[*values, _beyond(ties, after[1:], descending)]]
        return [[*values, _beyond(order, after, descending)]]
    nulls, present = [column.is_(None)], [column.is_not(None)]
    if after is not None and after[0] is None:
        nulls.append(_beyond(ties, after[1:], descending))
        return [nulls] if descending else [nulls, present]
    if after is not None:
        present.append(_beyond(order, after, descending))
        return [present, nulls] if descending else [present]
    return [present, nulls] if descending else [nulls, present]


def _beyond(columns: list[Any], key: SortKey, descending: bool) -> Any:
    """Rows whose (columns) come after `key` in the sort order: a row-value range an index serves."""
    if len(columns) == 1:
        return columns[0] < key[0] if descending else columns[0] > key[0]
    row, bound = sa.tuple_(*columns), sa.tuple_(*(sa.literal(v) for v in key))
    return row < bound if descending else row > bound


def _bounds(column: Any, comparisons: dict[str, Any], resuming: bool, descending: bool) -> list[Any]:
    """The comparisons as WHERE terms. When resuming after a row that passed them, the bound on the side
    the page starts from is implied by the sort key, so it is left out: SQLite then starts the index
    range at the key rather than at that bound."""
    drop_lower, drop_upper = resuming and not descending, resuming and descending
    terms = []
    for op, value in comparisons.items():
        lower, upper = _BOUND_SIDES[op]
        if op == "Prefix":
            terms += _prefix(column, value, lower=not drop_lower, upper=not drop_upper)
        elif op == "EQ" or not (lower and drop_lower or upper and drop_upper):
            terms.append(COMPARISONS[op](column, value))
    return terms


def _prefix(column: Any, value: str, lower: bool = True, upper: bool = True) -> list[Any]:
    """A range (which an index can serve) plus an exact, case-sensitive test of the start."""
    terms = [sa.func.substr(column, 1, len(value)) == value]
    return terms + [column >= value] * lower + [column < value + "\U0010ffff"] * upper


#: Whether each comparison bounds its column from below, from above.
_BOUND_SIDES = {
    "EQ": (True, True),
    "NE": (False, False),
    "GT": (True, False),
    "GE": (True, False),
    "LT": (False, True),
    "LE": (False, True),
    "Prefix": (True, True),
}
