"""The datasource job: resolve the schema, stage database results, read every row once, keep statistics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from aml_provider.local.data.databases import DatabaseQuery, server_template, stage_query
from aml_provider.local.data.reader import DataSourceReader
from aml_provider.local.data.rearrangement import parse_rearrangement
from aml_provider.local.data.s3 import S3Object
from aml_provider.local.data.schema import Schema, parse_schema
from aml_provider.local.data.statistics import StatisticsBuilder
from aml_provider.local.errors import InvalidInputException, JobFailed
from aml_provider.local.jobs.context import JobContext

#: More rejected observations than this fail the datasource.
MAX_REJECTED = 10_000
PROGRESS_SECONDS = 5.0
MAX_LOGGED_PROBLEMS = 20


def run_datasource(ctx: JobContext) -> dict[str, Any]:
    """Read the datasource's data once; write schema.json, files.json and (if asked) statistics.json.

    DataSizeInBytes and NumberOfFiles describe the whole input, also when a DataRearrangement selects
    part of it; statistics describe the selected rows.
    """
    fields: dict[str, Any] = {}
    if "RDSData" in ctx.request or "DatabaseInformation" in ctx.request.get("DataSpec", {}):
        location, schema = _stage(ctx)
        fields["DataLocationS3"] = location
    else:
        spec = ctx.request["DataSpec"]
        location = spec["DataLocationS3"]
        schema = _schema(
            ctx, spec.get("DataSchema"), spec.get("DataSchemaLocationS3"), "DataSchemaLocationS3"
        )
    files = ctx.s3.list(location)
    ctx.log(f"Reading {len(files)} file(s), {sum(f.size for f in files)} bytes, at {location}")
    _write(ctx.artifacts / "schema.json", schema.to_json())
    _write(ctx.artifacts / "files.json", json.dumps([{"uri": f.uri, "size": f.size} for f in files]))
    statistics = _read_all(ctx, schema, files)
    if statistics is not None:
        _write(ctx.artifacts / "statistics.json", json.dumps(statistics))
    return {**fields, "DataSizeInBytes": sum(f.size for f in files), "NumberOfFiles": len(files)}


def _schema(ctx: JobContext, inline: str | None, location: str | None, member: str) -> Schema:
    """The inline schema, or the one stored at `location`; a bad schema fails the datasource."""
    if inline:
        text, source = inline, "DataSchema"
    elif location:
        text, source = ctx.s3.read_text(location), f"{member} {location}"
    else:
        raise JobFailed("A DataSchema or DataSchemaLocationS3 is required to read the data.")
    try:
        return parse_schema(text)
    except InvalidInputException as err:
        raise JobFailed(f"The schema in {source} is not valid: {err.message}") from err


def _stage(ctx: JobContext) -> tuple[str, Schema]:
    """Run a Redshift or RDS query into the S3 staging location; return the staged prefix and schema."""
    if "RDSData" in ctx.request:
        spec, servers, setting = ctx.request["RDSData"], ctx.config.rds_servers, "rds_servers"
        identifier = spec["DatabaseInformation"]["InstanceIdentifier"]
    else:
        spec, servers, setting = ctx.request["DataSpec"], ctx.config.redshift_servers, "redshift_servers"
        identifier = spec["DatabaseInformation"]["ClusterIdentifier"]
    schema = None
    if spec.get("DataSchema") or spec.get("DataSchemaUri"):
        schema = _schema(ctx, spec.get("DataSchema"), spec.get("DataSchemaUri"), "DataSchemaUri")
    query = DatabaseQuery(
        template=server_template(servers, identifier, setting),
        database=spec["DatabaseInformation"]["DatabaseName"],
        username=spec["DatabaseCredentials"]["Username"],
        password=ctx.secrets.get("Password", ""),
        query=spec["SelectSqlQuery"],
    )
    staging = f"{spec['S3StagingLocation'].rstrip('/')}/{ctx.entity['DataSourceId']}/"
    ctx.log(f"Running the query on '{identifier}' database '{query.database}', staging at {staging}")
    location, schema = stage_query(ctx.s3, query, staging, schema, ctx.log)
    if not (spec.get("DataSchema") or spec.get("DataSchemaUri")):
        ctx.log(f"Inferred schema from the query result: {schema.to_json()}")
    return location, schema


def _read_all(ctx: JobContext, schema: Schema, files: list[S3Object]) -> dict[str, Any] | None:
    """Stream every selected row once: count records and rejected lines, build statistics if asked."""
    rearrangement = parse_rearrangement(ctx.entity.get("DataRearrangement"))
    reader = DataSourceReader(ctx.s3, schema, files, None, rearrangement)
    builder = StatisticsBuilder(schema) if ctx.entity.get("ComputeStatistics") else None
    records = rejected = 0
    examples: list[str] = []
    reported = time.monotonic()
    numbers = [attribute.name for attribute in schema.attributes if attribute.type == "NUMERIC"]
    for chunk in reader.chunks(numbers=numbers):
        records += len(chunk)
        rejected += chunk.rejected
        for problem in chunk.problems[: MAX_LOGGED_PROBLEMS - len(examples)]:
            examples.append(problem)
            ctx.log(f"Rejected {problem}")
        if rejected > MAX_REJECTED:
            raise JobFailed(
                f"More than {MAX_REJECTED} observations were rejected as malformed (wrong number of values, "
                f"longer than 100 KB or badly quoted), e.g. {examples[0]}. "
                "Check the schema's attributes against the data files."
            )
        if builder is not None:
            builder.add(chunk)
        if time.monotonic() - reported > PROGRESS_SECONDS:
            ctx.log(f"Read {records} records of {chunk.file.uri}")
            reported = time.monotonic()
    ctx.log(f"Read {records} records, rejected {rejected} malformed observations")
    if not records:
        raise JobFailed(_no_records_message(rejected, examples))
    return builder.result() if builder is not None else None


def _no_records_message(rejected: int, examples: list[str]) -> str:
    """Why a datasource has no observations: the first malformed line when every selected line was one."""
    if rejected and examples:
        return (
            f"The datasource has no valid observations: all {rejected} selected lines were rejected as "
            f"malformed, e.g. {examples[0]}. Check the schema's attributes and the line ends "
            "against the data files."
        )
    return (
        "The datasource has no valid observations: the data is empty "
        "or the DataRearrangement selects no rows."
    )


def _write(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    partial.replace(path)
