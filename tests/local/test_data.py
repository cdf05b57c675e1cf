"""The data room's pure parts (schema, DataRearrangement, values, statistics) and its reader over a real S3."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from aml_provider.local import LocalAml
from aml_provider.local.data import (
    Attribute,
    Chunk,
    DataSourceReader,
    S3Object,
    S3Store,
    Schema,
    StatisticsBuilder,
    is_missing,
    open_datasource,
    parse_binary,
    parse_numeric,
    parse_rearrangement,
    parse_schema,
)
from aml_provider.local.data.databases import DatabaseQuery
from aml_provider.local.errors import InvalidInputException, JobFailed
from aml_provider.local.jobs.runner import artifacts_dir
from tests.helpers import put_text, unique_id, wait_for


def schema_text(attributes: list[tuple[str, str]], **keys: Any) -> str:
    return json.dumps(
        {"attributes": [{"attributeName": n, "attributeType": t} for n, t in attributes], **keys}
    )


# --- schema ---------------------------------------------------------------------------------------------

CANONICAL: dict[str, Any] = {
    "version": "1.0",
    "rowId": "id",
    "rowWeight": "w",
    "targetAttributeName": "y",
    "dataFormat": "CSV",
    "dataFileContainsHeader": True,
    "attributes": [
        {"attributeName": "id", "attributeType": "CATEGORICAL"},
        {"attributeName": "w", "attributeType": "NUMERIC"},
        {"attributeName": "text", "attributeType": "TEXT"},
        {"attributeName": "skip", "attributeType": "NUMERIC"},
        {"attributeName": "y", "attributeType": "BINARY"},
    ],
    "excludedAttributeNames": ["skip"],
}


def test_schema_canonical_spelling() -> None:
    schema = parse_schema(json.dumps(CANONICAL))
    assert schema.names == ["id", "w", "text", "skip", "y"]
    assert (schema.target, schema.row_id, schema.row_weight) == ("y", "id", "w")
    assert schema.excluded == ("skip",)
    assert schema.header is True
    assert schema.type_of("text") == "TEXT"
    assert schema.feature_names == ["text"]


def test_schema_alternate_spelling_means_the_same() -> None:
    alternate = {
        "version": "1.0",
        "recordAnnotationFieldName": "id",
        "recordWeightFieldName": "w",
        "targetFieldName": "y",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "variables": [
            {"fieldName": a["attributeName"], "fieldType": a["attributeType"]}
            for a in CANONICAL["attributes"]
        ],
        "excludedVariableNames": ["skip"],
    }
    assert parse_schema(json.dumps(alternate)) == parse_schema(json.dumps(CANONICAL))


def test_schema_to_json_is_canonical_and_round_trips() -> None:
    schema = parse_schema(json.dumps(CANONICAL))
    document = json.loads(schema.to_json())
    assert document == CANONICAL
    assert parse_schema(schema.to_json()) == schema


def test_schema_minimal_defaults() -> None:
    schema = parse_schema(schema_text([("a", "numeric")]))
    assert schema == Schema(attributes=(Attribute("a", "NUMERIC"),))
    assert schema.feature_names == ["a"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"attributes": [', "not valid JSON: Expecting value at line 1 column 17"),
        ("[]", "must be a JSON object"),
        (schema_text([("a", "NUMBER")]), "unknown attributeType 'NUMBER'"),
        (schema_text([("a", "WEIGHTED_INT_SEQUENCE")]), "not supported; use TEXT"),
        (schema_text([("a", "NUMERIC"), ("a", "TEXT")]), "names 'a' twice"),
        (schema_text([("a", "NUMERIC")], targetAttributeName="b"), "'targetAttributeName' names 'b'"),
        (schema_text([("a", "NUMERIC")], rowId="b"), "'rowId' names 'b', which is not in 'attributes'"),
        (schema_text([("a", "NUMERIC")], excludedAttributeNames=["b"]), "'excludedAttributeNames' names 'b'"),
        (schema_text([("a", "NUMERIC"), ("w", "TEXT")], rowWeight="w"), "must be a NUMERIC attribute"),
        (schema_text([("a", "NUMERIC")], dataFormat="JSON"), "'dataFormat'"),
        (schema_text([("a", "NUMERIC")], targetAttributeName="a", rowId="a"), "both name 'a'"),
        (
            schema_text([("a", "NUMERIC")], targetAttributeName="a", excludedAttributeNames=["a"]),
            "cannot be excluded",
        ),
        (schema_text([("a", "NUMERIC")], dataFileContainsHeader="maybe"), "'dataFileContainsHeader'"),
        (schema_text([("a", "NUMERIC")], targetAttribute="a"), "unknown key 'targetAttribute'"),
        (schema_text([]), "non-empty list"),
        (schema_text([(f"a{i}", "NUMERIC") for i in range(1001)]), "at most 1000"),
    ],
)
def test_schema_errors_name_the_key(document: str, message: str) -> None:
    with pytest.raises(InvalidInputException, match="DataSchema") as raised:
        parse_schema(document)
    assert message in raised.value.message


# --- DataRearrangement ----------------------------------------------------------------------------------


def test_rearrangement_parsing() -> None:
    assert parse_rearrangement(None).selects_all
    assert parse_rearrangement('{"randomSeed": "0"}').selects_all
    split = parse_rearrangement(
        '{"splitting": {"percentBegin": 10, "percentEnd": 60, "complement": "true", "strategy": "random",'
        ' "strategyParams": {"randomSeed": "s3://seed"}}, "randomSeed": "ignored"}'
    )
    assert (split.begin, split.end, split.complement, split.strategy, split.seed) == (
        10,
        60,
        True,
        "random",
        "s3://seed",
    )
    assert parse_rearrangement('{"splitting": {"strategy": "random", "randomSeed": 7}}').seed == "7"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"splitting": {"percentBegin": 70, "percentEnd": 30}}', "percentBegin"),
        ('{"splitting": {"percentEnd": 101}}', "percentEnd"),
        ('{"splitting": {"percentBegin": 2.5}}', "percentBegin"),
        ('{"splitting": {"strategy": "shuffled"}}', "strategy"),
        ('{"splitting": {"complement": "maybe"}}', "complement"),
        ('{"splitting": ', "not valid JSON"),
    ],
)
def test_rearrangement_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(InvalidInputException, match="DataRearrangement") as raised:
        parse_rearrangement(text)
    assert key in raised.value.message


@pytest.mark.parametrize("strategy", ["sequential", "random"])
def test_rearrangement_complement_is_exact(strategy: str) -> None:
    offsets = np.arange(0, 50_000, 7)
    splitting = f'"percentBegin": 20, "percentEnd": 65, "strategy": "{strategy}", "randomSeed": "x"'
    train = parse_rearrangement(f'{{"splitting": {{{splitting}}}}}')
    evaluation = parse_rearrangement(f'{{"splitting": {{{splitting}, "complement": true}}}}')
    chosen = train.select("s3://b/f.csv", offsets, 0, 50_000)
    others = evaluation.select("s3://b/f.csv", offsets, 0, 50_000)
    assert np.array_equal(chosen, ~others)
    assert 0.40 < chosen.mean() < 0.50


def test_sequential_selection_spans_files_by_byte_offset() -> None:
    split = parse_rearrangement('{"splitting": {"percentBegin": 0, "percentEnd": 50}}')
    first = split.select("s3://b/1.csv", np.array([0, 99, 100, 149]), 0, 200)
    second = split.select("s3://b/2.csv", np.array([0, 49]), 150, 200)
    assert first.tolist() == [True, True, False, False]
    assert second.tolist() == [False, False]
    tail = parse_rearrangement('{"splitting": {"percentBegin": 80}}')
    assert tail.select("s3://b/2.csv", np.array([0, 9, 10, 49]), 150, 200).tolist() == [
        False,
        False,
        True,
        True,
    ]


def test_random_selection_depends_on_seed_only_deterministically() -> None:
    offsets = np.arange(1000) * 10
    one = parse_rearrangement('{"splitting": {"percentEnd": 50, "strategy": "random", "randomSeed": "a"}}')
    two = parse_rearrangement('{"splitting": {"percentEnd": 50, "strategy": "random", "randomSeed": "b"}}')
    assert np.array_equal(one.select("s3://b/f", offsets, 0, 1), one.select("s3://b/f", offsets, 0, 1))
    assert not np.array_equal(one.select("s3://b/f", offsets, 0, 1), two.select("s3://b/f", offsets, 0, 1))


# --- values ---------------------------------------------------------------------------------------------


def test_parse_numeric() -> None:
    parsed = parse_numeric(["1", " 2.5 ", "", "x", "1e3", "-0.5", "inf", "nan", "1,000"])
    expected = [1.0, 2.5, np.nan, np.nan, 1000.0, -0.5, np.nan, np.nan, np.nan]
    np.testing.assert_array_equal(parsed, expected)
    assert parsed.dtype == np.float64


def test_short_and_long_inputs_parse_alike() -> None:
    tricky = [
        "1",
        " 2.5 ",
        "",
        "x",
        "inf",
        "-Infinity",
        "1e3",
        "NaN",
        None,
        "-0",
        "0x10",
        "1,000",
        "+4",
        ".5",
        "5.",
    ]
    tricky += ["1_000", "\u0663", "1e", "--1", "1 2", "\u00a01", "True", " YES", "f ", "0"]
    for parse in (parse_numeric, parse_binary, is_missing):
        short, long = parse(tricky), parse(tricky * 10)[: len(tricky)]
        np.testing.assert_array_equal(short, long, err_msg=parse.__name__)


def test_parse_binary_spellings() -> None:
    positives = ["1", "y", "yes", "t", "true", " TRUE ", "Yes"]
    negatives = ["0", "n", "no", "f", "false", " FaLSe ", "N"]
    assert parse_binary(positives).tolist() == [1.0] * len(positives)
    assert parse_binary(negatives).tolist() == [0.0] * len(negatives)
    assert np.isnan(parse_binary(["", "2", "maybe", "yess"])).all()


def test_is_missing() -> None:
    assert is_missing(["", "  ", "a", "0"]).tolist() == [True, True, False, False]


# --- statistics -----------------------------------------------------------------------------------------


def chunk_of(columns: dict[str, list[str]], rejected: int = 0) -> Chunk:
    arrays = {name: np.array(values, dtype=object) for name, values in columns.items()}
    rows = len(next(iter(arrays.values())))
    return Chunk(S3Object("s3://b/f.csv", 1), arrays, np.arange(rows), rejected)


def test_statistics_per_type() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, size=3000)
    y = x + rng.normal(0, 1, size=3000) > 10
    columns = {
        "x": [f"{v:.6f}" for v in x],
        "noise": [f"{v:.6f}" for v in rng.normal(size=3000)],
        "colour": list(rng.choice(["red", "green", "blue", ""], size=3000, p=[0.5, 0.3, 0.1, 0.1])),
        "words": ["big cat" if t else "small dog sat" for t in y],
        "y": ["yes" if t else "0" for t in y],
    }
    columns["x"][:3] = ["", "n/a", " "]
    types = ["NUMERIC", "NUMERIC", "CATEGORICAL", "TEXT", "BINARY"]
    schema = parse_schema(schema_text(list(zip(columns, types, strict=True)), targetAttributeName="y"))
    builder = StatisticsBuilder(schema)
    builder.add(chunk_of({k: v[:1000] for k, v in columns.items()}, rejected=2))
    builder.add(chunk_of({k: v[1000:] for k, v in columns.items()}, rejected=1))
    stats = builder.result()
    assert (stats["records"], stats["invalidRecords"], stats["target"]) == (3000, 3, "y")

    numeric = stats["attributes"]["x"]
    valid = parse_numeric(columns["x"])
    valid = valid[~np.isnan(valid)]
    assert (numeric["missing"], numeric["invalid"]) == (2, 1)
    assert numeric["min"] == valid.min()
    assert numeric["max"] == valid.max()
    assert numeric["mean"] == pytest.approx(valid.mean())
    assert numeric["std"] == pytest.approx(valid.std())
    assert numeric["median"] == pytest.approx(np.median(valid))
    assert numeric["quantiles"] == pytest.approx(list(np.quantile(valid, np.linspace(0, 1, 101))))
    assert numeric["distinct"] == len(np.unique(valid))
    assert sum(numeric["histogram"]["counts"]) == len(valid)
    assert len(numeric["histogram"]["edges"]) == len(numeric["histogram"]["counts"]) + 1

    assert stats["attributes"]["y"] == {
        "trueCount": int(y.sum()),
        "falseCount": int((~y).sum()),
        "missing": 0,
        "invalid": 0,
        "targetCorrelation": None,
    }
    colour = stats["attributes"]["colour"]
    assert colour["unique"] == 3
    assert colour["missing"] == columns["colour"].count("")
    assert [value for value, _ in colour["top"]] == ["red", "green", "blue"]
    assert sum(count for _, count in colour["top"]) == 3000 - colour["missing"]
    words = stats["attributes"]["words"]
    assert words["words"] == 2 * int(y.sum()) + 3 * int((~y).sum())
    assert (words["uniqueWords"], words["wordsPerRow"], words["wordLength"]) == (5, [2, 3], [3, 5])
    # mutual information ranks the informative attributes above noise
    correlation = {name: a["targetCorrelation"] for name, a in stats["attributes"].items()}
    assert correlation["words"] > correlation["x"] > correlation["noise"]
    assert correlation["noise"] < 0.05


def test_statistics_without_target_have_no_correlation() -> None:
    builder = StatisticsBuilder(parse_schema(schema_text([("a", "NUMERIC"), ("b", "CATEGORICAL")])))
    builder.add(chunk_of({"a": ["1", "2", "4"], "b": ["x", "y", "x"]}))
    stats = builder.result()
    assert stats["target"] is None
    assert all(a["targetCorrelation"] is None for a in stats["attributes"].values())
    assert stats["attributes"]["a"]["median"] == 2.0


# --- reader over S3 -------------------------------------------------------------------------------------


@pytest.fixture
def store(s3: Any) -> S3Store:
    return S3Store(s3)


def read_all(reader: DataSourceReader, chunk_rows: int = 100_000) -> tuple[list[Chunk], dict[str, list[str]]]:
    chunks = list(reader.chunks(chunk_rows))
    columns = {name: [v for c in chunks for v in c.columns[name]] for name in reader.schema.names}
    return chunks, columns


MESSY = (
    "id,text,flag\r\n"  # header
    '0,"hello, world",yes\r\n'
    "1,short\r\n"  # too few values
    "2,plain,no\r\n"
    "\r\n"  # blank line: not a data line
    '3,"say ""hi""",t\r\n'
    "4,a,b,c\r\n"  # too many values
    '5,"unclosed,f\r\n'
    "6,x\ry,f\r\n"  # stray carriage return
    "7,ünïcödé,1\r\n"
    f"8,{'w' * 110_000},0\r\n"  # longer than 100 KB
    "9,last,false\r\n"
    "\r\n\r\n"
)


