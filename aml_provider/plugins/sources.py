"""Where the plugin reads families: the reports URIs it is configured with, through an Airflow connection.

``AML_FAMILY_REPORTS_URIS`` (or the Airflow Variable ``aml_family_reports_uris``) lists the
``reports_uri`` of the families' DAGs; ``AML_FAMILY_AWS_CONN_ID`` names the connection (``aws_default``).
Records and logs are read with the provider's own classes (S3Hook), models with the AmlHook.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.links.base_aws import BaseAwsLink
from botocore.exceptions import BotoCoreError, ClientError

from aml_provider.family.model_family import ModelFamily
from aml_provider.family.record import FamilyRecord, FamilyStore
from aml_provider.hooks.aml import ML_MODEL, AmlHook
from aml_provider.links.aml import AmlMLModelLink
from aml_provider.pages.families import FamilyReader, Report, parse_uris
from aml_provider.pages.family import FamilyData

REPORTS_URIS_ENV = "AML_FAMILY_REPORTS_URIS"
REPORTS_URIS_VARIABLE = "aml_family_reports_uris"
CONN_ID_ENV = "AML_FAMILY_AWS_CONN_ID"


def reports_uris() -> list[str]:
    """The configured reports URIs: the Variable ``aml_family_reports_uris``, else the environment."""
    from airflow.models.variable import Variable

    text = Variable.get(REPORTS_URIS_VARIABLE, default_var=None)
    setting = f"The Airflow Variable {REPORTS_URIS_VARIABLE}"
    if not text:
        text, setting = os.environ.get(REPORTS_URIS_ENV, ""), REPORTS_URIS_ENV
    uris = parse_uris(text, setting)
    if not uris:
        raise ValueError(
            f"No families to show: set {REPORTS_URIS_ENV} or the Airflow Variable {REPORTS_URIS_VARIABLE} "
            "to the reports_uri of your family DAGs (S3 prefixes like s3://bucket/families/, comma-separated)"
        )
    return uris


def conn_id() -> str:
    return os.environ.get(CONN_ID_ENV, "aws_default")


@cache
def _hooks(conn: str) -> tuple[Any, AmlHook]:
    return S3Hook(aws_conn_id=conn).get_conn(), AmlHook(aws_conn_id=conn)


def model_href(ml_model_id: str) -> str:
    """The model's page: the local service's console, or the AWS console."""
    hook = _hooks(conn_id())[1]
    return AmlMLModelLink().format_link(
        local_service_url=hook.local_service_url,
        region_name=hook.conn_region_name,
        aws_domain=BaseAwsLink.get_aws_domain(hook.conn_partition),
        entity_id=ml_model_id,
    )


class AirflowFamilies:
    """The families under the configured reports URIs, read through the connection."""

    def __init__(self) -> None:
        self.reports_uris = reports_uris()
        self.s3, self.aml = _hooks(conn_id())
        self.reader = FamilyReader(
            self.s3, self.reports_uris, f"{REPORTS_URIS_ENV} / {REPORTS_URIS_VARIABLE}"
        )

    def summaries(self) -> tuple[list[FamilyData], list[str]]:
        """Every family with its record and newest decisions; and the URIs that could not be read, why."""
        found, problems = [], []
        for reports_uri in self.reports_uris:
            try:
                found += [self._summary(reports_uri, name) for name in self.reader.families(reports_uri)]
            except (ClientError, BotoCoreError) as error:
                problems.append(f"Cannot read the families under {reports_uri}: {error}")
        return found, problems

    def family(self, family: str, reports_uri: str | None = None) -> FamilyData:
        """One family with the models its record names and its rollback choices."""
        reports_uri = self.reader.locate(family, reports_uri)
        record = FamilyStore(self.s3, reports_uri, family).load()
        ids = {*record.members, record.champion, record.previous} - {None}
        models = {
            model_id: model for model_id in ids if model_id and (model := self.aml.find(ML_MODEL, model_id))
        }
        choices = ModelFamily(self.aml, self.s3, reports_uri, family).rollback_choices(record)
        return self._data(reports_uri, family, record, models, choices)

    def report(self, family: str, path: str, reports_uri: str | None = None) -> Report | None:
        return self.reader.report(self.reader.locate(family, reports_uri), family, path)

    def _summary(self, reports_uri: str, family: str) -> FamilyData:
        record = FamilyStore(self.s3, reports_uri, family).load()
        return self.reader.summary(reports_uri, family, dataclasses.asdict(record))

    def _data(
        self,
        reports_uri: str,
        family: str,
        record: FamilyRecord,
        models: dict[str, dict[str, Any]],
        choices: list[str],
    ) -> FamilyData:
        events = self.reader.events(reports_uri, family)
        return FamilyData(family, reports_uri, dataclasses.asdict(record), events, models, choices)
