"""Describe* over HTTP: every filter variable, the comparison operators, sorting and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import schema_text, unique_id
from tests.output_shapes import assert_valid_output

SCHEMA = schema_text(x="NUMERIC", y="BINARY")


def create_data_source(ml: Any, bucket: str, data_source_id: str, name: str) -> None:
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSourceName=name,
        DataSpec={"DataLocationS3": f"s3://{bucket}/{name}/data.csv", "DataSchema": SCHEMA},
    )


def ids(response: dict[str, Any], member: str = "DataSourceId") -> list[str]:
    return [result[member] for result in response["Results"]]


def describe(ml: Any, **request: Any) -> dict[str, Any]:
    response = ml.describe_data_sources(**request)
    assert_valid_output("DescribeDataSources", response)
    return response


@pytest.fixture(scope="module")
def named(ml: Any, bucket: str) -> list[str]:
    """Five datasources whose ID is their name, `<prefix>-0` .. `<prefix>-4`, created in that order."""
    prefix = unique_id("describe")
    created = [f"{prefix}-{i}" for i in range(5)]
    for data_source_id in created:
        create_data_source(ml, bucket, data_source_id, data_source_id)
    return created


def test_prefix_selects_and_sort_order_orders_by_the_filter_variable(ml: Any, named: list[str]) -> None:
    prefix = named[0][:-2]
    assert ids(describe(ml, FilterVariable="Name", Prefix=prefix)) == named
    assert ids(describe(ml, FilterVariable="Name", Prefix=prefix, SortOrder="asc")) == named
    assert ids(describe(ml, FilterVariable="Name", Prefix=prefix, SortOrder="dsc")) == named[::-1]
    assert ids(describe(ml, FilterVariable="Name", Prefix=prefix.upper())) == []


def test_comparisons_combine(ml: Any, named: list[str]) -> None:
    prefix = named[0][:-2]
    assert ids(describe(ml, FilterVariable="Name", EQ=named[2])) == [named[2]]
    between = describe(ml, FilterVariable="Name", Prefix=prefix, GE=named[1], LT=named[4], NE=named[2])
    assert ids(between) == [named[1], named[3]]
    assert ids(describe(ml, FilterVariable="Name", Prefix=prefix, GT=named[1], LE=named[3])) == named[2:4]


def test_time_filters_accept_epoch_seconds_and_iso_8601(ml: Any, named: list[str]) -> None:
    created = ml.get_data_source(DataSourceId=named[2])["CreatedAt"]
    epoch = f"{created.timestamp():.3f}"
    iso = created.astimezone(UTC).isoformat()
    for value in (epoch, iso):
        response = describe(ml, FilterVariable="CreatedAt", EQ=value)
        assert named[2] in ids(response)
    later = describe(ml, FilterVariable="CreatedAt", GT=(created - timedelta(milliseconds=1)).isoformat())
    assert named[0] not in ids(later)
    assert [i for i in ids(later) if i in named][:1] == [named[2]]
    recent = describe(ml, FilterVariable="LastUpdatedAt", GE=epoch, SortOrder="dsc")
    assert set(named[2:]) <= set(ids(recent))


def test_default_order_is_creation_time(ml: Any, named: list[str]) -> None:
    start = ml.get_data_source(DataSourceId=named[0])["CreatedAt"].timestamp()
    response = describe(ml, FilterVariable="CreatedAt", GE=str(start))
    assert [i for i in ids(response) if i in named] == named
    newest_first = describe(ml, SortOrder="dsc", Limit=100)
    assert [i for i in ids(newest_first) if i in named] == named[::-1]


def test_next_token_pages_through_results(ml: Any, named: list[str]) -> None:
    prefix = named[0][:-2]
    seen: list[str] = []
    request: dict[str, Any] = {"FilterVariable": "Name", "Prefix": prefix, "Limit": 2}
    pages = 0
    while True:
        response = describe(ml, **request)
        pages += 1
        seen += ids(response)
        if "NextToken" not in response:
            break
        request["NextToken"] = response["NextToken"]
    assert seen == named
    assert pages == 3
    exact = describe(ml, FilterVariable="Name", Prefix=prefix, Limit=5)
    assert ids(exact) == named
    assert "NextToken" not in exact


def test_boto3_paginator(ml: Any, named: list[str]) -> None:
    prefix = named[0][:-2]
    paginator = ml.get_paginator("describe_data_sources")
    pages = list(paginator.paginate(FilterVariable="Name", Prefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(page["Results"]) for page in pages] == [2, 2, 1]
    assert [i for page in pages for i in ids(page)] == named


@pytest.mark.parametrize("token", ["not-a-token", "eyJvZmZzZXQiOiAtMX0="])
def test_bad_next_token_is_invalid_input(ml: Any, named: list[str], token: str) -> None:
    with pytest.raises(ClientError) as raised:
        ml.describe_data_sources(FilterVariable="Name", Prefix=named[0], NextToken=token)
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"
    assert "NextToken" in raised.value.response["Error"]["Message"]


def test_next_token_of_another_query_is_invalid_input(ml: Any, named: list[str]) -> None:
    token = describe(ml, FilterVariable="Name", Prefix=named[0][:-2], Limit=1)["NextToken"]
    with pytest.raises(ClientError) as raised:
        ml.describe_data_sources(FilterVariable="Name", Prefix=named[0][:-3], NextToken=token, Limit=1)
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"


@pytest.mark.parametrize(
    ("request_members", "named_member"),
    [
        ({"Limit": 101}, "Limit"),
        ({"EQ": "x"}, "FilterVariable"),
        ({"FilterVariable": "CreatedAt", "GT": "yesterday"}, "GT"),
        ({"FilterVariable": "CreatedAt", "Prefix": "2024"}, "Prefix"),
        ({"FilterVariable": "Bogus"}, "FilterVariable"),
    ],
)
def test_bad_describe_requests_are_invalid_input(
    ml: Any, request_members: dict[str, Any], named_member: str
) -> None:
    with pytest.raises(ClientError) as raised:
        ml.describe_data_sources(**request_members)
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"
    assert named_member.lower() in raised.value.response["Error"]["Message"].lower()


def test_data_location_and_iam_user_filters(ml: Any, bucket: str, named: list[str]) -> None:
    location = f"s3://{bucket}/{named[3]}/"
    assert ids(describe(ml, FilterVariable="DataLocationS3", Prefix=location)) == [named[3]]
    caller = ml.get_data_source(DataSourceId=named[0])["CreatedByIamUser"]
    mine = describe(ml, FilterVariable="IAMUser", EQ=caller, SortOrder="dsc", Limit=100)
    assert set(named) <= set(ids(mine))
    nobody = describe(ml, FilterVariable="IAMUser", EQ="arn:aws:iam::000000000000:user/nobody")
    assert nobody["Results"] == []


def test_deleted_entities_are_described_with_their_status(ml: Any, bucket: str) -> None:
    data_source_id = unique_id("describe-deleted")
    create_data_source(ml, bucket, data_source_id, data_source_id)
    ml.delete_data_source(DataSourceId=data_source_id)
    [result] = describe(ml, FilterVariable="Name", EQ=data_source_id)["Results"]
    assert result["Status"] == "DELETED"
    deleted = describe(ml, FilterVariable="Status", EQ="DELETED", SortOrder="dsc")
    assert data_source_id in ids(deleted)
    others = describe(ml, FilterVariable="Status", NE="DELETED", SortOrder="dsc")
    assert data_source_id not in ids(others)


@pytest.fixture(scope="module")
def family(ml: Any, bucket: str) -> dict[str, str]:
    """A datasource, a BINARY model on it, an evaluation and a batch prediction of that model."""
    family = {kind: unique_id(f"family-{kind}") for kind in ("ds", "other-ds", "ml", "ev", "bp")}
    create_data_source(ml, bucket, family["ds"], family["ds"])
    create_data_source(ml, bucket, family["other-ds"], family["other-ds"])
    ml.create_ml_model(
        MLModelId=family["ml"],
        MLModelType="BINARY",
        TrainingDataSourceId=family["ds"],
        MLModelName=family["ml"],
    )
    ml.create_evaluation(
        EvaluationId=family["ev"], MLModelId=family["ml"], EvaluationDataSourceId=family["other-ds"]
    )
    ml.create_batch_prediction(
        BatchPredictionId=family["bp"],
        MLModelId=family["ml"],
        BatchPredictionDataSourceId=family["other-ds"],
        OutputUri=f"s3://{bucket}/{family['bp']}/",
    )
    return family


def test_ml_model_filters(ml: Any, bucket: str, family: dict[str, str]) -> None:
    def models(**request: Any) -> list[str]:
        response = ml.describe_ml_models(**request)
        assert_valid_output("DescribeMLModels", response)
        return ids(response, "MLModelId")

    model = family["ml"]
    assert models(FilterVariable="TrainingDataSourceId", EQ=family["ds"]) == [model]
    assert models(FilterVariable="TrainingDataURI", Prefix=f"s3://{bucket}/{family['ds']}/") == [model]
    assert model in models(FilterVariable="MLModelType", EQ="BINARY", SortOrder="dsc")
    assert model not in models(FilterVariable="MLModelType", NE="BINARY", SortOrder="dsc")
    assert model in models(FilterVariable="Algorithm", EQ="sgd", SortOrder="dsc")
    assert model in models(FilterVariable="RealtimeEndpointStatus", EQ="NONE", SortOrder="dsc")
    assert models(FilterVariable="Name", EQ=model) == [model]
    [result] = ml.describe_ml_models(FilterVariable="Name", EQ=model)["Results"]
    assert result["Algorithm"] == "sgd"
    assert "LogUri" not in result
    assert "Recipe" not in result


@pytest.mark.parametrize(
    ("operation", "member", "data_source_member"),
    [
        ("describe_evaluations", "EvaluationId", "ev"),
        ("describe_batch_predictions", "BatchPredictionId", "bp"),
    ],
)
def test_evaluation_and_batch_prediction_filters(
    ml: Any, bucket: str, family: dict[str, str], operation: str, member: str, data_source_member: str
) -> None:
    def found(**request: Any) -> list[str]:
        response = getattr(ml, operation)(**request)
        assert_valid_output("".join(part.title() for part in operation.split("_")), response)
        return ids(response, member)

    expected = [family[data_source_member]]
    assert found(FilterVariable="MLModelId", EQ=family["ml"]) == expected
    assert found(FilterVariable="DataSourceId", EQ=family["other-ds"]) == expected
    assert found(FilterVariable="DataSourceId", EQ=family["ds"]) == []
    assert found(FilterVariable="DataURI", Prefix=f"s3://{bucket}/{family['other-ds']}/") == expected
    assert expected[0] in found(FilterVariable="LastUpdatedAt", GT="2000-01-01", SortOrder="dsc")


def test_filters_by_time_accept_dates_without_zone(ml: Any, named: list[str]) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert set(named) <= set(ids(describe(ml, FilterVariable="CreatedAt", LT=tomorrow, SortOrder="dsc")))
    assert describe(ml, FilterVariable="CreatedAt", GT=tomorrow)["Results"] == []