def test_reader_keeps_rows_aligned_with_lines_and_rejects_malformed(store: S3Store, bucket: str) -> None:
    uri = put_text(store.client, bucket, f"{unique_id('messy')}/data.csv", MESSY)
    schema = parse_schema(
        schema_text([("id", "NUMERIC"), ("text", "TEXT"), ("flag", "BINARY")], dataFileContainsHeader=True)
    )
    for block_bytes in (1 << 20, 64, 7):
        reader = DataSourceReader(store, schema, store.list(uri), block_bytes=block_bytes)
        chunks, columns = read_all(reader)
        assert columns["id"] == ["0", "2", "3", "7", "9"], block_bytes
        assert columns["text"] == ["hello, world", "plain", 'say "hi"', "ünïcödé", "last"]
        assert columns["flag"] == ["yes", "no", "t", "1", "false"]
        assert [n for c in chunks for n in c.line_numbers] == [0, 2, 3, 7, 9]
        assert sum(c.rejected for c in chunks) == 5
        problems = " | ".join(p for c in chunks for p in c.problems)
        assert "line 3 of" in problems
        assert "2 values where the schema has 3 attributes" in problems
        assert "longer than 102400 bytes" in problems


TRICKY_NUMBERS = ["1", " 2.5 ", "", "x", "inf", "-Infinity", "1e3", "NaN", "-0", "0x10", "+4", ".5", "5."]
TRICKY_NUMBERS += ["1_000", "\u0663", "1e", "--1", "1 2", "\u00a01", "True", "1e400", "1e-400", '"7"', "0.1"]


