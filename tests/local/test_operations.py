"""The operations over HTTP with boto3: creates, documents, idempotency, updates and deletes (endpoints and
Predict: test_endpoints.py)."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import time
import urllib.request
from typing import Any

import pytest

from aml_provider.local import LocalAml
from tests.helpers import unique_id, wait_for
from tests.local.operations import SCHEMA, binary_csv, error_of, get, s3_data_source, snake
from tests.output_shapes import assert_valid_output

KINDS = ["DataSource", "MLModel", "Evaluation", "BatchPrediction"]
#: The training parameters Amazon ML documents as the defaults of CreateMLModel (32 MiB size cap).
AMAZON_ML_DEFAULTS = {
    "algorithm": "sgd",
    "sgd.maxPasses": "10",
    "sgd.shuffleType": "none",
    "sgd.l1RegularizationAmount": "0.0",
    "sgd.l2RegularizationAmount": "1e-06",
    "sgd.maxMLModelSizeInBytes": str(32 * 1024 * 1024),
}


@pytest.fixture(scope="module")
def trained(ml: Any, s3: Any, bucket: str) -> dict[str, str]:
    """Training and test datasources, a BINARY model, its evaluation and batch prediction, all sent at once."""
    ids = {
        "train": s3_data_source(ml, s3, bucket, ComputeStatistics=True, DataSourceName="train"),
        "test": s3_data_source(ml, s3, bucket, rows=100, seed=8),
        "model": unique_id("ml"),
        "evaluation": unique_id("ev"),
        "batch": unique_id("bp"),
    }
    ml.create_ml_model(
        MLModelId=ids["model"],
        MLModelName="binary model",
        MLModelType="BINARY",
        TrainingDataSourceId=ids["train"],
        Parameters={"sgd.maxPasses": "5", "sgd.shuffleType": "auto"},
    )
    ml.create_evaluation(
        EvaluationId=ids["evaluation"], MLModelId=ids["model"], EvaluationDataSourceId=ids["test"]
    )
    ml.create_batch_prediction(
        BatchPredictionId=ids["batch"],
        MLModelId=ids["model"],
        BatchPredictionDataSourceId=ids["test"],
        OutputUri=f"s3://{bucket}/{ids['batch']}/",
    )
    return ids


# --- datasources -------------------------------------------------------------------------------------


def test_datasource_from_s3_runs_to_completed(ml: Any, s3: Any, bucket: str) -> None:
    text, name = binary_csv(), unique_id("from s3")
    data_source_id = s3_data_source(ml, s3, bucket, ComputeStatistics=True, DataSourceName=name)
    assert get(ml, "DataSource", data_source_id)["Status"] in ("PENDING", "INPROGRESS", "COMPLETED")
    done = wait_for(ml, "DataSource", data_source_id)
    assert done["Status"] == "COMPLETED", done.get("Message")
    assert done["Name"] == name
    assert done["DataSizeInBytes"] == len(text.encode())
    assert done["NumberOfFiles"] == 1
    assert done["ComputeStatistics"] is True
    assert done["ComputeTime"] >= 0
    assert done["StartedAt"] <= done["FinishedAt"]
    assert done["LogUri"].endswith(f"/logs/DataSource/{data_source_id}")
    assert re.fullmatch(r"arn:aws:iam::[0-9]+:((user/.+)|(root))", done["CreatedByIamUser"])
    verbose = get(ml, "DataSource", data_source_id, Verbose=True)
    assert json.loads(verbose["DataSourceSchema"])["targetAttributeName"] == "y"
    [described] = ml.describe_data_sources(FilterVariable="Name", EQ=name)["Results"]
    assert "LogUri" not in described
    assert "DataSourceSchema" not in described
    with urllib.request.urlopen(done["LogUri"]) as log:
        assert data_source_id in log.read().decode()


def test_datasource_without_statistics_has_no_compute_time(ml: Any, s3: Any, bucket: str) -> None:
    done = wait_for(ml, "DataSource", s3_data_source(ml, s3, bucket))
    assert done["Status"] == "COMPLETED", done.get("Message")
    assert "ComputeTime" not in done


def test_missing_data_fails_the_datasource(ml: Any, bucket: str) -> None:
    data_source_id = unique_id("ds-missing")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={
            "DataLocationS3": f"s3://{bucket}/{data_source_id}/none.csv",
            "DataSchema": json.dumps(SCHEMA),
        },
    )
    failed = wait_for(ml, "DataSource", data_source_id)
    assert failed["Status"] == "FAILED"
    assert failed["Message"].startswith(f"No data found at s3://{bucket}/{data_source_id}/none.csv")
    assert "FinishedAt" in failed
    assert "ComputeTime" not in failed


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({}, "DataSchema"),
        ({"DataSchema": "{not json"}, "DataSchema"),
        ({"DataSchema": json.dumps({**SCHEMA, "targetAttributeName": "nope"})}, "DataSchema"),
        ({"DataSchema": json.dumps(SCHEMA), "DataRearrangement": '{"splitting": 3}'}, "DataRearrangement"),
    ],
)
def test_bad_datasource_requests_are_invalid_input(
    ml: Any, bucket: str, spec: dict[str, str], named: str
) -> None:
    data_source_id = unique_id("ds-bad")
    code, message = error_of(
        lambda: ml.create_data_source_from_s3(
            DataSourceId=data_source_id, DataSpec={"DataLocationS3": f"s3://{bucket}/x.csv", **spec}
        )
    )
    assert code == "InvalidInputException"
    assert named in message
    assert error_of(lambda: ml.get_data_source(DataSourceId=data_source_id))[0] == "ResourceNotFoundException"


def redshift_request(
    bucket: str, data_source_id: str, password: str, query: str = "SELECT 1 AS x"
) -> dict[str, Any]:
    return {
        "DataSourceId": data_source_id,
        "DataSpec": {
            "DatabaseInformation": {"DatabaseName": "postgres", "ClusterIdentifier": "local-cluster"},
            "SelectSqlQuery": query,
            "DatabaseCredentials": {"Username": "postgres", "Password": password},
            "S3StagingLocation": f"s3://{bucket}/{data_source_id}/staging/",
        },
        "RoleARN": "arn:aws:iam::123456789012:role/aml",
    }


def rds_request(bucket: str, data_source_id: str, password: str) -> dict[str, Any]:
    return {
        "DataSourceId": data_source_id,
        "RDSData": {
            "DatabaseInformation": {"InstanceIdentifier": "local-db", "DatabaseName": "aml"},
            "SelectSqlQuery": "SELECT 1 AS x",
            "DatabaseCredentials": {"Username": "aml", "Password": password},
            "S3StagingLocation": f"s3://{bucket}/{data_source_id}/staging/",
            "ResourceRole": "DataPipelineDefaultResourceRole",
            "ServiceRole": "DataPipelineDefaultRole",
            "SubnetId": "subnet-1",
            "SecurityGroupIds": ["sg-1"],
        },
        "RoleARN": "arn:aws:iam::123456789012:role/aml",
    }


def test_database_datasources_never_store_or_return_passwords(aml: LocalAml, ml: Any, bucket: str) -> None:
    password = unique_id("Secret")
    redshift_id, rds_id = unique_id("ds-redshift"), unique_id("ds-rds")
    assert ml.create_data_source_from_redshift(**redshift_request(bucket, redshift_id, password))
    assert ml.create_data_source_from_rds(**rds_request(bucket, rds_id, password))

    redshift = get(ml, "DataSource", redshift_id)
    assert redshift["RedshiftMetadata"] == {
        "RedshiftDatabase": {"DatabaseName": "postgres", "ClusterIdentifier": "local-cluster"},
        "DatabaseUserName": "postgres",
    }
    assert redshift["RoleARN"] == "arn:aws:iam::123456789012:role/aml"
    assert (
        get(ml, "DataSource", redshift_id, Verbose=True)["RedshiftMetadata"]["SelectSqlQuery"]
        == "SELECT 1 AS x"
    )
    rds = get(ml, "DataSource", rds_id)
    assert re.fullmatch(r"df-[A-Z0-9]{19}", rds["RDSMetadata"]["DataPipelineId"])
    assert rds["RDSMetadata"]["ResourceRole"] == "DataPipelineDefaultResourceRole"
    assert "SelectSqlQuery" not in rds["RDSMetadata"]
    assert get(ml, "DataSource", rds_id, Verbose=True)["RDSMetadata"]["SelectSqlQuery"] == "SELECT 1 AS x"

    for data_source_id in (redshift_id, rds_id):
        wait_for(ml, "DataSource", data_source_id)
        shown = json.dumps(get(ml, "DataSource", data_source_id, Verbose=True), default=str)
        assert password not in shown
    described = ml.describe_data_sources(FilterVariable="DataLocationS3", Prefix=f"s3://{bucket}/ds-r")
    assert password not in json.dumps(described, default=str)
    with sqlite3.connect(aml.config.data_dir / "state.db") as db:
        rows = db.execute("SELECT document || request FROM entities").fetchall()
    assert not any(password in row[0] for row in rows)


def test_database_datasource_creates_are_idempotent(ml: Any, bucket: str) -> None:
    data_source_id = unique_id("ds-redshift")
    request = redshift_request(bucket, data_source_id, "first-password")
    ml.create_data_source_from_redshift(**request)
    assert ml.create_data_source_from_redshift(**request)["DataSourceId"] == data_source_id
    code, _ = error_of(
        lambda: ml.create_data_source_from_redshift(
            **redshift_request(bucket, data_source_id, "x" * 8, "SELECT 2")
        )
    )
    assert code == "IdempotentParameterMismatchException"


# --- models, evaluations, batch predictions ----------------------------------------------------------


def test_pipeline_sent_at_once_runs_in_dependency_order(
    aml: LocalAml, ml: Any, s3: Any, trained: dict[str, str]
) -> None:
    model = wait_for(ml, "MLModel", trained["model"], timeout=120)
    assert model["Status"] == "COMPLETED", model.get("Message")
    train = get(ml, "DataSource", trained["train"])
    assert model["StartedAt"] >= train["FinishedAt"]
    assert model["SizeInBytes"] > 0
    assert model["ComputeTime"] >= 0
    assert model["InputDataLocationS3"] == train["DataLocationS3"]
    assert model["TrainingParameters"]["sgd.maxPasses"] == "5"
    assert model["ScoreThreshold"] == 0.5
    assert model["EndpointInfo"] == {"EndpointStatus": "NONE", "PeakRequestsPerSecond": 0}
    assert "Algorithm" not in model
    verbose = get(ml, "MLModel", trained["model"], Verbose=True)
    assert "outputs" in json.loads(verbose["Recipe"])
    assert json.loads(verbose["Schema"])["targetAttributeName"] == "y"

    evaluation = wait_for(ml, "Evaluation", trained["evaluation"], timeout=120)
    assert evaluation["Status"] == "COMPLETED", evaluation.get("Message")
    assert float(evaluation["PerformanceMetrics"]["Properties"]["BinaryAUC"]) > 0.8
    assert evaluation["InputDataLocationS3"] == get(ml, "DataSource", trained["test"])["DataLocationS3"]
    with urllib.request.urlopen(evaluation["LogUri"]) as log:
        assert "log" in json.loads(log.read())

    batch = wait_for(ml, "BatchPrediction", trained["batch"], timeout=120)
    assert batch["Status"] == "COMPLETED", batch.get("Message")
    assert batch["TotalRecordCount"] == 100
    assert batch["InvalidRecordCount"] == 0
    bucket_name, prefix = batch["OutputUri"][5:].split("/", 1)
    manifest = s3.get_object(Bucket=bucket_name, Key=f"{prefix}batch-prediction/{trained['batch']}.manifest")
    assert len(json.loads(manifest["Body"].read())) == 1


def test_model_waits_for_a_datasource_that_is_still_running(ml: Any, s3: Any, bucket: str) -> None:
    data_source_id = s3_data_source(ml, s3, bucket, ComputeStatistics=True)
    model_id = unique_id("ml-chained")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=data_source_id)
    assert get(ml, "MLModel", model_id)["Status"] in ("PENDING", "INPROGRESS", "COMPLETED")
    model = wait_for(ml, "MLModel", model_id, timeout=120)
    assert model["Status"] == "COMPLETED", model.get("Message")


def test_a_failed_or_deleted_dependency_fails_the_dependent(ml: Any, s3: Any, bucket: str) -> None:
    missing = unique_id("ds-missing")
    ml.create_data_source_from_s3(
        DataSourceId=missing,
        DataSpec={"DataLocationS3": f"s3://{bucket}/{missing}.csv", "DataSchema": json.dumps(SCHEMA)},
    )
    model_id = unique_id("ml-orphan")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=missing)
    failed = wait_for(ml, "MLModel", model_id)
    assert failed["Status"] == "FAILED"
    assert missing in failed["Message"]
    evaluation_id = unique_id("ev-orphan")
    ml.create_evaluation(EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=missing)
    assert model_id in wait_for(ml, "Evaluation", evaluation_id)["Message"]

    deleted = s3_data_source(ml, s3, bucket)
    ml.delete_data_source(DataSourceId=deleted)
    model_id = unique_id("ml-on-deleted")
    ml.create_ml_model(MLModelId=model_id, MLModelType="BINARY", TrainingDataSourceId=deleted)
    failed = wait_for(ml, "MLModel", model_id)
    assert failed["Status"] == "FAILED"
    assert deleted in failed["Message"]
    assert "DELETED" in failed["Message"]


def test_regression_model_document(ml: Any, s3: Any, bucket: str) -> None:
    schema = json.dumps({**SCHEMA, "targetAttributeName": "x1"})
    source = s3_data_source(ml, s3, bucket, DataSpec={"DataSchema": schema})
    model_id = unique_id("ml-regression")
    ml.create_ml_model(MLModelId=model_id, MLModelType="REGRESSION", TrainingDataSourceId=source)
    model = get(ml, "MLModel", model_id)
    assert (model["MLModelType"], model["TrainingDataSourceId"]) == ("REGRESSION", source)
    assert "ScoreThreshold" not in model
    assert model["EndpointInfo"] == {"EndpointStatus": "NONE", "PeakRequestsPerSecond": 0}
    assert model["TrainingParameters"] == AMAZON_ML_DEFAULTS
    [described] = ml.describe_ml_models(FilterVariable="TrainingDataSourceId", EQ=source)["Results"]
    assert described["Algorithm"] == "sgd"


@pytest.mark.parametrize(
    ("members", "named"),
    [
        ({"TrainingDataSourceId": "no-such-datasource"}, "TrainingDataSourceId"),
        ({"Recipe": '{"outputs": ["ALL_NUMERIC"]}', "RecipeUri": "s3://b/recipe.json"}, "RecipeUri"),
        ({"Recipe": '{"outputs": ["nonsense(x1"]}'}, "Recipe"),
        ({"Parameters": {"sgd.bogus": "1"}}, "sgd.bogus"),
        ({"Parameters": {"sgd.maxPasses": "0"}}, "sgd.maxPasses"),
        ({"MLModelType": "REGRESSION"}, "MLModelType"),
        ({"MLModelType": "MULTICLASS"}, "MLModelType"),
    ],
)
def test_bad_model_requests_are_invalid_input(
    ml: Any, s3: Any, bucket: str, members: dict[str, Any], named: str
) -> None:
    request = {
        "MLModelId": unique_id("ml-bad"),
        "MLModelType": "BINARY",
        "TrainingDataSourceId": s3_data_source(ml, s3, bucket),
    } | members
    code, message = error_of(lambda: ml.create_ml_model(**request))
    assert code == "InvalidInputException"
    assert named in message


@pytest.mark.parametrize(
    ("operation", "members", "named"),
    [
        ("create_evaluation", {"MLModelId": "no-such-model"}, "MLModelId"),
        ("create_evaluation", {"EvaluationDataSourceId": "no-such-datasource"}, "EvaluationDataSourceId"),
        ("create_batch_prediction", {"MLModelId": "no-such-model"}, "MLModelId"),
        ("create_batch_prediction", {"BatchPredictionDataSourceId": "nope"}, "BatchPredictionDataSourceId"),
        ("create_batch_prediction", {"OutputUri": "s3://bucket/a//b/"}, "OutputUri"),
        ("create_batch_prediction", {"OutputUri": "s3://bucket/a/../b/"}, "OutputUri"),
        ("create_batch_prediction", {"OutputUri": "s3://bucket/a:b/"}, "OutputUri"),
    ],
)
def test_bad_evaluation_and_batch_requests_are_invalid_input(
    ml: Any, trained: dict[str, str], operation: str, members: dict[str, str], named: str
) -> None:
    if operation == "create_evaluation":
        request = {
            "EvaluationId": unique_id("ev"),
            "MLModelId": trained["model"],
            "EvaluationDataSourceId": trained["test"],
        }
    else:
        request = {
            "BatchPredictionId": unique_id("bp"),
            "MLModelId": trained["model"],
            "BatchPredictionDataSourceId": trained["test"],
            "OutputUri": "s3://bucket/out/",
        }
    code, message = error_of(lambda: getattr(ml, operation)(**(request | members)))
    assert code == "InvalidInputException"
    assert named.lower() in message.lower()  # validation errors spell members as AWS does: outputUri


@pytest.fixture
def create_requests(
    ml: Any, s3: Any, bucket: str, trained: dict[str, str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """One create request per kind: operation name and request members."""
    return {
        "DataSource": (
            "create_data_source_from_s3",
            {
                "DataSourceId": unique_id("ds-again"),
                "DataSpec": {"DataLocationS3": f"s3://{bucket}/again.csv", "DataSchema": json.dumps(SCHEMA)},
            },
        ),
        "MLModel": (
            "create_ml_model",
            {
                "MLModelId": unique_id("ml-again"),
                "MLModelType": "BINARY",
                "TrainingDataSourceId": trained["train"],
            },
        ),
        "Evaluation": (
            "create_evaluation",
            {
                "EvaluationId": unique_id("ev-again"),
                "MLModelId": trained["model"],
                "EvaluationDataSourceId": trained["test"],
            },
        ),
        "BatchPrediction": (
            "create_batch_prediction",
            {
                "BatchPredictionId": unique_id("bp-again"),
                "MLModelId": trained["model"],
                "BatchPredictionDataSourceId": trained["test"],
                "OutputUri": f"s3://{bucket}/again/",
            },
        ),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_creates_are_idempotent(
    ml: Any, create_requests: dict[str, tuple[str, dict[str, Any]]], kind: str
) -> None:
    operation, request = create_requests[kind]
    entity_id = request[f"{kind}Id"]
    first = getattr(ml, operation)(**request)
    again = getattr(ml, operation)(**request)
    assert first[f"{kind}Id"] == again[f"{kind}Id"] == entity_id
    described = getattr(ml, f"describe_{snake(kind)}s")(
        FilterVariable="CreatedAt", GT="0", SortOrder="dsc", Limit=100
    )
    assert [r[f"{kind}Id"] for r in described["Results"]].count(entity_id) == 1
    renamed = request | {f"{kind}Name": "another name"}
    code, message = error_of(lambda: getattr(ml, operation)(**renamed))
    assert code == "IdempotentParameterMismatchException"
    assert entity_id in message


# --- updates and deletes ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_update_renames(ml: Any, create_requests: dict[str, tuple[str, dict[str, Any]]], kind: str) -> None:
    operation, request = create_requests[kind]
    entity_id = request[f"{kind}Id"]
    getattr(ml, operation)(**request)
    before = get(ml, kind, entity_id)
    response = getattr(ml, f"update_{snake(kind)}")(**{f"{kind}Id": entity_id, f"{kind}Name": "renamed"})
    assert_valid_output(f"Update{kind}", response)
    after = get(ml, kind, entity_id)
    assert after["Name"] == "renamed"
    assert after["LastUpdatedAt"] >= before["LastUpdatedAt"]
    assert after["CreatedAt"] == before["CreatedAt"]


@pytest.mark.parametrize("kind", KINDS)
def test_delete_keeps_the_entity_as_deleted(
    ml: Any, create_requests: dict[str, tuple[str, dict[str, Any]]], kind: str
) -> None:
    operation, request = create_requests[kind]
    entity_id = request[f"{kind}Id"]
    getattr(ml, operation)(**request)
    delete = getattr(ml, f"delete_{snake(kind)}")
    response = delete(**{f"{kind}Id": entity_id})
    assert_valid_output(f"Delete{kind}", response)
    assert response[f"{kind}Id"] == entity_id
    assert get(ml, kind, entity_id)["Status"] == "DELETED"
    assert error_of(lambda: delete(**{f"{kind}Id": entity_id}))[0] == "ResourceNotFoundException"
    update = getattr(ml, f"update_{snake(kind)}")
    assert (
        error_of(lambda: update(**{f"{kind}Id": entity_id, f"{kind}Name": "x"}))[0] == "InvalidInputException"
    )
    time.sleep(0.2)
    assert get(ml, kind, entity_id)["Status"] == "DELETED"


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_ids_are_not_found(ml: Any, kind: str) -> None:
    missing = {f"{kind}Id": unique_id("missing")}
    for call in (
        lambda: getattr(ml, f"get_{snake(kind)}")(**missing),
        lambda: getattr(ml, f"update_{snake(kind)}")(**missing, **{f"{kind}Name": "x"}),
        lambda: getattr(ml, f"delete_{snake(kind)}")(**missing),
    ):
        assert error_of(call)[0] == "ResourceNotFoundException"


def test_update_ml_model_threshold_and_name(ml: Any, trained: dict[str, str]) -> None:
    model_id = trained["model"]
    assert wait_for(ml, "MLModel", model_id, timeout=120)["Status"] == "COMPLETED"
    assert error_of(lambda: ml.update_ml_model(MLModelId=model_id))[0] == "InvalidInputException"
    for threshold in (-0.1, 1.5):
        code, message = error_of(
            functools.partial(ml.update_ml_model, MLModelId=model_id, ScoreThreshold=threshold)
        )
        assert (code, "ScoreThreshold" in message) == ("InvalidInputException", True)
    response = ml.update_ml_model(MLModelId=model_id, ScoreThreshold=0.7, MLModelName="tuned")
    assert_valid_output("UpdateMLModel", response)
    model = get(ml, "MLModel", model_id)
    assert (model["ScoreThreshold"], model["Name"]) == (0.7, "tuned")
    assert "ScoreThresholdLastUpdatedAt" in model
    ml.update_ml_model(MLModelId=model_id, ScoreThreshold=0.5)


def test_threshold_needs_a_completed_binary_model(ml: Any, s3: Any, bucket: str) -> None:
    schema = json.dumps({**SCHEMA, "targetAttributeName": "x1"})
    regression_id = unique_id("ml-regression")
    source = s3_data_source(ml, s3, bucket, DataSpec={"DataSchema": schema})
    ml.create_ml_model(MLModelId=regression_id, MLModelType="REGRESSION", TrainingDataSourceId=source)
    code, message = error_of(lambda: ml.update_ml_model(MLModelId=regression_id, ScoreThreshold=0.5))
    assert code == "InvalidInputException"
    assert "BINARY" in message
    missing = unique_id("ds-missing")
    ml.create_data_source_from_s3(
        DataSourceId=missing,
        DataSpec={"DataLocationS3": f"s3://{bucket}/{missing}.csv", "DataSchema": json.dumps(SCHEMA)},
    )
    failed_id = unique_id("ml-failed")
    ml.create_ml_model(MLModelId=failed_id, MLModelType="BINARY", TrainingDataSourceId=missing)
    wait_for(ml, "MLModel", failed_id)
    code, message = error_of(lambda: ml.update_ml_model(MLModelId=failed_id, ScoreThreshold=0.5))
    assert code == "InvalidInputException"
    assert "COMPLETED" in message
    ml.update_ml_model(MLModelId=failed_id, MLModelName="a failed model keeps a name")
