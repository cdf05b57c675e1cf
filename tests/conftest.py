"""Session fixtures: one local Amazon ML service (with moto S3) for the whole test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from aml_provider.local import LocalAml
from tests.output_shapes import capture_raw_bodies


@pytest.fixture(scope="session")
def aml() -> Iterator[LocalAml]:
    with LocalAml() as service:
        yield service


@pytest.fixture(scope="session")
def ml(aml: LocalAml) -> Any:
    return capture_raw_bodies(aml.client())


@pytest.fixture(scope="session")
def s3(aml: LocalAml) -> Any:
    return aml.client("s3")


@pytest.fixture(scope="session")
def bucket(s3: Any) -> str:
    name = f"aml-tests-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
