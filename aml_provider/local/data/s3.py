"""S3 access for the service: list, stream, read and write objects named by `s3://bucket/key` URIs."""

from __future__ import annotations

import codecs
import functools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aml_provider.local.config import ServiceConfig
from aml_provider.local.errors import JobFailed


@dataclass(frozen=True)
class S3Object:
    uri: str
    size: int

    @property
    def name(self) -> str:
        """The object's file name: the last part of its key."""
        return self.uri.rsplit("/", 1)[-1]


def split_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key` into bucket and key."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def join_uri(prefix: str, *parts: str) -> str:
    """Join an S3 prefix and key parts with exactly one `/` between them."""
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])


#: Quick and single: a health check reports an unreachable S3 rather than waiting for it.
_PROBE_CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1})


def s3_problem(config: ServiceConfig) -> str | None:
    """Why the service cannot reach its S3 endpoint, or None when S3 answers (any answer, even a refusal)."""
    try:
        _probe_client(config.s3_endpoint_url, config.region_name).list_buckets()
    except ClientError:
        return None  # S3 answered (e.g. AccessDenied): it is reachable
    except BotoCoreError as error:
        return f"S3 at {config.s3_endpoint_url or 'AWS'} cannot be reached: {error}"
    return None


class S3Probe:
    """`s3_problem` for frequent callers: the latest finding, refreshed in the background at most every
    `interval` seconds, so no caller but the first waits for an S3 round trip."""

    def __init__(self, config: ServiceConfig, interval: float = 1.0) -> None:
        self.config = config
        self.interval = interval
        self._lock = threading.Lock()
        self._probed_at: float | None = None
        self._problem: str | None = None
        self._refreshing = False

    def problem(self) -> str | None:
        with self._lock:
            first = self._probed_at is None
            stale = first or time.monotonic() - (self._probed_at or 0.0) >= self.interval
            refresh_later = stale and not first and not self._refreshing
            self._refreshing = self._refreshing or refresh_later
        if first:
            self._refresh()
        elif refresh_later:
            threading.Thread(target=self._refresh, name="aml-s3-probe", daemon=True).start()
        return self._problem

    def _refresh(self) -> None:
        problem = s3_problem(self.config)
        with self._lock:
            self._probed_at, self._problem, self._refreshing = time.monotonic(), problem, False


@functools.cache
def _probe_client(endpoint_url: str | None, region_name: str) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region_name, config=_PROBE_CONFIG
    )


class S3Store:
    """A thin, error-translating wrapper over a boto3 S3 client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_config(cls, config: ServiceConfig) -> S3Store:
        client = boto3.session.Session().client(
            "s3", endpoint_url=config.s3_endpoint_url, region_name=config.region_name
        )
        return cls(client)

    def list(self, uri: str) -> list[S3Object]:
        """The object at `uri`, or every non-empty object under it when it is a prefix, in key order."""
        bucket, key = split_uri(uri)
        try:
            if key and not key.endswith("/"):
                try:
                    head = self.client.head_object(Bucket=bucket, Key=key)
                    return [S3Object(uri, head["ContentLength"])]
                except ClientError as err:
                    if err.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                        raise
            found = []
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                for item in page.get("Contents", []):
                    name = item["Key"].rsplit("/", 1)[-1]
                    if item["Size"] > 0 and not name.startswith(".") and not item["Key"].endswith("/"):
                        found.append(S3Object(f"s3://{bucket}/{item['Key']}", item["Size"]))
        except (ClientError, BotoCoreError) as err:
            raise JobFailed(f"Cannot read {uri}: {err}") from err
        if not found:
            raise JobFailed(f"No data found at {uri}: the object or prefix does not exist or is empty.")
        return sorted(found, key=lambda o: o.uri)

    def open(self, uri: str) -> IO[bytes]:
        """A streaming reader of the object's bytes."""
        bucket, key = split_uri(uri)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"]  # type: ignore[no-any-return]
        except (ClientError, BotoCoreError) as err:
            raise JobFailed(f"Cannot read {uri}: {err}") from err

    def read_text(self, uri: str) -> str:
        """The object as text: UTF-8 (a byte-order mark is dropped), or UTF-16/32 with a byte-order mark."""
        with self.open(uri) as body:
            data = body.read()
        encoding = "utf-8-sig"
        if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            encoding = "utf-32"
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as err:
            raise JobFailed(
                f"{uri} is not UTF-8 text (byte {err.start} cannot be decoded); save it as UTF-8."
            ) from None

    def put(self, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        bucket, key = split_uri(uri)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as err:
            raise JobFailed(f"Cannot write {uri}: {err}") from err

    def upload(self, path: Path, uri: str) -> None:
        bucket, key = split_uri(uri)
        try:
            self.client.upload_file(str(path), bucket, key)
        except (ClientError, BotoCoreError, S3UploadFailedError) as err:
            raise JobFailed(f"Cannot write {uri}: {err}") from err

    def copy(self, source: str, target: str) -> None:
        """Copy an object within S3 (no download), as a managed multipart copy when it is large."""
        source_bucket, source_key = split_uri(source)
        bucket, key = split_uri(target)
        try:
            self.client.copy({"Bucket": source_bucket, "Key": source_key}, bucket, key)
        except (ClientError, BotoCoreError) as err:
            raise JobFailed(f"Cannot write {target}: {err}") from err

    def delete(self, uris: Iterable[str]) -> None:
        for uri in uris:
            bucket, key = split_uri(uri)
            self.client.delete_object(Bucket=bucket, Key=key)

    def delete_prefix(self, uri: str) -> None:
        """Delete every object whose key starts with the key of `uri`."""
        bucket, prefix = split_uri(uri)
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
