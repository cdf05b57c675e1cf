"""A single Predict record's features (plain Python) are exactly the features `transform` gives its row."""

from __future__ import annotations

import numpy as np
import pytest

from aml_provider.local.recipes import FeaturePipeline
from tests.local.recipes import EXAMPLE_SCHEMA, EXAMPLES, example_columns, pipeline_for, statistics_of

#: Every processor, the ones the reference recipes leave out (normalize, osb) included.
EVERY_PROCESSOR = (
    '{"outputs": ["normalize(age)", "quantile_bin(normalize(fare), 5)", "osb(lowercase(body), 3)",'
    ' "ngram(no_punct(title), 3)", "cartesian(country, lowercase(subject))", "married", "sibsp"]}'
)
ODD_VALUES = ["", " ", "nan", "inf", "-0", "1e400", "1_000", "٣", "YES", " t ", "DE", "dog dog dog", "ü ß!"]


def records(size: int, seed: int) -> list[dict[str, str]]:
    """Records like the training rows, with odd values, unseen tokens and absent attributes mixed in."""
    rng = np.random.default_rng(seed)
    columns = example_columns(size, seed)
    result = []
    for row in range(size):
        record = {name: str(values[row]) for name, values in columns.items() if rng.random() > 0.1}
        for name in rng.choice(list(record), min(3, len(record)), replace=False):
            record[name] = str(rng.choice(ODD_VALUES))
        result.append(record)
    return result


def transform_row(pipeline: FeaturePipeline, record: dict[str, str]) -> dict[int, float]:
    row = pipeline.transform({name: np.array([value], dtype=object) for name, value in record.items()})
    return dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))


@pytest.mark.parametrize("pruned", [False, True], ids=["grown", "pruned"])
@pytest.mark.parametrize("recipe", [*EXAMPLES.values(), EVERY_PROCESSOR], ids=[*EXAMPLES, "every-processor"])
def test_record_features_are_the_transformed_row(recipe: str, pruned: bool) -> None:
    training = example_columns(300)
    pipeline = pipeline_for(recipe, EXAMPLE_SCHEMA, statistics_of(EXAMPLE_SCHEMA, training))
    pipeline.transform(training, grow=True)
    if pruned:  # every third feature dropped: columns -1 in the encoders, vocabularies frozen
        pipeline.keep(np.arange(pipeline.n_features) % 3 != 0)
    for record in records(200, seed=7):
        columns, values = pipeline.record_features(record)
        assert columns.dtype == np.intp
        assert values.dtype == np.float64
        features = dict(zip(columns.tolist(), values.tolist(), strict=True))
        assert len(features) == len(columns)
        assert features == transform_row(pipeline, record), record
