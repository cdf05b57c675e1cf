"""The data path's fast paths against straightforward computations: numbers parsed once per distinct value,
mutual information from a bincount contingency table, numbers read with an invalid-value mask, and the
training cache's batches as views of memory-mapped shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import mutual_info_score

from aml_provider.local.data import DataSourceReader, S3Store, StatisticsBuilder, parse_numeric, parse_schema
from aml_provider.local.data.statistics import _contingency
from aml_provider.local.data.values import is_missing, number
from aml_provider.local.learners import FeatureCache
from tests.helpers import put_text, unique_id
from tests.local.test_data import TRICKY_NUMBERS, schema_text


def per_value(values: np.ndarray) -> np.ndarray:
    return np.array([number(value) for value in values], dtype=np.float64)


@pytest.mark.parametrize(
    "values",
    [
        [f"{k % 97 / 4}" for k in range(5_000)],  # few distinct values: parsed once each
        [f"{k * 0.37:.3f}" for k in range(5_000)],  # all distinct: parsed value by value
        [str(k % 50) for k in range(3_000)] + TRICKY_NUMBERS * 20,  # repeated, some pandas' general path
        ["", " ", "1", "2.5"] * 500,
        [str(k % 9) for k in range(2_000)] + ["\u0663"],  # a non-ASCII digit once, after the first tenth
    ],
)
def test_parse_numeric_equals_a_float_per_value(values: list[str]) -> None:
    array = np.array(values, dtype=object)
    np.testing.assert_array_equal(parse_numeric(array), per_value(array))


def test_parse_numeric_of_repeated_values_with_none_reads_none_as_missing() -> None:
    array = np.array(["1", "2", None, "1"] * 300, dtype=object)
    np.testing.assert_array_equal(parse_numeric(array), np.tile([1.0, 2.0, np.nan, 1.0], 300))


@pytest.mark.parametrize("seed", range(4))
def test_mutual_information_from_bincount_equals_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 4_000)
    codes = (labels * 5 + rng.integers(-1, 7, 4_000)) % (seed + 2) - seed  # some negative, some unused
    table = _contingency(labels, codes)
    assert table is not None
    assert mutual_info_score(None, None, contingency=table) == mutual_info_score(labels, codes)
    single = np.zeros(4_000, dtype=np.int64)
    assert mutual_info_score(None, None, contingency=_contingency(single, codes)) == 0.0


def test_contingency_too_large_for_bincount_is_left_to_scikit_learn() -> None:
    ids = np.arange(10_000)
    assert _contingency(ids, ids[::-1].copy()) is None


NUMERIC_VALUES = ["1.5", "", " ", "abc", "inf", "1e400", "-2", '""', "7", "NaN"]


@pytest.mark.parametrize("tricky", [False, True])  # True: pandas reads the block as text
def test_statistics_of_numbers_read_with_invalid_mask_equal_those_of_the_text(
    store: S3Store, bucket: str, tricky: bool
) -> None:
    values = [f"{i % 13 * 0.5}" for i in range(400)]
    values[::9] = ["", "inf", "1e400"] * (len(values[::9]) // 3) + [""] * (len(values[::9]) % 3)
    if tricky:
        values[5::40] = NUMERIC_VALUES
    lines = [f"{value},c{i % 5},{i % 3}" for i, value in enumerate(values)]
    uri = put_text(store.client, bucket, f"{unique_id('invalid')}.csv", "\n".join(lines) + "\n")
    schema = parse_schema(schema_text([("n", "NUMERIC"), ("c", "CATEGORICAL"), ("m", "NUMERIC")]))
    reader = DataSourceReader(store, schema, store.list(uri), block_bytes=1_500)
    as_text, as_numbers = StatisticsBuilder(schema), StatisticsBuilder(schema)
    for text, numbers in zip(reader.chunks(), reader.chunks(numbers={"n", "m"}), strict=True):
        for name in ("n", "m"):
            parsed = parse_numeric(text.columns[name])
            expected = np.isnan(parsed) & ~is_missing(text.columns[name])
            np.testing.assert_array_equal(numbers.invalid[name], expected)
            np.testing.assert_array_equal(numbers.columns[name], parsed)
        as_text.add(text)
        as_numbers.add(numbers)
    result = as_numbers.result()
    assert result == as_text.result()
    assert result["attributes"]["n"]["invalid"] > 0
    assert result["attributes"]["n"]["missing"] > 0


@pytest.fixture
def store(s3: Any) -> S3Store:
    return S3Store(s3)


def random_rows(rows: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((rows, 40)) < 0.2, rng.normal(size=(rows, 40)), 0.0)
    return sp.csr_matrix(dense), rng.normal(size=rows)


@pytest.mark.parametrize("budget", [0, 1 << 30])  # streamed (memory-mapped) or kept in memory
def test_cache_batches_equal_slices_of_what_was_appended(tmp_path: Path, budget: int) -> None:
    blocks = [random_rows(rows, seed) for seed, rows in enumerate((300, 1, 257))]
    cache = FeatureCache(tmp_path / "cache", budget)
    for features, target in blocks:
        cache.append(features, target)
    whole, target = sp.vstack([b[0] for b in blocks]).tocsr(), np.concatenate([b[1] for b in blocks])
    for size in (64, 1_000):
        for _ in range(2):  # the second pass comes from memory when resident
            got = list(cache.batches(size))
            stacked = sp.vstack([features for features, _ in got]).tocsr()
            assert (stacked != whole).nnz == 0
            np.testing.assert_array_equal(np.concatenate([t for _, t in got]), target)
            assert all(features.shape[0] <= size for features, _ in got)
    cache.shuffle(seed=3)
    got = list(cache.batches(100))
    shuffled = sp.vstack([features for features, _ in got]).toarray()
    targets = np.concatenate([t for _, t in got])
    order, expected = np.argsort(targets), np.argsort(target)
    np.testing.assert_array_equal(shuffled[order], whole.toarray()[expected])
    assert cache.resident == (budget > 0)
