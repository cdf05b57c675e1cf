"""AddTags, DescribeTags and DeleteTags over HTTP, on every taggable kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import schema_text, unique_id
from tests.output_shapes import assert_valid_output

SCHEMA = schema_text(x="NUMERIC", y="BINARY")
KINDS = ["DataSource", "MLModel", "Evaluation", "BatchPrediction"]


@pytest.fixture
def new_entity(ml: Any, bucket: str) -> Callable[[str], str]:
    """Creates an entity of a kind (with whatever it needs) and answers its ID."""

    def data_source() -> str:
        data_source_id = unique_id("tags-ds")
        ml.create_data_source_from_s3(
            DataSourceId=data_source_id,
            DataSpec={"DataLocationS3": f"s3://{bucket}/{data_source_id}.csv", "DataSchema": SCHEMA},
        )
        return data_source_id

    def model() -> str:
        model_id = unique_id("tags-ml")
        ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source())
        return model_id

    def create(kind: str) -> str:
        if kind == "DataSource":
            return data_source()
        if kind == "MLModel":
            return model()
        entity_id = unique_id(f"tags-{kind}")
        if kind == "Evaluation":
            ml.create_evaluation(
                EvaluationId=entity_id, MLModelId=model(), EvaluationDataSourceId=data_source()
            )
        else:
            ml.create_batch_prediction(
                BatchPredictionId=entity_id,
                MLModelId=model(),
                BatchPredictionDataSourceId=data_source(),
                OutputUri=f"s3://{bucket}/{entity_id}/",
            )
        return entity_id

    return create


def tags_of(ml: Any, kind: str, entity_id: str) -> list[dict[str, str]]:
    response = ml.describe_tags(ResourceId=entity_id, ResourceType=kind)
    assert_valid_output("DescribeTags", response)
    assert (response["ResourceId"], response["ResourceType"]) == (entity_id, kind)
    return list(response["Tags"])


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


@pytest.mark.parametrize("kind", KINDS)
def test_add_overwrite_and_delete_tags(ml: Any, new_entity: Callable[[str], str], kind: str) -> None:
    entity_id = new_entity(kind)
    assert tags_of(ml, kind, entity_id) == []
    added = ml.add_tags(
        ResourceId=entity_id,
        ResourceType=kind,
        Tags=[{"Key": "team", "Value": "growth"}, {"Key": "champion"}, {"Key": "stage", "Value": ""}],
    )
    assert_valid_output("AddTags", added)
    assert (added["ResourceId"], added["ResourceType"]) == (entity_id, kind)
    assert tags_of(ml, kind, entity_id) == [
        {"Key": "champion"},
        {"Key": "stage", "Value": ""},
        {"Key": "team", "Value": "growth"},
    ]
    ml.add_tags(ResourceId=entity_id, ResourceType=kind, Tags=[{"Key": "team", "Value": "risk"}])
    assert {"Key": "team", "Value": "risk"} in tags_of(ml, kind, entity_id)
    deleted = ml.delete_tags(ResourceId=entity_id, ResourceType=kind, TagKeys=["champion", "never-added"])
    assert_valid_output("DeleteTags", deleted)
    assert tags_of(ml, kind, entity_id) == [{"Key": "stage", "Value": ""}, {"Key": "team", "Value": "risk"}]


def test_tag_keys_are_case_sensitive(ml: Any, new_entity: Callable[[str], str]) -> None:
    entity_id = new_entity("DataSource")
    ml.add_tags(
        ResourceId=entity_id,
        ResourceType="DataSource",
        Tags=[{"Key": "Env", "Value": "a"}, {"Key": "env", "Value": "b"}],
    )
    assert len(tags_of(ml, "DataSource", entity_id)) == 2


@pytest.mark.parametrize("key", ["aws:owner", "AWS:owner"])
def test_reserved_keys_are_invalid_tags(ml: Any, new_entity: Callable[[str], str], key: str) -> None:
    entity_id = new_entity("DataSource")
    with pytest.raises(ClientError) as raised:
        ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": key, "Value": "x"}])
    assert error_code(raised) == "InvalidTagException"
    with pytest.raises(ClientError) as raised:
        ml.delete_tags(ResourceId=entity_id, ResourceType="DataSource", TagKeys=[key])
    assert error_code(raised) == "InvalidTagException"
    assert tags_of(ml, "DataSource", entity_id) == []


def test_tag_characters_follow_the_api_pattern(ml: Any, new_entity: Callable[[str], str]) -> None:
    """Unicode letters, digits and spaces are fine; a tab or a '%' is not (no \\p class matches it)."""
    entity_id = new_entity("DataSource")
    ml.add_tags(
        ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": "équipe données 2", "Value": "ça va"}]
    )
    assert tags_of(ml, "DataSource", entity_id) == [{"Key": "équipe données 2", "Value": "ça va"}]
    for key in ("tab\there", "100%"):
        with pytest.raises(ClientError) as raised:
            ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": key, "Value": "x"}])
        assert error_code(raised) == "InvalidInputException"
        assert "key" in str(raised.value)


def test_an_object_holds_at_most_fifty_tags(ml: Any, new_entity: Callable[[str], str]) -> None:
    entity_id = new_entity("DataSource")
    with pytest.raises(ClientError) as raised:
        ml.add_tags(
            ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": f"k{i}"} for i in range(51)]
        )
    assert error_code(raised) == "TagLimitExceededException"
    assert tags_of(ml, "DataSource", entity_id) == []
    ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": f"k{i}"} for i in range(49)])
    ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": "k0", "Value": "again"}])
    ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": "k49"}])
    with pytest.raises(ClientError) as raised:
        ml.add_tags(ResourceId=entity_id, ResourceType="DataSource", Tags=[{"Key": "k50"}])
    assert error_code(raised) == "TagLimitExceededException"
    assert len(tags_of(ml, "DataSource", entity_id)) == 50


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_resources_are_not_found(ml: Any, kind: str) -> None:
    missing = unique_id("missing")
    calls = [
        lambda: ml.add_tags(ResourceId=missing, ResourceType=kind, Tags=[{"Key": "k"}]),
        lambda: ml.delete_tags(ResourceId=missing, ResourceType=kind, TagKeys=["k"]),
        lambda: ml.describe_tags(ResourceId=missing, ResourceType=kind),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "ResourceNotFoundException"


def test_tags_of_a_deleted_object_cannot_change(ml: Any, new_entity: Callable[[str], str]) -> None:
    entity_id = new_entity("MLModel")
    ml.add_tags(ResourceId=entity_id, ResourceType="MLModel", Tags=[{"Key": "kept", "Value": "yes"}])
    ml.delete_ml_model(MLModelId=entity_id)
    with pytest.raises(ClientError) as raised:
        ml.add_tags(ResourceId=entity_id, ResourceType="MLModel", Tags=[{"Key": "k"}])
    assert error_code(raised) == "InvalidInputException"
    with pytest.raises(ClientError) as raised:
        ml.delete_tags(ResourceId=entity_id, ResourceType="MLModel", TagKeys=["kept"])
    assert error_code(raised) == "InvalidInputException"
    assert tags_of(ml, "MLModel", entity_id) == [{"Key": "kept", "Value": "yes"}]


def test_tags_belong_to_one_kind(ml: Any, bucket: str) -> None:
    shared_id = unique_id("tags-shared")
    ml.create_data_source_from_s3(
        DataSourceId=shared_id,
        DataSpec={"DataLocationS3": f"s3://{bucket}/{shared_id}.csv", "DataSchema": SCHEMA},
    )
    ml.create_ml_model(MLModelId=shared_id, MLModelType="BINARY", TrainingDataSourceId=shared_id)
    ml.add_tags(ResourceId=shared_id, ResourceType="DataSource", Tags=[{"Key": "of", "Value": "ds"}])
    assert tags_of(ml, "MLModel", shared_id) == []
    assert tags_of(ml, "DataSource", shared_id) == [{"Key": "of", "Value": "ds"}]
