"""Bad requests only the backend can judge: references, documents in strings, paths, tokens, recipes."""

from __future__ import annotations

import base64
import json

from tests.helpers import schema_text, unique_id
from tests.local.bad_requests import (
    Case,
    batch_request,
    deep_calls,
    forged_token,
    model_request,
    nested_json,
    predict,
    rearranged,
    s3_request,
    tags,
)

SEMANTIC_CASES = [
    # Predict
    Case("predict-null-value", "Predict", predict({"x": None}), named="record.x"),
    Case("predict-number-value", "Predict", predict({"x": 1}), named="record.x"),
    Case("predict-record-too-large", "Predict", predict({"words": "w " * 60_000}), named="Record"),
    Case(
        "predict-unknown-model",
        "Predict",
        lambda w: predict({})(w) | {"MLModelId": "no-such"},
        "ResourceNotFoundException",
        "MLModelId",
        404,
    ),
    # Tags
    Case("add-tags-without-key", "AddTags", tags(Tags=[{"Value": "v"}]), "InvalidTagException", "Key"),
    Case("add-tags-null-key", "AddTags", tags(Tags=[{"Key": None}]), "InvalidTagException", "Key"),
    Case("add-tags-reserved-key", "AddTags", tags(Tags=[{"Key": "aws:x"}]), "InvalidTagException", "aws:"),
    Case("add-tags-bad-key", "AddTags", tags(Tags=[{"Key": "a#b"}]), named="tags.1.member.key"),
    Case(
        "add-tags-long-value",
        "AddTags",
        tags(Tags=[{"Key": "k", "Value": "v" * 300}]),
        named="tags.1.member.value",
    ),
    Case(
        "add-tags-bad-kind", "AddTags", tags(ResourceType="Model", Tags=[{"Key": "k"}]), named="resourceType"
    ),
    Case(
        "add-tags-unknown-resource",
        "AddTags",
        lambda w: {"ResourceId": "no-such", "ResourceType": "MLModel", "Tags": [{"Key": "k"}]},
        "ResourceNotFoundException",
        "no-such",
        404,
    ),
    Case("delete-tags-reserved-key", "DeleteTags", tags(TagKeys=["aws:x"]), "InvalidTagException", "aws:"),
    Case("delete-tags-null-key", "DeleteTags", tags(TagKeys=[None]), named="tagKeys.1.member"),
    # Describe and its NextToken
    Case("next-token-garbage", "DescribeDataSources", {"NextToken": "not-a-token"}, named="NextToken"),
    Case(
        "next-token-huge-offset",
        "DescribeDataSources",
        {"NextToken": forged_token({"offset": 10**30, "query": "x"})},
        named="NextToken",
    ),
    Case(
        "next-token-negative",
        "DescribeDataSources",
        {"NextToken": forged_token({"offset": -1})},
        named="NextToken",
    ),
    Case(
        "next-token-unsigned-base64",
        "DescribeDataSources",
        {"NextToken": base64.urlsafe_b64encode(b'{"offset": 1}').decode()},
        named="NextToken",
    ),
    Case(
        "next-token-tampered",
        "DescribeDataSources",
        lambda w: {
            "FilterVariable": "Name",
            "Prefix": "",
            "Limit": 1,
            "NextToken": w.token[:-1] + ("1" if w.token.endswith("0") else "0"),
        },
        named="NextToken",
    ),
    Case(
        "next-token-other-query",
        "DescribeDataSources",
        lambda w: {"FilterVariable": "Status", "EQ": "COMPLETED", "Limit": 1, "NextToken": w.token},
        named="NextToken",
    ),
    Case("describe-limit-zero", "DescribeMLModels", {"Limit": 0}, named="limit"),
    Case("describe-limit-101", "DescribeMLModels", {"Limit": 101}, named="limit"),
    Case("describe-bad-variable", "DescribeMLModels", {"FilterVariable": "Size"}, named="filterVariable"),
    Case(
        "describe-prefix-on-time",
        "DescribeMLModels",
        {"FilterVariable": "CreatedAt", "Prefix": "1"},
        named="FilterVariable",
    ),
    Case(
        "describe-gt-not-a-time",
        "DescribeEvaluations",
        {"FilterVariable": "CreatedAt", "GT": "yesterday"},
        named="GT",
    ),
    Case("describe-comparison-without-variable", "DescribeEvaluations", {"EQ": "x"}, named="FilterVariable"),
    Case("describe-bad-sort", "DescribeBatchPredictions", {"SortOrder": "up"}, named="sortOrder"),
    # DataRearrangement
    Case(
        "rearrangement-misspelt-begin",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"PercentBegin": 10}}'),
        named="percentBegin",
    ),
    Case(
        "rearrangement-lowercase-end",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"percentend": 10}}'),
        named="percentEnd",
    ),
    Case(
        "rearrangement-unknown-top", "CreateDataSourceFromS3", rearranged('{"split": {}}'), named="splitting"
    ),
    Case(
        "rearrangement-unknown-param",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"strategy": "random", "strategyParams": {"seed": "1"}}}'),
        named="randomSeed",
    ),
    Case(
        "rearrangement-params-list",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"strategyParams": []}}'),
        named="strategyParams",
    ),
    Case(
        "rearrangement-seed-null",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"strategyParams": {"randomSeed": null}}}'),
        named="randomSeed",
    ),
    Case(
        "rearrangement-begin-150",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"percentBegin": 150}}'),
        named="percentBegin",
    ),
    Case(
        "rearrangement-begin-after-end",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"percentBegin": 80, "percentEnd": 20}}'),
        named="percentBegin",
    ),
    Case(
        "rearrangement-fraction",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"percentEnd": 50.5}}'),
        named="percentEnd",
    ),
    Case(
        "rearrangement-bad-strategy",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"strategy": "shuffled"}}'),
        named="strategy",
    ),
    Case(
        "rearrangement-bad-complement",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": {"complement": "maybe"}}'),
        named="complement",
    ),
    Case(
        "rearrangement-not-json",
        "CreateDataSourceFromS3",
        rearranged("{splitting"),
        named="DataRearrangement",
    ),
    Case("rearrangement-array", "CreateDataSourceFromS3", rearranged("[1]"), named="DataRearrangement"),
    Case(
        "rearrangement-splitting-list",
        "CreateDataSourceFromS3",
        rearranged('{"splitting": []}'),
        named="splitting",
    ),
    Case(
        "rearrangement-nested-10000",
        "CreateDataSourceFromS3",
        rearranged(nested_json(10_000)),
        named="DataRearrangement",
    ),
    # DataSchema
    Case(
        "schema-nested-10000",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema=nested_json(10_000)),
        named="DataSchema",
    ),
    Case(
        "schema-not-json",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema="{attributes"),
        named="DataSchema",
    ),
    Case(
        "schema-bad-type",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema=schema_text(x="DECIMAL", y="BINARY")),
        named="DataSchema",
    ),
    Case(
        "schema-unknown-target",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema=schema_text(target="z", x="NUMERIC")),
        named="DataSchema",
    ),
    Case(
        "schema-none-given",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema=None),
        named="DataSchemaLocationS3",
    ),
    # S3 URIs
    Case(
        "s3-location-dotdot",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataLocationS3=f"s3://{w.bucket}/a/../b.csv"),
        named="dataSpec.dataLocationS3",
    ),
    Case(
        "output-uri-dot",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3://bucket/out/./"),
        named="OutputUri",
    ),
    Case(
        "s3-location-ends-dotdot",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataLocationS3=f"s3://{w.bucket}/a/.."),
        named="dataSpec.dataLocationS3",
    ),
    Case(
        "s3-location-http",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataLocationS3="https://bucket/key"),
        named="dataSpec.dataLocationS3",
    ),
    Case(
        "s3-schema-location-dotdot",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w, DataSchema=None, DataSchemaLocationS3=f"s3://{w.bucket}/../s.json"),
        named="dataSpec.dataSchemaLocationS3",
    ),
    Case(
        "output-uri-ends-dotdot",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3://bucket/out/.."),
        named="outputUri",
    ),
    Case(
        "output-uri-dotdot-inside",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3://bucket/a/../b/"),
        named="outputUri",
    ),
    Case(
        "output-uri-double-slash",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3://bucket/a//b/"),
        named="OutputUri",
    ),
    Case(
        "output-uri-colon",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3://bucket/a:b/"),
        named="OutputUri",
    ),
    Case(
        "output-uri-no-bucket",
        "CreateBatchPrediction",
        batch_request(OutputUri="s3:///out/"),
        named="outputUri",
    ),
    Case(
        "recipe-uri-dotdot",
        "CreateMLModel",
        model_request(RecipeUri="s3://bucket/../recipe.json"),
        named="recipeUri",
    ),
    # Recipes and training parameters
    Case(
        "recipe-nested-json-5000",
        "CreateMLModel",
        model_request(Recipe='{"outputs": ' + nested_json(5000) + "}"),
        named="Recipe",
    ),
    Case("recipe-nested-calls-5000", "CreateMLModel", model_request(Recipe=deep_calls(5000)), named="Recipe"),
    Case(
        "recipe-ngram-on-numeric",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["ngram(x, 2)"]})),
        named="Recipe",
    ),
    Case(
        "recipe-quantile-bin-on-text",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["quantile_bin(words, 10)"]})),
        named="Recipe",
    ),
    Case(
        "recipe-normalize-on-text",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["normalize(words)"]})),
        named="Recipe",
    ),
    Case(
        "recipe-unknown-variable",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["nope"]})),
        named="Recipe",
    ),
    Case(
        "recipe-unknown-processor",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["stem(words)"]})),
        named="Recipe",
    ),
    Case("recipe-no-outputs", "CreateMLModel", model_request(Recipe="{}"), named="Recipe"),
    Case("recipe-not-json", "CreateMLModel", model_request(Recipe="outputs: [x]"), named="Recipe"),
    Case(
        "recipe-and-uri",
        "CreateMLModel",
        model_request(Recipe=json.dumps({"outputs": ["x"]}), RecipeUri="s3://bucket/r.json"),
        named="RecipeUri",
    ),
    Case(
        "parameters-unknown",
        "CreateMLModel",
        model_request(Parameters={"sgd.passes": "3"}),
        named="sgd.passes",
    ),
    Case(
        "parameters-not-a-number",
        "CreateMLModel",
        model_request(Parameters={"sgd.maxPasses": "many"}),
        named="sgd.maxPasses",
    ),
    Case(
        "parameters-null",
        "CreateMLModel",
        model_request(Parameters={"sgd.maxPasses": None}),
        named="parameters.sgd.maxPasses",
    ),
    Case(
        "parameters-number",
        "CreateMLModel",
        model_request(Parameters={"sgd.maxPasses": 3}),
        named="parameters.sgd.maxPasses",
    ),
    Case(
        "parameters-size-too-small",
        "CreateMLModel",
        model_request(Parameters={"sgd.maxMLModelSizeInBytes": "10"}),
        named="sgd.maxMLModelSizeInBytes",
    ),
    Case(
        "parameters-l1-and-l2",
        "CreateMLModel",
        model_request(Parameters={"sgd.l1RegularizationAmount": "0.1", "sgd.l2RegularizationAmount": "0.1"}),
        named="sgd.l1RegularizationAmount",
    ),
    Case(
        "model-type-mismatch", "CreateMLModel", model_request(MLModelType="REGRESSION"), named="MLModelType"
    ),
    Case(
        "model-unknown-datasource",
        "CreateMLModel",
        model_request(TrainingDataSourceId="no-such"),
        named="TrainingDataSourceId",
    ),
    # References and states
    Case(
        "batch-unknown-model", "CreateBatchPrediction", batch_request(MLModelId="no-such"), named="MLModelId"
    ),
    Case(
        "batch-unknown-datasource",
        "CreateBatchPrediction",
        batch_request(BatchPredictionDataSourceId="no-such"),
        named="BatchPredictionDataSourceId",
    ),
    Case(
        "evaluation-unknown-model",
        "CreateEvaluation",
        lambda w: {
            "EvaluationId": unique_id("ev-bad"),
            "MLModelId": "no-such",
            "EvaluationDataSourceId": w.data_source,
        },
        named="MLModelId",
    ),
    Case(
        "evaluation-unknown-datasource",
        "CreateEvaluation",
        lambda w: {
            "EvaluationId": unique_id("ev-bad"),
            "MLModelId": w.model,
            "EvaluationDataSourceId": "no-such",
        },
        named="EvaluationDataSourceId",
    ),
    Case(
        "update-threshold-above-one",
        "UpdateMLModel",
        lambda w: {"MLModelId": w.model, "ScoreThreshold": 2.0},
        named="scoreThreshold",
    ),
    Case("update-nothing", "UpdateMLModel", lambda w: {"MLModelId": w.model}, named="ScoreThreshold"),
    Case(
        "update-blank-name",
        "UpdateDataSource",
        lambda w: {"DataSourceId": w.data_source, "DataSourceName": " "},
        named="dataSourceName",
    ),
    Case(
        "endpoint-unknown-model",
        "CreateRealtimeEndpoint",
        {"MLModelId": "no-such"},
        "ResourceNotFoundException",
        "MLModelId",
        404,
    ),
    Case(
        "get-unknown",
        "GetDataSource",
        {"DataSourceId": "no-such"},
        "ResourceNotFoundException",
        "DataSourceId",
        404,
    ),
    Case("id-slash", "GetMLModel", {"MLModelId": "a/b"}, named="mLModelId"),
    Case("id-too-long", "GetMLModel", {"MLModelId": "a" * 65}, named="mLModelId"),
    Case("id-empty", "GetMLModel", {"MLModelId": ""}, named="mLModelId"),
    Case("id-unicode", "GetMLModel", {"MLModelId": "modèle"}, named="mLModelId"),
    Case(
        "id-reused",
        "CreateDataSourceFromS3",
        lambda w: s3_request(w) | {"DataSourceId": w.data_source},
        "IdempotentParameterMismatchException",
        "DataSourceId",
    ),
]
