"""Redshift (PostgreSQL) and RDS (MySQL/MariaDB) datasources: run the query and stage its result as CSV in S3.

The server comes from `ServiceConfig.redshift_servers` / `rds_servers`, a URL template chosen by cluster or
instance identifier ("*" matches any). "{database}" in the template is replaced by the request's
DatabaseName (which is also used when the template names no database). Credentials: a template that names a
user supplies the credentials (e.g. `mysql://root@127.0.0.1:3306` for a server whose user has no password);
otherwise the request's Username and Password are used.
"""

from __future__ import annotations

import datetime
import decimal
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from aml_provider.local.data.s3 import S3Store, join_uri
from aml_provider.local.data.schema import Attribute, Schema
from aml_provider.local.errors import JobFailed

#: A staged part file is closed once it holds this many bytes.
PART_BYTES = 64 * 1024 * 1024
FETCH_ROWS = 20_000
#: Rows written at a time; a part ends after the write that takes it past its size.
WRITE_ROWS = 1_000
_DRIVERS = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2", "mysql": "mysql+pymysql"}
_LINE_BREAKS = re.compile(r"[\r\n]+")


@dataclass(frozen=True)
class DatabaseQuery:
    """What to run where: a server URL template, the database, the credentials and the SQL query."""

    template: str
    database: str
    username: str
    password: str
    query: str

    def url(self) -> URL:
        url = sa.make_url(self.template.replace("{database}", self.database))
        url = url.set(drivername=_DRIVERS.get(url.drivername, url.drivername))
        if not url.database:
            url = url.set(database=self.database)
        if url.username is None:
            url = url.set(username=self.username, password=self.password)
        return url


def server_template(servers: dict[str, str], identifier: str, setting: str) -> str:
    """The URL template configured for `identifier` (or for any identifier, "*")."""
    template = servers.get(identifier, servers.get("*"))
    if template is None:
        raise JobFailed(f"No database server is configured for '{identifier}'; add it to {setting}.")
    return template


def stage_query(
    s3: S3Store,
    source: DatabaseQuery,
    staging_uri: str,
    schema: Schema | None,
    log: Callable[[str], None],
    part_bytes: int = PART_BYTES,
) -> tuple[str, Schema]:
    """Run the query, write its rows as CSV parts under `staging_uri`; return that prefix and the schema.

    Without a schema one is inferred from the result: numbers NUMERIC, booleans BINARY, anything else
    CATEGORICAL, no target, with a header line. With a schema, the parts carry a header only if it says so.
    """
    prefix = staging_uri.rstrip("/") + "/"
    try:
        engine = sa.create_engine(source.url(), poolclass=NullPool)
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS).exec_driver_sql(
                source.query.replace("%", "%%")
            )
            names = list(result.keys())
            parts = _parts(result.partitions(FETCH_ROWS), names, schema, part_bytes)
            schema = _upload(s3, prefix, parts, log)
    except sa.exc.SQLAlchemyError as err:
        raise JobFailed(f"The database query failed: {_reason(err, source.password)}") from err
    return prefix, schema


def _reason(err: sa.exc.SQLAlchemyError, password: str) -> str:
    """The database's own message, never the password."""
    original = getattr(err, "orig", None)
    message = str(original if original is not None else err).strip()
    return message.replace(password, "****") if password else message


def _parts(
    batches: Iterator[Sequence[Any]], names: list[str], schema: Schema | None, part_bytes: int
) -> Iterator[tuple[bytes, Schema]]:
    """CSV part files of about `part_bytes` each (whole fetches), with the schema they follow."""
    buffer, rows_in_part, rows_seen = io.StringIO(), 0, 0
    for batch in batches:
        rows = [[_text(v) for v in row] for row in batch]
        if schema is None:
            schema = _infer_schema(names, batch)
        if len(schema.attributes) != len(names):
            raise JobFailed(
                f"The query returns {len(names)} columns but the schema has {len(schema.attributes)} attributes; "
                "make them match."
            )
        rows_seen += len(rows)
        for start in range(0, len(rows), WRITE_ROWS):
            frame = pd.DataFrame(rows[start : start + WRITE_ROWS], columns=names, dtype=object)
            frame.to_csv(buffer, header=schema.header and not rows_in_part, index=False, lineterminator="\n")
            rows_in_part += len(frame)
            if buffer.tell() >= part_bytes:
                yield buffer.getvalue().encode("utf-8"), schema
                buffer, rows_in_part = io.StringIO(), 0
    if schema is None or not rows_seen:
        raise JobFailed("The database query returned no rows; a datasource needs at least one observation.")
    if rows_in_part:
        yield buffer.getvalue().encode("utf-8"), schema


def _upload(
    s3: S3Store, prefix: str, parts: Iterator[tuple[bytes, Schema]], log: Callable[[str], None]
) -> Schema:
    schema = None
    for number, (data, part_schema) in enumerate(parts):
        uri = join_uri(prefix, f"part-{number:05d}.csv")
        s3.put(uri, data, content_type="text/csv")
        log(f"Staged {len(data)} bytes of query results at {uri}")
        schema = part_schema
    assert schema is not None  # _parts raises when there are no rows
    return schema


def _text(value: Any) -> str:
    """A database value as CSV text: NULL is empty, booleans true/false, line breaks become spaces."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return _LINE_BREAKS.sub(" ", str(value))


def _infer_schema(names: list[str], rows: Sequence[Any]) -> Schema:
    if len(set(names)) != len(names):
        raise JobFailed("The query returns two columns with the same name; give each column its own alias.")
    attributes = []
    for i, name in enumerate(names):
        sample = next((row[i] for row in rows if row[i] is not None), None)
        if isinstance(sample, bool):
            kind = "BINARY"
        elif isinstance(sample, (int, float, decimal.Decimal)):
            kind = "NUMERIC"
        else:
            kind = "CATEGORICAL"
        attributes.append(Attribute(str(name), kind))
    return Schema(attributes=tuple(attributes), header=True)