@pytest.mark.parametrize("clean", [True, False])
def test_numbers_parsed_while_reading_equal_parse_numeric_of_the_text(
    store: S3Store, bucket: str, clean: bool
) -> None:
    """The C parser's numbers (`chunks(numbers=...)`) are exactly `parse_numeric` of the values as text,
    for blocks of plain numbers and for blocks where some value makes pandas fall back."""
    values = [f"{0.37 * i - 40:.4f}" for i in range(300)] + ([] if clean else TRICKY_NUMBERS * 3)
    lines = [f"{value},c{i % 7},{i}" for i, value in enumerate(values)]
    lines.insert(50, "short")  # malformed: rejected by both
    uri = put_text(store.client, bucket, f"{unique_id('numbers')}.csv", "\n".join(lines) + "\n")
    schema = parse_schema(schema_text([("n", "NUMERIC"), ("c", "CATEGORICAL"), ("m", "NUMERIC")]))
    for block_bytes in (1 << 20, 999):
        reader = DataSourceReader(store, schema, store.list(uri), block_bytes=block_bytes)
        as_text = list(reader.chunks(chunk_rows=128))
        as_numbers = list(reader.chunks(chunk_rows=128, numbers={"n"}))
        assert [len(c) for c in as_numbers] == [len(c) for c in as_text]
        for text, number in zip(as_text, as_numbers, strict=True):
            np.testing.assert_array_equal(number.line_numbers, text.line_numbers)
            assert number.rejected == text.rejected
            assert number.columns["n"].dtype == np.float64
            np.testing.assert_array_equal(number.columns["n"], parse_numeric(text.columns["n"]))
            assert number.columns["c"].tolist() == text.columns["c"].tolist()
            assert number.columns["m"].tolist() == text.columns["m"].tolist()  # not asked for: text


