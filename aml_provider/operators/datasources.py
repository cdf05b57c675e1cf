"""Operators that create Amazon ML data sources from S3, Redshift and RDS; they wait, deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import BaseHook

from aml_provider.hooks import (
    DATA_SOURCE,
)
from aml_provider.links.aml import (
    AmlDataSourceLink,
)
from aml_provider.operators.base import AmlCreateEntityOperator
from aml_provider.triggers.aml import (
    AmlDataSourceCompletedTrigger,
)
from aml_provider.utils.documents import as_list, json_document
from aml_provider.utils.lineage import s3_lineage

if TYPE_CHECKING:
    pass


class AmlCreateDataSourceOperator(AmlCreateEntityOperator):
    """Shared parts of the data source operators; lineage reports the data source's S3 location."""

    kind = DATA_SOURCE
    trigger_class = AmlDataSourceCompletedTrigger
    link = AmlDataSourceLink()
    operator_extra_links = (link,)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage input: the S3 data (staged data for Redshift and RDS); None without OpenLineage."""
        location = None
        if self.entity_id:
            location = self.hook.get(DATA_SOURCE, self.entity_id).get("DataLocationS3")
        return s3_lineage(inputs=[location] if location else [])


class AmlCreateDataSourceFromS3Operator(AmlCreateDataSourceOperator):
    """
    Create a data source from CSV data in S3.

    :param data_location_s3: ``s3://bucket/key`` of a file, or of a prefix holding several. (templated)
    :param data_schema: the schema as a dict, JSON text, or a JSON file path (relative paths start at the
        DAG file's folder). (templated)
    :param data_schema_location_s3: S3 location of the schema, instead of ``data_schema``. (templated)
    :param data_rearrangement: which rows to use, e.g. ``{"splitting": {"percentBegin": 0,
        "percentEnd": 70}}``, as a dict or JSON text. (templated)
    :param data_source_id: the ID; derived from the task run when not given. (templated)
    :param data_source_name: a display name. (templated)
    :param compute_statistics: compute statistics (needed to train a model on it).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "data_source_id",
        "data_source_name",
        "data_location_s3",
        "data_schema",
        "data_schema_location_s3",
        "data_rearrangement",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "data_schema": "json",
        "data_rearrangement": "json",
    }

    def __init__(
        self,
        *,
        data_location_s3: str,
        data_schema: dict[str, Any] | str | None = None,
        data_schema_location_s3: str | None = None,
        data_rearrangement: dict[str, Any] | str | None = None,
        data_source_id: str | None = None,
        data_source_name: str | None = None,
        compute_statistics: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_location_s3 = data_location_s3
        self.data_schema = data_schema
        self.data_schema_location_s3 = data_schema_location_s3
        self.data_rearrangement = data_rearrangement
        self.data_source_id = data_source_id
        self.data_source_name = data_source_name
        self.compute_statistics = compute_statistics

    def create(self, entity_id: str) -> str:
        return self.hook.create_data_source_from_s3(
            entity_id,
            data_location_s3=self.data_location_s3,
            data_schema=json_document(self.data_schema, "data_schema", self.document_dir()),
            data_schema_location_s3=self.data_schema_location_s3,
            data_rearrangement=json_document(self.data_rearrangement, "data_rearrangement"),
            data_source_name=self.data_source_name,
            compute_statistics=self.compute_statistics,
        )


class AmlCreateDataSourceFromDatabaseOperator(AmlCreateDataSourceOperator):
    """Shared arguments of the Redshift and RDS data source operators."""

    template_fields: Sequence[str] = aws_template_fields(
        "data_source_id",
        "data_source_name",
        "database_name",
        "select_sql_query",
        "s3_staging_location",
        "data_schema",
        "data_schema_uri",
        "data_rearrangement",
        "role_arn",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "select_sql_query": "sql",
        "data_schema": "json",
        "data_rearrangement": "json",
    }

    def __init__(
        self,
        *,
        database_name: str,
        select_sql_query: str,
        s3_staging_location: str,
        role_arn: str,
        db_conn_id: str,
        data_schema: dict[str, Any] | str | None = None,
        data_schema_uri: str | None = None,
        data_rearrangement: dict[str, Any] | str | None = None,
        data_source_id: str | None = None,
        data_source_name: str | None = None,
        compute_statistics: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.database_name = database_name
        self.select_sql_query = select_sql_query
        self.s3_staging_location = s3_staging_location
        self.role_arn = role_arn
        self.db_conn_id = db_conn_id
        self.data_schema = data_schema
        self.data_schema_uri = data_schema_uri
        self.data_rearrangement = data_rearrangement
        self.data_source_id = data_source_id
        self.data_source_name = data_source_name
        self.compute_statistics = compute_statistics

    def common_spec(self) -> dict[str, Any]:
        """The DataSpec / RDSData members both database kinds share (credentials from ``db_conn_id``)."""
        connection = BaseHook.get_connection(self.db_conn_id)
        return {
            "SelectSqlQuery": self.select_sql_query,
            "DatabaseCredentials": {"Username": connection.login, "Password": connection.password},
            "S3StagingLocation": self.s3_staging_location,
            "DataSchema": json_document(self.data_schema, "data_schema", self.document_dir()),
            "DataSchemaUri": self.data_schema_uri,
            "DataRearrangement": json_document(self.data_rearrangement, "data_rearrangement"),
        }


class AmlCreateDataSourceFromRedshiftOperator(AmlCreateDataSourceFromDatabaseOperator):
    """
    Create a data source from a Redshift query (Amazon ML unloads it to ``s3_staging_location``).

    :param cluster_identifier: the Redshift cluster. (templated)
    :param database_name: the database. (templated)
    :param select_sql_query: the query whose rows become the data. (templated)
    :param s3_staging_location: S3 prefix the query result is staged at. (templated)
    :param role_arn: IAM role Amazon ML assumes. (templated)
    :param db_conn_id: Airflow connection whose login and password are the database credentials.
    Other arguments as for :class:`AmlCreateDataSourceFromS3Operator`; ``data_schema_uri`` is an S3
    location of the schema.
    """

    template_fields: Sequence[str] = (
        *AmlCreateDataSourceFromDatabaseOperator.template_fields,
        "cluster_identifier",
    )

    def __init__(
        self, *, cluster_identifier: str, db_conn_id: str = "redshift_default", **kwargs: Any
    ) -> None:
        super().__init__(db_conn_id=db_conn_id, **kwargs)
        self.cluster_identifier = cluster_identifier

    def create(self, entity_id: str) -> str:
        data_spec = {
            "DatabaseInformation": {
                "DatabaseName": self.database_name,
                "ClusterIdentifier": self.cluster_identifier,
            },
            **self.common_spec(),
        }
        return self.hook.create_data_source_from_redshift(
            entity_id,
            data_spec=data_spec,
            role_arn=self.role_arn,
            data_source_name=self.data_source_name,
            compute_statistics=self.compute_statistics,
        )


class AmlCreateDataSourceFromRDSOperator(AmlCreateDataSourceFromDatabaseOperator):
    """
    Create a data source from a MySQL query on Amazon RDS (staged at ``s3_staging_location``).

    :param instance_identifier: the RDS instance. (templated)
    :param resource_role: EC2 role of the copy pipeline. (templated)
    :param service_role: Data Pipeline service role. (templated)
    :param subnet_id: subnet the copy runs in. (templated)
    :param security_group_ids: security groups of the copy. (templated)
    :param db_conn_id: Airflow connection whose login and password are the database credentials.
    Other arguments as for :class:`AmlCreateDataSourceFromRedshiftOperator`.
    """

    template_fields: Sequence[str] = (
        *AmlCreateDataSourceFromDatabaseOperator.template_fields,
        "instance_identifier",
        "resource_role",
        "service_role",
        "subnet_id",
        "security_group_ids",
    )

    def __init__(
        self,
        *,
        instance_identifier: str,
        resource_role: str,
        service_role: str,
        subnet_id: str,
        security_group_ids: list[str],
        db_conn_id: str = "mysql_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(db_conn_id=db_conn_id, **kwargs)
        self.instance_identifier = instance_identifier
        self.resource_role = resource_role
        self.service_role = service_role
        self.subnet_id = subnet_id
        self.security_group_ids = security_group_ids

    def create(self, entity_id: str) -> str:
        rds_data = {
            "DatabaseInformation": {
                "InstanceIdentifier": self.instance_identifier,
                "DatabaseName": self.database_name,
            },
            "ResourceRole": self.resource_role,
            "ServiceRole": self.service_role,
            "SubnetId": self.subnet_id,
            "SecurityGroupIds": as_list(self.security_group_ids, "security_group_ids"),
            **self.common_spec(),
        }
        return self.hook.create_data_source_from_rds(
            entity_id,
            rds_data=rds_data,
            role_arn=self.role_arn,
            data_source_name=self.data_source_name,
            compute_statistics=self.compute_statistics,
        )
