"""Extra link to a run's decision report: the S3 console in AWS, the object itself on a local S3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink

from aml_provider.hooks.aml import AWS_DOMAINS

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context


class AmlDecisionReportLink(BaseAwsLink):
    """Link to ``decision.html`` of the run."""

    name = "Decision report"
    key = "aml_decision_report"
    format_str = BASE_AWS_CONSOLE_LINK + "/s3/object/{bucket}?region={region_name}&prefix={key}"

    def format_link(self, **kwargs: Any) -> str:
        local_url = kwargs.get("local_s3_url")
        if local_url:
            return f"{local_url}/{kwargs['bucket']}/{kwargs['key']}"
        return super().format_link(**kwargs)

    @classmethod
    def persist_report(cls, context: Context, operator: BaseOperator, s3: Any, uri: str) -> str:
        """Save the link's parameters in XCom and return the URL for the task log."""
        bucket, _, key = uri[len("s3://") :].partition("/")
        endpoint = s3.meta.endpoint_url.rstrip("/")
        host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        params = {
            "local_s3_url": None if host.endswith(AWS_DOMAINS) else endpoint,
            "bucket": bucket,
            "key": quote(key, safe="/"),
        }
        region = s3.meta.region_name
        cls.persist(context=context, operator=operator, region_name=region, aws_partition="aws", **params)
        return cls().format_link(region_name=region, aws_domain=cls.get_aws_domain("aws"), **params)
