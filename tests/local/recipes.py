"""What the recipe tests share: the example recipes, a schema naming all their variables, random columns
for it, statistics as the datasource job computes them, and pipelines with a look at a row's features."""

from __future__ import annotations

import json

import numpy as np

from aml_provider.local.data import Attribute, Chunk, S3Object, Schema, StatisticsBuilder
from aml_provider.local.recipes import FeaturePipeline, parse_recipe

COMPLETE_EXAMPLE = """{
  "groups": {
    "LONGTEXT": "group_remove(ALL_TEXT, title, subject)",
    "SPECIALTEXT": "group(title, subject)",
    "BINCAT": "group(ALL_CATEGORICAL, ALL_BINARY)"
  },
  "assignments": {
    "binned_age": "quantile_bin(age,30)",
    "country_gender_interaction": "cartesian(country, gender)"
  },
  "outputs": [
    "lowercase(no_punct(LONGTEXT))",
    "ngram(lowercase(no_punct(SPECIALTEXT)),3)",
    "quantile_bin(hours-per-week, 10)",
    "hours-per-week // raw value as well",
    "cartesian(binned_age, quantile_bin(hours-per-week,10))",
    "country_gender_interaction",
    "BINCAT"
  ]
}"""
GENERATED_TITANIC = """{
    "groups" : {
        "NUMERIC_VARS_QB_20" : "group('sibsp','parch')",
        "NUMERIC_VARS_QB_100" : "group('age')",
        "NUMERIC_VARS_QB_10" : "group('fare')"
    },
    "assignments" : { },
    "outputs":[
        "ALL_BINARY",
        "ALL_CATEGORICAL",
        "quantile_bin(NUMERIC_VARS_QB_20,20)",
        "quantile_bin(NUMERIC_VARS_QB_100,100)",
        "quantile_bin(NUMERIC_VARS_QB_10,10)",
        "ALL_TEXT"
    ]
}"""
GENERATED_HOUSING = json.dumps(
    {
        "groups": {
            "NUMERIC_VARS_QB_50": "group('LotArea','1stFlrSF','2ndFlrSF')",
            "NUMERIC_VARS_QB_200": "group('MSSubClass','YearRemod/Add')",
            "NUMERIC_VARS_QB_500": "group('OverallQual')",
            "NUMERIC_VARS_QB_10": "group('YrSold','3SsnPorch')",
        },
        "assignments": {},
        "outputs": [
            "ALL_BINARY",
            "ALL_CATEGORICAL",
            "quantile_bin(NUMERIC_VARS_QB_50,50)",
            "quantile_bin(NUMERIC_VARS_QB_200,200)",
            "quantile_bin(NUMERIC_VARS_QB_500,500)",
            "quantile_bin(NUMERIC_VARS_QB_10,10)",
        ],
    },
    indent=2,
)
HAND_WRITTEN = (
    '{"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(ALL_NUMERIC,50)","lowercase(ALL_TEXT)"]}'
)
NO_TRANSFORMATION = '{"groups":{},"assignments":{},"outputs":["ALL_INPUTS"]}'
PRETTY_PRINTED = '{"groups" : { },"assignments" : { },"outputs" : [ "ALL_CATEGORICAL" ]}'
EXAMPLES = {
    "complete": COMPLETE_EXAMPLE,
    "generated-titanic": GENERATED_TITANIC,
    "generated-housing": GENERATED_HOUSING,
    "hand-written": HAND_WRITTEN,
    "no-transformation": NO_TRANSFORMATION,
    "pretty-printed": PRETTY_PRINTED,
}


def make_schema(types: dict[str, str], **roles: object) -> Schema:
    return Schema(tuple(Attribute(name, kind) for name, kind in types.items()), **roles)  # type: ignore[arg-type]


#: Every variable the example recipes name, plus a target, a rowId and an excluded attribute.
EXAMPLE_SCHEMA = make_schema(
    {
        "id": "CATEGORICAL",
        "title": "TEXT",
        "subject": "TEXT",
        "body": "TEXT",
        "age": "NUMERIC",
        "hours-per-week": "NUMERIC",
        "country": "CATEGORICAL",
        "gender": "CATEGORICAL",
        "married": "BINARY",
        "sibsp": "NUMERIC",
        "parch": "NUMERIC",
        "fare": "NUMERIC",
        "LotArea": "NUMERIC",
        "1stFlrSF": "NUMERIC",
        "2ndFlrSF": "NUMERIC",
        "MSSubClass": "NUMERIC",
        "YearRemod/Add": "NUMERIC",
        "OverallQual": "NUMERIC",
        "YrSold": "NUMERIC",
        "3SsnPorch": "NUMERIC",
        "secret": "NUMERIC",
        "y": "BINARY",
    },
    target="y",
    row_id="id",
    excluded=("secret",),
)


def statistics_of(schema: Schema, columns: dict[str, np.ndarray]) -> dict:
    """statistics.json of `columns` as the datasource job computes it."""
    size = len(next(iter(columns.values())))
    builder = StatisticsBuilder(schema)
    builder.add(Chunk(S3Object("s3://bucket/train.csv", 1), columns, np.arange(size)))
    return builder.result()


def strings(*values: str) -> np.ndarray:
    return np.array(values, dtype=object)


def example_columns(size: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random raw values for every attribute of EXAMPLE_SCHEMA, with a few missing ones."""
    rng = np.random.default_rng(seed)
    words = strings("The", "quick,", "brown", "fox!", "-", "jumps", "over", "lazy", "dog")
    columns = {}
    for attribute in EXAMPLE_SCHEMA.attributes:
        if attribute.type == "NUMERIC":
            values = rng.normal(40, 12, size).round(1).astype(str).astype(object)
        elif attribute.type == "BINARY":
            values = rng.choice(strings("yes", "no", "1", "0", "T"), size)
        elif attribute.type == "CATEGORICAL":
            values = rng.choice(strings("US", "DE", "FR", "JP"), size)
        else:
            values = np.array(
                [" ".join(rng.choice(words, rng.integers(0, 6))) for _ in range(size)], dtype=object
            )
        values[rng.random(size) < 0.1] = ""
        columns[attribute.name] = values
    return columns


def pipeline_for(recipe: str, schema: Schema, statistics: dict | None = None) -> FeaturePipeline:
    pipeline = FeaturePipeline.build(parse_recipe(recipe), schema)
    if statistics is not None:
        pipeline.fit(statistics)
    return pipeline


def row_features(
    pipeline: FeaturePipeline, columns: dict[str, np.ndarray], grow: bool = True
) -> dict[str, float]:
    """Feature name -> value of the first row."""
    row = pipeline.transform(columns, grow=grow)[0]
    names = pipeline.feature_names()
    return {names[column]: value for column, value in zip(row.indices, row.data, strict=True)}


def tokens(pipeline: FeaturePipeline, columns: dict[str, np.ndarray]) -> set[str]:
    """The values of the single output variable present in the first row."""
    return {name.split("=", 1)[1] for name in row_features(pipeline, columns)}
