"""Recipes: the parser and its error positions, and the default recipe (features: test_recipe_features.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aml_provider.local.data import Schema
from aml_provider.local.errors import InvalidInputException
from aml_provider.local.recipes import FeaturePipeline, RecipeError, default_recipe, parse_recipe
from tests.local.recipes import (
    COMPLETE_EXAMPLE,
    EXAMPLE_SCHEMA,
    EXAMPLES,
    example_columns,
    make_schema,
    pipeline_for,
    statistics_of,
    strings,
)

# ---------------------------------------------------------------------------------------------- parser


@pytest.mark.parametrize("recipe", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_reference_recipes_parse_and_compile(recipe: str) -> None:
    parsed = parse_recipe(recipe)
    pipeline = FeaturePipeline.build(parsed, EXAMPLE_SCHEMA)
    pipeline.fit(statistics_of(EXAMPLE_SCHEMA, example_columns(300)))
    matrix = pipeline.transform(example_columns(50, seed=1), grow=True)
    assert matrix.shape == (50, pipeline.n_features)
    assert pipeline.n_features > 0
    variables = {name.split("=")[0] for name in pipeline.feature_names()}
    assert not variables & {"y", "id", "secret"}


def test_complete_example_structure() -> None:
    recipe = parse_recipe(COMPLETE_EXAMPLE)
    assert [d.name for d in recipe.groups] == ["LONGTEXT", "SPECIALTEXT", "BINCAT"]
    assert [d.name for d in recipe.assignments] == ["binned_age", "country_gender_interaction"]
    assert len(recipe.outputs) == 7
    outputs = [o.name for o in FeaturePipeline.build(recipe, EXAMPLE_SCHEMA).outputs]
    assert outputs == [
        "lowercase(no_punct(body))",
        "ngram(lowercase(no_punct(title)),3)",
        "ngram(lowercase(no_punct(subject)),3)",
        "quantile_bin(hours-per-week,10)",
        "hours-per-week",
        "cartesian(quantile_bin(age,30),quantile_bin(hours-per-week,10))",
        "country_gender_interaction",
        "country",
        "gender",
        "married",
    ]


def test_quoted_names_comments_and_spacing() -> None:
    schema = make_schema({"1st floor": "NUMERIC", "it's": "CATEGORICAL", "a.b/c-d": "TEXT"})
    recipe = (
        '{"groups": {"G": "group( \'1st floor\' )"}, "outputs": ['
        '"quantile_bin( G , 20 ) // binned", "\'it\\\\\'s\'", "ngram(a.b/c-d,2)//c", "a.b/c-d"]}'
    )
    outputs = [o.name for o in pipeline_for(recipe, schema).outputs]
    assert outputs == ["quantile_bin('1st floor',20)", "it's", "ngram(a.b/c-d,2)", "a.b/c-d"]


def error_of(recipe: str, schema: Schema | None = None) -> RecipeError:
    with pytest.raises(RecipeError) as caught:
        pipeline_for(recipe, schema or EXAMPLE_SCHEMA)
    assert isinstance(caught.value, InvalidInputException)
    return caught.value


@pytest.mark.parametrize(
    ("outputs", "where", "offending", "rule"),
    [
        (["age", "bin(age, 10)"], "outputs[1]", "bin", "unknown processor 'bin'; expected one of cartesian,"),
        (["Lowercase(title)"], "outputs[0]", "Lowercase", "processor names are lower case"),
        (
            ["quantile_bin(country, 10)"],
            "outputs[0]",
            "country",
            "quantile_bin expects a NUMERIC variable but 'country' is CATEGORICAL",
        ),
        (
            ["normalize(title)"],
            "outputs[0]",
            "title",
            "normalize expects a NUMERIC variable but 'title' is TEXT",
        ),
        (
            ["ngram(country, 2)"],
            "outputs[0]",
            "country",
            "ngram expects a TEXT variable but 'country' is CATEGORICAL",
        ),
        (["lowercase(age)"], "outputs[0]", "age", "lowercase expects a TEXT or CATEGORICAL variable"),
        (["cartesian(age, country)"], "outputs[0]", "age", "bin it first with quantile_bin"),
        (
            ["quantile_bin(ALL_INPUTS, 10)"],
            "outputs[0]",
            "ALL_INPUTS",
            "group 'ALL_INPUTS' holds 'title', which is TEXT",
        ),
        (["quantile_bin(age, 1)"], "outputs[0]", "1", "quantile_bin n must be from 2 to 1000, got 1"),
        (["quantile_bin(age, 1001)"], "outputs[0]", "1001", "from 2 to 1000"),
        (["osb(title, 1)"], "outputs[0]", "1", "osb n must be from 2 to 10"),
        (["ngram(title, 11)"], "outputs[0]", "11", "ngram n must be from 1 to 10"),
        (["ngram(title, 2.5)"], "outputs[0]", "2.5", "'2.5' is not a whole number"),
        (["ngram(title)"], "outputs[0]", ")", "expected ',' and a second argument"),
        (["lowercase(title, 2)"], "outputs[0]", ",", "too many arguments"),
        (
            ["lowercase(title"],
            "outputs[0]",
            "",
            "expected ')' closing lowercase( but the expression ends here",
        ),
        (["age fare"], "outputs[0]", "fare", "unexpected text after the end of the expression"),
        (
            ["fixed acidity // raw"],
            "outputs[0]",
            "acidity",
            "unexpected text after the end of the expression; a name with spaces must be quoted: 'fixed acidity'",
        ),
        (
            ["quantile_bin(total sulfur dioxide, 10)"],
            "outputs[0]",
            "sulfur",
            "expected ',' and a second argument: quantile_bin(expression, n) with n from 2 to 1000; "
            "a name with spaces must be quoted: 'total sulfur dioxide'",
        ),
        (["1stFlrSF"], "outputs[0]", "1stFlrSF", "quote it: '1stFlrSF'"),
        (["'age"], "outputs[0]", "'age", "missing its closing quote"),
        (
            ["age", "agee"],
            "outputs[1]",
            "agee",
            "unknown variable, group or assignment 'agee'; did you mean 'age'?",
        ),
        (["y"], "outputs[0]", "y", "'y' is the target of the schema and cannot be used as an input"),
        (["id"], "outputs[0]", "id", "'id' is the rowId"),
        (["secret"], "outputs[0]", "secret", "excluded attribute"),
        (["group(age)"], "outputs[0]", "group", "may only be used in the groups section"),
        (["// only a comment"], "outputs[0]", "// only", "expected a variable, group or assignment name"),
        (["age & fare"], "outputs[0]", "&", "unexpected character '&'"),
    ],
)
def test_expression_errors_point_at_the_offending_text(
    outputs: list[str], where: str, offending: str, rule: str
) -> None:
    recipe = json.dumps({"outputs": outputs})
    error = error_of(recipe)
    expression = outputs[int(where[-2])]
    at = expression.rindex(offending) if offending else len(expression)
    assert error.where == where
    assert rule in error.message
    assert f"at {where}, character {at + 1} " in error.message
    assert error.position == recipe.index(json.dumps(expression)) + 1 + at
    assert f"recipe character {error.position + 1}, line 1, column {error.position + 1})" in error.message
    excerpt, carets = error.message.splitlines()[-2:]
    assert excerpt.strip() == expression
    assert carets.index("^") == excerpt.index(expression) + at


@pytest.mark.parametrize(
    ("recipe", "where", "offending", "rule"),
    [
        (
            '{"groups": {"G": "group(age, ALL_INPUTS)"}, "outputs": ["G"]}',
            "groups['G']",
            "ALL_INPUTS",
            "ALL_INPUTS cannot be used to build a group",
        ),
        (
            '{"groups": {"G": "quantile_bin(age, 10)"}, "outputs": ["G"]}',
            "groups['G']",
            "quantile_bin",
            "a group is defined by group(",
        ),
        (
            '{"groups": {"G": "group(lowercase(title))"}, "outputs": ["G"]}',
            "groups['G']",
            "(title))",
            "processors cannot be applied inside a group",
        ),
        (
            '{"groups": {"G": "group_remove(ALL_TEXT)"}, "outputs": ["G"]}',
            "groups['G']",
            "group_remove(ALL_TEXT)",
            "at least one member to remove",
        ),
        (
            '{"groups": {"G": "group_remove(title, body)"}, "outputs": ["G"]}',
            "groups['G']",
            "title",
            "removes from a group, but 'title' is a variable",
        ),
        (
            '{"groups": {"G": "group(H)", "H": "group(age)"}, "outputs": ["G"]}',
            "groups['G']",
            "H",
            "unknown variable, group or assignment 'H'",
        ),
        (
            '{"groups": {"age": "group(fare)"}, "outputs": ["age"]}',
            "groups['age']",
            "group(fare)",
            "also a variable of the schema",
        ),
        (
            '{"groups": {"ALL_TEXT": "group(title)"}, "outputs": ["age"]}',
            "the key of groups['ALL_TEXT']",
            "ALL_TEXT",
            "built-in group and cannot be redefined",
        ),
        (
            '{"groups": {"_x": "group(title)"}, "outputs": ["age"]}',
            "the key of groups['_x']",
            "_x",
            "must start with a letter",
        ),
        (
            '{"groups": {"G": "group(age)"}, "assignments": {"G": "age"}, "outputs": ["age"]}',
            "the key of assignments['G']",
            'G": "age',
            "'G' is defined twice",
        ),
        (
            '{"assignments": {"a": "quantile_bin(country, 10)"}, "outputs": ["a"]}',
            "assignments['a']",
            "country",
            "quantile_bin expects a NUMERIC",
        ),
        (
            '{"assignments": {"a": "b", "b": "age"}, "outputs": ["a"]}',
            "assignments['a']",
            "b",
            "unknown variable, group or assignment 'b'",
        ),
        (
            '{"groups": {"G": "group(age, fare)"}, "outputs": ["lowercase(G)"]}',
            "outputs[0]",
            "G)",
            "group 'G' holds 'age', which is NUMERIC",
        ),
    ],
)
def test_definition_errors_name_the_section_and_key(
    recipe: str, where: str, offending: str, rule: str
) -> None:
    error = error_of(recipe)
    assert error.where == where
    assert rule in error.message
    assert error.position == recipe.index(offending)


@pytest.mark.parametrize(
    ("recipe", "offending", "rule"),
    [
        (
            '{"outputs": ["age"], "groups": {}}',
            '"groups"',
            "sections must appear in the order groups, assignments, outputs",
        ),
        (
            '{"assignments": {}, "groups": {}, "outputs": ["age"]}',
            '"groups"',
            "sections must appear in the order",
        ),
        (
            '{"groups": {}, "output": ["age"]}',
            '"output"',
            "unknown section 'output'; expected groups, assignments or outputs",
        ),
        (
            '{"outputs": ["age"], "outputs": ["age"]}',
            '"outputs": ["age"]}',
            "section 'outputs' appears twice",
        ),
        ('{"groups": {}}', "}", "the outputs section is missing"),
        ('{"outputs": []}', "[]", "outputs is empty"),
        ('{"outputs": "age"}', '"age"', "outputs must be a JSON array"),
        ('{"outputs": ["age", 3]}', "3", "outputs[1] must be a string"),
        ('{"groups": [], "outputs": ["age"]}', "[]", "groups must be a JSON object"),
        ('{"outputs": ["age",]}', "]", "expected a JSON value"),
        ('{"outputs": ["age"]} x', "x", "unexpected text after the end of the recipe object"),
        ('["age"]', '["age"]', "a recipe must be a JSON object"),
        ('{outputs: ["age"]}', "outputs", "expected a double-quoted key"),
        ('{"outputs": ["age]}', '"age]}', "unterminated string"),
    ],
)
def test_structure_errors_point_into_the_recipe(recipe: str, offending: str, rule: str) -> None:
    error = error_of(recipe)
    assert rule in error.message
    position = recipe.rindex(offending) if offending == "}" else recipe.index(offending)
    assert error.position == position
    assert f"at character {position + 1} (line 1, column {position + 1})" in error.message


def test_error_positions_count_lines_and_json_escapes() -> None:
    recipe = '{\n  "outputs": [\n    "age",\n    "\\u0071uantile_bin(country, 10)"\n  ]\n}'
    error = error_of(recipe)
    assert error.position == recipe.index("country")
    assert "at outputs[1], character 14 " in error.message
    assert "line 4, column 24)" in error.message


def test_length_and_complexity_limits() -> None:
    long_recipe = json.dumps({"outputs": ["age // " + "x" * 131_100]})
    assert "at most 131071" in error_of(long_recipe).message
    schema = make_schema({f"c{i}": "CATEGORICAL" for i in range(101)})
    error = error_of('{"outputs": ["cartesian(ALL_CATEGORICAL, ALL_CATEGORICAL)"]}', schema)
    assert "cartesian makes 10201 variables; at most 10000 are allowed" in error.message
    schema = make_schema({f"t{i}": "TEXT" for i in range(2501)})
    recipe = json.dumps(
        {
            "outputs": [f"{p}(ALL_TEXT)" for p in ("lowercase", "no_punct")]
            + ["ALL_TEXT", "osb(ALL_TEXT,2)", "age"]
        }
    )
    error = error_of(recipe, schema)
    assert error.where == "outputs[3]"
    assert "the recipe makes 10004 output variables by here; at most 10000 are allowed" in error.message


def test_recipe_without_any_variable_is_rejected() -> None:
    error = error_of('{"outputs": ["ALL_TEXT"]}', make_schema({"a": "NUMERIC"}))
    assert "outputs hold no variable of the schema" in error.message
    assert "empty" in error_of("  ").message


# ---------------------------------------------------------------------------------------- default recipe


def test_default_recipe_bins_numerics_by_distinct_values_and_rows() -> None:
    size = 2_000
    rng = np.random.default_rng(3)
    schema = make_schema(
        {
            "id": "CATEGORICAL",
            "few": "NUMERIC",
            "many": "NUMERIC",
            "some": "NUMERIC",
            "it's": "NUMERIC",
            "job": "CATEGORICAL",
            "note": "TEXT",
            "flag": "BINARY",
            "weight": "NUMERIC",
            "gone": "NUMERIC",
            "y": "BINARY",
        },
        target="y",
        row_id="id",
        row_weight="weight",
        excluded=("gone",),
    )
    columns = {
        "id": np.arange(size).astype(str).astype(object),
        "few": rng.integers(0, 5, size).astype(str).astype(object),
        "many": rng.normal(0, 1, size).astype(str).astype(object),
        "some": rng.integers(0, 60, size).astype(str).astype(object),
        "it's": rng.integers(0, 130, size).astype(str).astype(object),
        "job": rng.choice(strings("a", "b"), size),
        "note": rng.choice(strings("x y", "z"), size),
        "flag": rng.choice(strings("1", "0"), size),
        "weight": strings(*["1"] * size),
        "gone": strings(*["2"] * size),
        "y": rng.choice(strings("1", "0"), size),
    }
    text = default_recipe(schema, statistics_of(schema, columns))
    assert json.loads(text) == {
        "groups": {
            "NUMERIC_VARS_QB_10": "group('few')",
            "NUMERIC_VARS_QB_200": "group('many')",
            "NUMERIC_VARS_QB_50": "group('some')",
            "NUMERIC_VARS_QB_100": "group('it\\'s')",
        },
        "assignments": {},
        "outputs": [
            "ALL_BINARY",
            "ALL_CATEGORICAL",
            "quantile_bin(NUMERIC_VARS_QB_10,10)",
            "quantile_bin(NUMERIC_VARS_QB_200,200)",
            "quantile_bin(NUMERIC_VARS_QB_50,50)",
            "quantile_bin(NUMERIC_VARS_QB_100,100)",
            "ALL_TEXT",
        ],
    }
    assert text.startswith('{\n  "groups"')
    outputs = [o.name for o in FeaturePipeline.build(parse_recipe(text), schema).outputs]
    assert outputs == [
        "flag",
        "job",
        "quantile_bin(few,10)",
        "quantile_bin(many,200)",
        "quantile_bin(some,50)",
        "quantile_bin('it\\'s',100)",
        "note",
    ]


def test_default_recipe_without_statistics_and_with_missing_types() -> None:
    schema = make_schema({"a": "NUMERIC", "b": "NUMERIC", "c": "CATEGORICAL", "y": "NUMERIC"}, target="y")
    assert json.loads(default_recipe(schema, None)) == {
        "groups": {},
        "assignments": {},
        "outputs": ["ALL_CATEGORICAL", "ALL_NUMERIC"],
    }
    only_text = make_schema({"t": "TEXT", "y": "BINARY"}, target="y")
    assert json.loads(default_recipe(only_text, None))["outputs"] == ["ALL_TEXT"]
    pipeline = pipeline_for(default_recipe(schema, None), schema)
    matrix = pipeline.transform({"a": strings("1")})  # unfitted numbers pass through; b is missing
    assert pipeline.feature_names() == ["a", "a=__missing__", "b", "b=__missing__"]
    assert matrix.toarray().tolist() == [[1.0, 0.0, 0.0, 1.0]]
