"""The entity store's Describe pages: keyset pagination over many entities, against a plain sort."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aml_provider.local.store import EntityStore
from aml_provider.local.store.tables import FILTER_COLUMNS, index_columns

ENTITIES = 600
#: (column, comparisons) pairs that cover every operator, NULL values and ties on the sort column.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("created_at", {}),
    ("created_at", {"GE": 1_000_100.0, "LT": 1_000_400.0}),
    ("created_at", {"EQ": 1_000_042.0}),
    ("last_updated_at", {"NE": 1_000_050.0}),
    ("status", {}),
    ("status", {"EQ": "FAILED"}),
    ("status", {"NE": "DELETED"}),
    ("name", {"Prefix": "name 1"}),
    ("name", {"Prefix": "name", "GT": "name 2", "LE": "name 5"}),
    ("name", {"GT": "name 3"}),
    ("data_uri", {}),
    ("data_uri", {"Prefix": "s3://b/3"}),
    ("data_uri", {"LT": "s3://b/4"}),
    ("created_by", {"EQ": "arn:user/a"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EntityStore]:
    """DataSources with repeated names and creation times, some without a data location (NULL)."""
    store = EntityStore(Path(tmp_path_factory.mktemp("store")) / "state.db")
    rng = random.Random(7)
    for i in range(ENTITIES):
        moment = 1_000_000.0 + rng.randrange(ENTITIES // 2)  # about two entities per creation time
        document: dict[str, Any] = {
            "DataSourceId": f"ds-{rng.randrange(10**9):09d}",
            "CreatedAt": moment,
            "LastUpdatedAt": moment + rng.randrange(3),
            "CreatedByIamUser": rng.choice(["arn:user/a", "arn:user/b"]),
            "Status": rng.choice(["COMPLETED", "FAILED", "DELETED"]),
            "Name": f"name {rng.randrange(ENTITIES // 3)}",
        }
        if i % 5:
            document["DataLocationS3"] = f"s3://b/{rng.randrange(10)}/{i}.csv"
        assert store.insert("DataSource", document["DataSourceId"], document, {})
    store.insert("MLModel", "ml-1", {**document, "MLModelId": "ml-1", "MLModelType": "BINARY"}, {})
    yield store
    store.close()


def everything(store: EntityStore) -> list[dict[str, Any]]:
    documents, _ = store.describe("DataSource", "created_at", {}, limit=10 * ENTITIES)
    return documents


def passes(value: Any, comparisons: dict[str, Any]) -> bool:
    if value is None:
        return not comparisons
    checks = {
        "EQ": value.__eq__,
        "NE": value.__ne__,
        "GT": value.__gt__,
        "GE": value.__ge__,
        "LT": value.__lt__,
        "LE": value.__le__,
        "Prefix": lambda prefix: str(value).startswith(prefix),
    }
    return all(checks[op](operand) for op, operand in comparisons.items())


def expected(
    documents: list[dict[str, Any]], column: str, comparisons: dict[str, Any], descending: bool
) -> list[str]:
    """IDs in SQLite's order: by the column (NULL first), then creation time, then ID."""
    rows = [(index_columns("DataSource", d), d["DataSourceId"]) for d in documents]
    kept = [(c, i) for c, i in rows if passes(c[column], comparisons)]
    kept.sort(key=lambda r: (r[0][column] is not None, r[0][column] or 0, r[0]["created_at"], r[1]))
    return [i for _, i in (kept[::-1] if descending else kept)]


def paged(
    store: EntityStore, column: str, comparisons: dict[str, Any], descending: bool, limit: int
) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        documents, after = store.describe("DataSource", column, comparisons, descending, limit, after)
        assert len(documents) <= limit
        seen += [d["DataSourceId"] for d in documents]
        if after is None:
            return seen
        assert len(documents) == limit


@pytest.mark.parametrize(("column", "comparisons"), QUERIES)
@pytest.mark.parametrize("descending", [False, True])
def test_pages_follow_the_sort_order_without_gaps_or_repeats(
    store: EntityStore, column: str, comparisons: dict[str, Any], descending: bool
) -> None:
    want = expected(everything(store), column, comparisons, descending)
    assert want, "the query should select something"
    for limit in (1, 7, 100):
        assert paged(store, column, comparisons, descending, limit) == want


def test_a_page_ending_exactly_at_the_end_has_no_next_key(store: EntityStore) -> None:
    total = len(everything(store))
    documents, after = store.describe("DataSource", "created_at", {}, limit=total)
    assert len(documents) == total
    assert after is None


def plans(store: EntityStore, column: str, comparisons: dict[str, Any], descending: bool) -> list[str]:
    """SQLite's query plan of every query one page and the next one runs."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        _, after = store.describe("DataSource", column, comparisons, descending, 3)
        store.describe("DataSource", column, comparisons, descending, 3, after)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        return [
            " ".join(str(r[-1]) for r in raw.execute(f"EXPLAIN QUERY PLAN {s}", p)) for s, p in statements
        ]


@pytest.mark.parametrize("column", sorted(FILTER_COLUMNS))
@pytest.mark.parametrize("descending", [False, True])
def test_every_filter_column_is_read_through_an_index_without_sorting(
    store: EntityStore, column: str, descending: bool
) -> None:
    value: Any = 1_000_100.0 if column.endswith("_at") else "x"
    for comparisons in ({}, {"EQ": value}, {"GT": value}, {"LE": value}):
        for plan in plans(store, column, comparisons, descending):
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def test_resumed_pages_start_at_their_key_not_at_the_filter_bound(store: EntityStore) -> None:
    for comparisons, descending in (
        ({"Prefix": "name"}, False),
        ({"LT": "name 9"}, True),
        ({"EQ": "FAILED"}, False),
    ):
        column = "status" if "EQ" in comparisons else "name"
        resumed = plans(store, column, comparisons, descending)[-1]
        assert ">(" in resumed or "<(" in resumed, resumed