def test_reader_skips_a_byte_order_mark(store: S3Store, bucket: str) -> None:
    uri = put_text(store.client, bucket, f"{unique_id('bom')}.csv", "\ufeff1,a\n2,b\n")
    schema = parse_schema(schema_text([("n", "NUMERIC"), ("c", "CATEGORICAL")]))
    for block_bytes in (1 << 20, 2):
        columns = read_all(DataSourceReader(store, schema, store.list(uri), block_bytes=block_bytes))[1]
        assert columns == {"n": ["1", "2"], "c": ["a", "b"]}


def test_reader_falls_back_to_the_csv_module_where_pandas_disagrees(store: S3Store, bucket: str) -> None:
    text = '0,a,b\n1, "a,b",c\n2,"x""y",z\n3,"ab"c,d\n4,ok,ok\n'  # line 2 has 4 values for csv and pandas
    uri = put_text(store.client, bucket, f"{unique_id('fallback')}.csv", text)
    schema = parse_schema(schema_text([("a", "CATEGORICAL"), ("b", "CATEGORICAL"), ("c", "CATEGORICAL")]))
    chunks, columns = read_all(DataSourceReader(store, schema, store.list(uri)))
    assert columns == {"a": ["0", "2", "3", "4"], "b": ["a", 'x"y', "abc", "ok"], "c": ["b", "z", "d", "ok"]}
    assert [n for c in chunks for n in c.line_numbers] == [0, 2, 3, 4]
    assert sum(c.rejected for c in chunks) == 1
    assert "line 2 of" in chunks[0].problems[0]


