"""CreateDataSourceFromS3 / FromRedshift / FromRDS: check the request, then queue the datasource job."""

from __future__ import annotations

import secrets
import string
from typing import Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.kinds import DATA_SOURCE
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException


def create_from_s3(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        spec = request["DataSpec"]
        if not spec.get("DataSchema") and not spec.get("DataSchemaLocationS3"):
            raise InvalidInputException(
                "DataSpec needs DataSchema (the schema JSON) or DataSchemaLocationS3 (where it is stored)."
            )
        _check_spec(spec, "DataSpec")
        document = _document(request, caller_arn, spec, DataLocationS3=spec["DataLocationS3"])
        return document, {}

    return entities.create(services, DATA_SOURCE, request, build)


def create_from_redshift(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        spec = request["DataSpec"]
        _check_spec(spec, "DataSpec")
        metadata = {
            "RedshiftDatabase": spec["DatabaseInformation"],
            "DatabaseUserName": spec["DatabaseCredentials"]["Username"],
            "SelectSqlQuery": spec["SelectSqlQuery"],
        }
        document = _document(
            request,
            caller_arn,
            spec,
            DataLocationS3=spec["S3StagingLocation"],
            RedshiftMetadata=metadata,
            RoleARN=request["RoleARN"],
        )
        return document, {"Password": spec["DatabaseCredentials"]["Password"]}

    return entities.create(services, DATA_SOURCE, request, build)


def create_from_rds(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        spec = request["RDSData"]
        _check_spec(spec, "RDSData")
        metadata = {
            "Database": spec["DatabaseInformation"],
            "DatabaseUserName": spec["DatabaseCredentials"]["Username"],
            "SelectSqlQuery": spec["SelectSqlQuery"],
            "ResourceRole": spec["ResourceRole"],
            "ServiceRole": spec["ServiceRole"],
            "DataPipelineId": _pipeline_id(),
        }
        document = _document(
            request,
            caller_arn,
            spec,
            DataLocationS3=spec["S3StagingLocation"],
            RDSMetadata=metadata,
            RoleARN=request["RoleARN"],
        )
        return document, {"Password": spec["DatabaseCredentials"]["Password"]}

    return entities.create(services, DATA_SOURCE, request, build)


def _document(
    request: dict[str, Any], caller_arn: str, spec: dict[str, Any], **members: Any
) -> dict[str, Any]:
    return entities.new_document(
        DATA_SOURCE,
        request,
        caller_arn,
        DataRearrangement=spec.get("DataRearrangement") or None,
        ComputeStatistics=bool(request.get("ComputeStatistics", False)),
        **members,
    )


def _check_spec(spec: dict[str, Any], member: str) -> None:
    """Parse the inline schema and rearrangement now, so mistakes surface as InvalidInputException."""
    from aml_provider.local.data import parse_rearrangement, parse_schema

    if spec.get("DataSchema"):
        _with_member(f"{member}.DataSchema", parse_schema, spec["DataSchema"])
    if spec.get("DataRearrangement"):
        _with_member(f"{member}.DataRearrangement", parse_rearrangement, spec["DataRearrangement"])


def _with_member(member: str, parse: Any, text: str) -> None:
    try:
        parse(text)
    except InvalidInputException as error:
        raise InvalidInputException(f"{member}: {error.message}") from error


def _pipeline_id() -> str:
    """An id shaped like an AWS Data Pipeline id (`df-` and 19 upper-case letters or digits)."""
    alphabet = string.ascii_uppercase + string.digits
    return "df-" + "".join(secrets.choice(alphabet) for _ in range(19))
