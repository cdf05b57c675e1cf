"""CreateBatchPrediction: predict every record of a datasource into files under OutputUri."""

from __future__ import annotations

from typing import Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.kinds import BATCH_PREDICTION, DATA_SOURCE, ML_MODEL
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException

#: What the key part of OutputUri must not contain.
FORBIDDEN_IN_OUTPUT_KEY = (":", "//", "/./", "/../")


def create_batch_prediction(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        model = entities.reference(services, ML_MODEL, request["MLModelId"], "MLModelId")
        data_source = entities.reference(
            services, DATA_SOURCE, request["BatchPredictionDataSourceId"], "BatchPredictionDataSourceId"
        )
        _check_output_uri(request["OutputUri"])
        document = entities.new_document(
            BATCH_PREDICTION,
            request,
            caller_arn,
            MLModelId=model.id,
            BatchPredictionDataSourceId=data_source.id,
            InputDataLocationS3=data_source.document.get("DataLocationS3"),
            OutputUri=request["OutputUri"],
        )
        return document, {}

    return entities.create(services, BATCH_PREDICTION, request, build)


def _check_output_uri(uri: str) -> None:
    bucket_and_key = uri.removeprefix("s3://")
    key = bucket_and_key[bucket_and_key.find("/") :] if "/" in bucket_and_key else ""
    probe = key if key.endswith("/") else key + "/"  # a last segment "." or ".." too
    found = [part for part in FORBIDDEN_IN_OUTPUT_KEY if part in probe]
    if not uri.startswith("s3://") or not bucket_and_key.split("/")[0] or found:
        raise InvalidInputException(
            f"OutputUri {uri!r} must be s3://bucket/prefix whose prefix has no "
            f"{', '.join(repr(p) for p in FORBIDDEN_IN_OUTPUT_KEY)}."
        )