def test_reader_prefix_of_many_files_header_per_file_and_chunk_size(store: S3Store, bucket: str) -> None:
    prefix = unique_id("many")
    for part in range(3):
        rows = "".join(f"{part},{i}\n" for i in range(25))
        put_text(store.client, bucket, f"{prefix}/part-{part}.csv", "file,row\n" + rows)
    schema = parse_schema(
        schema_text([("file", "CATEGORICAL"), ("row", "NUMERIC")], dataFileContainsHeader=True)
    )
    reader = DataSourceReader(store, schema, store.list(f"s3://{bucket}/{prefix}/"))
    chunks, columns = read_all(reader, chunk_rows=10)
    assert [c.file.name for c in chunks] == ["part-0.csv"] * 3 + ["part-1.csv"] * 3 + ["part-2.csv"] * 3
    assert max(len(c) for c in chunks) == 10
    assert columns["file"] == [str(p) for p in range(3) for _ in range(25)]
    assert [int(n) for c in chunks for n in c.line_numbers] == list(range(25)) * 3


def test_reader_rearrangement_splits_are_complementary_and_ordered(store: S3Store, bucket: str) -> None:
    prefix = unique_id("split")
    for part in range(2):
        put_text(
            store.client, bucket, f"{prefix}/{part}.csv", "".join(f"{part * 500 + i}\n" for i in range(500))
        )
    schema = parse_schema(schema_text([("n", "NUMERIC")]))
    files = store.list(f"s3://{bucket}/{prefix}/")
    for strategy in ("sequential", "random"):
        spec = f'"percentBegin": 30, "percentEnd": 80, "strategy": "{strategy}", "strategyParams": {{"randomSeed": "k"}}'
        train = DataSourceReader(
            store, schema, files, None, parse_rearrangement(f'{{"splitting": {{{spec}}}}}')
        )
        test = DataSourceReader(
            store,
            schema,
            files,
            None,
            parse_rearrangement(f'{{"splitting": {{{spec}, "complement": true}}}}'),
        )
        chosen = [int(v) for v in read_all(train)[1]["n"]]
        others = [int(v) for v in read_all(test)[1]["n"]]
        assert sorted(chosen + others) == list(range(1000))
        assert chosen == sorted(chosen)
        assert others == sorted(others)
        assert 400 < len(chosen) < 600
        if strategy == "sequential":
            assert chosen == list(range(chosen[0], chosen[0] + len(chosen)))


