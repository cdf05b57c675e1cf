"""The recipe's fast paths against straightforward computations: distinct tokens looked up once (pd.factorize)
against a lookup per token, and the one-pass split of a text column against `str.split()` value by value."""

from __future__ import annotations

from itertools import repeat

import numpy as np
import pytest
import scipy.sparse as sp

from aml_provider.local.data import Attribute, Chunk, S3Object, Schema, StatisticsBuilder
from aml_provider.local.data.values import split_text
from aml_provider.local.recipes import FeaturePipeline, parse_recipe
from aml_provider.local.recipes.pipeline import BagEncoder, FeatureList
from aml_provider.local.recipes.processors import Bag, bins_of

SCHEMA = Schema(
    (
        Attribute("n", "NUMERIC"),
        Attribute("c", "CATEGORICAL"),
        Attribute("d", "CATEGORICAL"),
        Attribute("t", "TEXT"),
        Attribute("y", "BINARY"),
    ),
    target="y",
)
RECIPE = """{"groups": {}, "assignments": {"w": "lowercase(no_punct(t))"},
  "outputs": ["n", "c", "quantile_bin(n,7)", "ngram(w,2)", "osb(t,3)", "cartesian(c,d)", "cartesian(w,d)"]}"""
WORDS = np.array(["Red", "red,", "blue", "GREEN!", "a", "b", "...", "x\ty", "ünï"], dtype=object)


class PerToken(BagEncoder):
    """The straightforward encoder: each token looked up on its own, in bag order."""

    def encode(self, bag: Bag, grow: bool, features: FeatureList) -> tuple[np.ndarray, np.ndarray]:
        vocabulary = self.vocabulary_
        if not grow or self.frozen_:
            return bag.rows, np.fromiter(map(vocabulary.get, bag.tokens, repeat(-2)), dtype=np.intp)
        vocabulary.next_column, vocabulary.added = len(features), []
        columns = np.fromiter(map(vocabulary.__getitem__, bag.tokens), dtype=np.intp)
        for token in vocabulary.added:
            features.add(f"{self.name}={token}", True)
        return bag.rows, columns


def columns_of(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=rows).round(1).astype(str).astype(object)
    numbers[rng.random(rows) < 0.1] = ""
    texts = [" ".join(rng.choice(WORDS, rng.integers(0, 6))) for _ in range(rows)]
    return {
        "n": numbers,
        "c": np.array([f"c{k}" if k else "" for k in rng.integers(0, 12, rows)], dtype=object),
        "d": rng.choice(np.array(["p", "q", "r"], dtype=object), rows),
        "t": np.array(texts, dtype=object),
        "y": rng.choice(np.array(["0", "1"], dtype=object), rows),
    }


def pipelines() -> tuple[FeaturePipeline, FeaturePipeline]:
    columns = columns_of(3_000, seed=99)
    builder = StatisticsBuilder(SCHEMA)
    builder.add(Chunk(S3Object("s3://b/train.csv", 1), columns, np.arange(3_000)))
    fast, plain = (FeaturePipeline.build(parse_recipe(RECIPE), SCHEMA) for _ in range(2))
    for pipeline in (fast, plain):
        pipeline.fit(builder.result())
    plain.bags = [(PerToken(encoder.name), i) for encoder, i in plain.bags]
    return fast, plain


def assert_same(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_features_equal_a_lookup_per_token_while_growing_pruned_and_predicting() -> None:
    fast, plain = pipelines()
    for seed, rows in ((1, 500), (2, 20), (3, 1_500), (4, 1)):  # short batches take the per-token path
        columns = columns_of(rows, seed)
        assert_same(fast.transform(columns, grow=True), plain.transform(columns, grow=True))
        assert fast.feature_names() == plain.feature_names()
    assert any("_bin_" in name for name in fast.feature_names())
    unseen = columns_of(800, seed=5)
    assert_same(fast.transform(unseen), plain.transform(unseen))
    mask = np.arange(fast.n_features) % 3 != 1
    fast.keep(mask)
    plain.keep(mask)
    assert_same(fast.transform(unseen, grow=True), plain.transform(unseen, grow=True))
    assert fast.feature_names() == plain.feature_names()


def test_tokens_that_are_not_strings_are_looked_up_one_by_one() -> None:
    features = FeatureList()
    tokens = np.array(["a", None, "b", "a", None] * 10, dtype=object)
    rows, columns = BagEncoder("c").encode(Bag(np.arange(len(tokens)), tokens), True, features)
    assert features.names == ["c=a", "c=None", "c=b"]
    assert columns[:5].tolist() == [0, 1, 2, 0, 1]


SPLIT_CASES = {
    "plain": ["the quick  brown", "", "  fox ", "a\tb\nc\rd\x0be\x0cf\x1cg\x1dh\x1ei", "x"],
    "separator in a value": ["a\x1fb c", "d"],
    "not ascii": ["naïve café", "über alles", ""],
    "NUL and other controls": ["a\0b c", "\x01 d\x7f"],
}


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
@pytest.mark.parametrize("repeat_values", [1, 40])  # up to 32 values are split one by one
def test_split_text_equals_split_value_by_value(case: str, repeat_values: int) -> None:
    values = np.array(SPLIT_CASES[case] * repeat_values, dtype=object)
    rows, tokens = split_text(values)
    expected = [(row, token) for row, value in enumerate(values) for token in value.split()]
    assert list(zip(rows.tolist(), tokens.tolist(), strict=True)) == expected
    assert rows.dtype == np.intp
    assert tokens.dtype == object


def test_a_long_batch_equals_its_rows_transformed_one_by_one() -> None:
    """Long batches (scipy's coo -> csr, tokens factorised) and short ones (sorted entries, a lookup per
    token) give the same rows."""
    fast, _ = pipelines()
    columns = columns_of(300, seed=6)
    whole = fast.transform(columns, grow=True)
    rows = [fast.transform({name: values[i : i + 1] for name, values in columns.items()}) for i in range(300)]
    assert_same(whole, sp.vstack(rows, format="csr"))


@pytest.mark.parametrize("seed", range(6))
def test_quantile_bins_from_the_table_equal_a_binary_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    edges = [
        np.unique(rng.normal(size=499)),
        np.unique(np.round(rng.lognormal(3, 2, size=300), 1)),  # skewed: many edges in few cells
        np.unique(rng.integers(0, 20, size=50).astype(float)),
        np.array([-1e-300, 0.0, 1e-300, 1e300]),
        np.array([2.0, 2.5]),
    ][seed % 5]
    bounds = np.append(edges, np.inf)
    near = rng.choice(edges, 2_000)
    values = np.concatenate(
        [
            near,
            np.nextafter(near, np.inf),
            np.nextafter(near, -np.inf),
            rng.normal(size=2_000) * rng.choice([1e-3, 1.0, 1e3, 1e300], 2_000),
            [np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(float).max, -np.finfo(float).max],
        ]
    )
    rng.shuffle(values)
    np.testing.assert_array_equal(bins_of(bounds, values), np.searchsorted(bounds, values, side="right"))
