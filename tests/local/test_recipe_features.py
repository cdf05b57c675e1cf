"""FeaturePipeline's features: text splitting, n-grams, OSB, cartesian products, encodings, fitting on
training statistics, vocabulary growth, pruning and pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from aml_provider.local.errors import InvalidInputException
from tests.local.recipes import (
    COMPLETE_EXAMPLE,
    EXAMPLE_SCHEMA,
    example_columns,
    make_schema,
    pipeline_for,
    statistics_of,
    strings,
    tokens,
)

# -------------------------------------------------------------------------------------------- features

TEXT_SCHEMA = make_schema(
    {"t": "TEXT", "u": "TEXT", "c": "CATEGORICAL", "d": "CATEGORICAL", "x": "NUMERIC", "b": "BINARY"}
)


def test_text_is_split_on_whitespace_with_punctuation_kept() -> None:
    pipeline = pipeline_for('{"outputs": ["t"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"t": strings("email-subject  here, Here\tnow")}) == {
        "email-subject",
        "here,",
        "Here",
        "now",
    }


def test_ngram_sizes_one_to_n_joined_by_one_space() -> None:
    pipeline = pipeline_for('{"outputs": ["ngram(t, 2)"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"t": strings("red, green, blue")}) == {
        "red,",
        "green,",
        "blue",
        "red, green,",
        "green, blue",
    }
    trigrams = pipeline_for('{"outputs": ["ngram(t, 3)"]}', TEXT_SCHEMA)
    matrix = trigrams.transform({"t": strings("a b c", "d e", "f")}, grow=True)
    names = trigrams.feature_names()
    assert [{names[c].split("=")[1] for c in matrix[i].indices} for i in range(3)] == [
        {"a", "b", "c", "a b", "b c", "a b c"},
        {"d", "e", "d e"},
        {"f"},
    ]


def test_osb_window_pairs_with_skips_and_shrinking_tail() -> None:
    pipeline = pipeline_for('{"outputs": ["osb(t, 3)"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"t": strings("I really enjoyed")}) == {
        "I_really",
        "I__enjoyed",
        "really_enjoyed",
    }
    pipeline = pipeline_for('{"outputs": ["osb(t, 4)"]}', TEXT_SCHEMA)
    found = tokens(pipeline, {"t": strings("The quick brown fox jumps over the lazy dog")})
    assert {"over_the", "over__lazy", "over___dog", "the_lazy", "the__dog", "lazy_dog"} <= found
    assert {"The_quick", "The__brown", "The___fox", "fox___the"} <= found
    assert len(found) == 21
    assert "The____jumps" not in found


def test_no_punct_and_lowercase() -> None:
    pipeline = pipeline_for('{"outputs": ["no_punct(t)"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"t": strings("Seat-belts! - save (lives).")}) == {"Seat-belts", "save", "lives"}
    pipeline = pipeline_for('{"outputs": ["lowercase(no_punct(c))"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"c": strings("'New York'")}) == {"new york"}
    assert tokens(pipeline, {"c": strings("!!")}) == set()


def test_cartesian_combines_values_and_tokens() -> None:
    pipeline = pipeline_for('{"outputs": ["cartesian(t, c)"]}', TEXT_SCHEMA)
    assert tokens(pipeline, {"t": strings("A B C"), "c": strings("Z")}) == {"A_Z", "B_Z", "C_Z"}
    assert tokens(pipeline, {"t": strings("Python Data Science Handbook"), "c": strings("Softcover")}) == {
        "Python_Softcover",
        "Data_Softcover",
        "Science_Softcover",
        "Handbook_Softcover",
    }
    assert tokens(pipeline, {"t": strings("A B"), "c": strings("")}) == set()
    categorical = pipeline_for('{"outputs": ["cartesian(c, d)"]}', TEXT_SCHEMA)
    assert categorical.outputs[0].node.type == "CATEGORICAL"
    matrix = categorical.transform(
        {"c": strings("urban", "rural", ""), "d": strings("Washington", "", "Ohio")}, grow=True
    )
    assert categorical.feature_names() == ["cartesian(c,d)=urban_Washington"]
    assert matrix.toarray().tolist() == [[1.0], [0.0], [0.0]]
    both = pipeline_for('{"outputs": ["cartesian(t, u)"]}', TEXT_SCHEMA)
    assert tokens(both, {"t": strings("a b"), "u": strings("x y")}) == {"a_x", "a_y", "b_x", "b_y"}


def test_numeric_binary_and_categorical_encodings() -> None:
    pipeline = pipeline_for('{"outputs": ["x", "b", "c"]}', TEXT_SCHEMA)
    matrix = pipeline.transform(
        {
            "x": strings("2.5", "", "abc", "0"),
            "b": strings("Yes", " f ", "maybe", ""),
            "c": strings("US", "", "US", "DE"),
        },
        grow=True,
    )
    assert pipeline.feature_names() == ["x", "x=__missing__", "b", "b=__missing__", "c=US", "c=DE"]
    assert matrix.toarray().tolist() == [
        [2.5, 0, 1, 0, 1, 0],
        [0, 1, 0, 0, 0, 0],
        [0, 1, 0, 1, 1, 0],
        [0, 0, 0, 1, 0, 1],
    ]


def test_repeated_tokens_count_once() -> None:
    pipeline = pipeline_for('{"outputs": ["lowercase(t)"]}', TEXT_SCHEMA)
    assert pipeline.transform({"t": strings("Go go GO stop")}, grow=True).toarray().tolist() == [[1.0, 1.0]]


# ------------------------------------------------------------------------------------ fit on training data

NUMBERS = make_schema({"x": "NUMERIC", "c": "CATEGORICAL", "y": "BINARY"}, target="y")


def training_statistics() -> dict:
    values = np.arange(1, 1001).astype(str).astype(object)  # 1..1000, uniform
    return statistics_of(NUMBERS, {"x": values, "c": strings(*["a"] * 1000), "y": strings(*["1"] * 1000)})


def test_quantile_bins_come_from_training_quantiles() -> None:
    pipeline = pipeline_for('{"outputs": ["quantile_bin(x, 4)"]}', NUMBERS, training_statistics())
    matrix = pipeline.transform({"x": strings("-5", "100", "260", "600", "999", "1e9", "")}, grow=True)
    names = pipeline.feature_names()
    labels = [names[matrix[i].indices[0]].split("=")[1] for i in range(matrix.shape[0])]
    assert labels == ["x_bin_1", "x_bin_1", "x_bin_2", "x_bin_3", "x_bin_4", "x_bin_4", "x_bin_missing"]


def test_normalize_uses_training_mean_and_std() -> None:
    statistics = training_statistics()
    mean, std = statistics["attributes"]["x"]["mean"], statistics["attributes"]["x"]["std"]
    pipeline = pipeline_for('{"outputs": ["normalize(x)"]}', NUMBERS, statistics)
    matrix = pipeline.transform({"x": strings("5000", "", "1")})
    assert pipeline.feature_names() == ["normalize(x)", "normalize(x)=__missing__"]
    assert matrix.toarray() == pytest.approx(
        np.array([[(5000 - mean) / std, 0], [0, 1], [(1 - mean) / std, 0]])
    )


def test_fit_needs_the_statistics_it_uses() -> None:
    pipeline = pipeline_for('{"outputs": ["quantile_bin(x, 4)"]}', NUMBERS)
    with pytest.raises(RuntimeError, match="fit"):
        pipeline.transform({"x": strings("1")})
    with pytest.raises(InvalidInputException, match="needs the training statistics of 'x'"):
        pipeline.fit({"records": 3, "attributes": {}})
    raw = pipeline_for('{"outputs": ["x"]}', NUMBERS)
    assert raw.transform({"x": strings("3")}).toarray().tolist() == [[3.0, 0.0]]


def test_vocabulary_grows_only_when_asked_and_only_appends() -> None:
    pipeline = pipeline_for('{"outputs": ["c", "x"]}', NUMBERS)
    pipeline.transform({"c": strings("a", "b", "a")}, grow=True)
    assert pipeline.feature_names() == ["x", "x=__missing__", "c=a", "c=b"]
    unseen = pipeline.transform({"c": strings("z", "b"), "x": strings("1", "2")})
    assert pipeline.n_features == 4
    assert unseen.toarray().tolist() == [[1, 0, 0, 0], [2, 0, 0, 1]]
    pipeline.transform({"c": strings("z", "a")}, grow=True)
    assert pipeline.feature_names() == ["x", "x=__missing__", "c=a", "c=b", "c=z"]


def test_absent_columns_are_missing_values() -> None:
    pipeline = pipeline_for('{"outputs": ["c", "x"]}', NUMBERS)
    pipeline.transform({"c": strings("a")}, grow=True)
    assert pipeline.transform({}).toarray().tolist() == [[0, 1, 0]]
    assert pipeline.transform({"c": strings("a", "a")}).toarray().tolist() == [[0, 1, 1], [0, 1, 1]]


def test_keep_drops_features_for_good() -> None:
    pipeline = pipeline_for('{"outputs": ["x", "c"]}', NUMBERS)
    columns = {"x": strings("1", ""), "c": strings("a", "b")}
    before = pipeline.transform(columns, grow=True).toarray()
    mask = np.array([True, False, False, True])
    pipeline.keep(mask)
    assert pipeline.feature_names() == ["x", "c=b"]
    after = pipeline.transform(columns, grow=True)
    assert after.toarray().tolist() == before[:, mask].tolist()
    pipeline.transform({"c": strings("d")}, grow=True)
    assert pipeline.feature_names() == ["x", "c=b"], "a pruned pipeline is final: it grows no more"
    with pytest.raises(ValueError, match="mask of 2 booleans"):
        pipeline.keep(np.ones(3, dtype=bool))


def test_pickle_round_trip_and_single_rows_match_the_batch() -> None:
    statistics = statistics_of(EXAMPLE_SCHEMA, example_columns(400))
    pipeline = pipeline_for(
        COMPLETE_EXAMPLE.replace('"BINCAT"\n', '"BINCAT", "osb(body, 3)", "normalize(fare)"\n'),
        EXAMPLE_SCHEMA,
        statistics,
    )
    training = example_columns(300, seed=5)
    pipeline.transform(training, grow=True)
    copy = pickle.loads(pickle.dumps(pipeline))
    batch = example_columns(40, seed=6)
    expected = pipeline.transform(batch)
    assert copy.feature_names() == pipeline.feature_names()
    assert (copy.transform(batch) != expected).nnz == 0
    for i in range(40):
        single = copy.transform({name: values[i : i + 1] for name, values in batch.items()})
        assert (single != expected[i]).nnz == 0
    assert expected.dtype == np.float64