def test_reader_fails_clearly_on_bare_carriage_returns(store: S3Store, bucket: str) -> None:
    uri = put_text(store.client, bucket, f"{unique_id('mac')}.csv", "1,2\r3,4\r5,6\r")
    reader = DataSourceReader(
        store, parse_schema(schema_text([("a", "NUMERIC"), ("b", "NUMERIC")])), store.list(uri)
    )
    with pytest.raises(JobFailed, match=r"bare carriage return"):
        list(reader.chunks())


def test_open_datasource_reads_what_a_datasource_job_left(aml: LocalAml, store: S3Store, bucket: str) -> None:
    """The artifacts come from a real DataSource job of the service, not from this test."""
    data_source_id = unique_id("open")
    uri = put_text(store.client, bucket, f"{data_source_id}.csv", "a\n1\n2\n3\n4\n")
    schema_document = schema_text([("a", "NUMERIC")], dataFileContainsHeader=True)
    ml = aml.client()
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={
            "DataLocationS3": uri,
            "DataSchema": schema_document,
            "DataRearrangement": '{"splitting": {"percentBegin": 50}}',
        },
        ComputeStatistics=True,
    )
    entity = wait_for(ml, "DataSource", data_source_id)
    assert entity["Status"] == "COMPLETED", entity.get("Message")
    reader = open_datasource(store, artifacts_dir(aml.config, "DataSource", data_source_id), entity)
    assert reader.schema == parse_schema(schema_document)
    assert read_all(reader)[1]["a"] == ["3", "4"]  # the second half of 1..4
    assert reader.statistics is not None
    assert reader.statistics["records"] == 2
    assert reader.statistics["attributes"]["a"]["mean"] == 3.5


# --- database URLs --------------------------------------------------------------------------------------


def test_database_url_from_template() -> None:
    plain = DatabaseQuery("postgresql://db.local:5432", "sales", "ann", "secret-pw", "SELECT 1").url()
    assert plain.drivername == "postgresql+psycopg2"
    assert (plain.host, plain.database, plain.username, plain.password) == (
        "db.local",
        "sales",
        "ann",
        "secret-pw",
    )
    carried = DatabaseQuery(
        "mysql://root@127.0.0.1:3306/{database}", "shop", "ann", "secret-pw", "SELECT 1"
    ).url()
    assert carried.drivername == "mysql+pymysql"
    assert (carried.database, carried.username, carried.password) == ("shop", "root", None)
