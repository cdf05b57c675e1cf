"""
Operators for Amazon Machine Learning: data sources, models, evaluations, batch and real-time predictions.

Create operators reattach on retry: without an explicit ID they derive one from the DAG, task, run and
map index, so every try of a task instance addresses the same entity. When that entity ended FAILED or
DELETED, a retry creates a fresh one under ``<id>-a2`` (then ``-a3``, ...). They return the live ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import BaseHook, conf

from aml_provider.hooks import (
    BATCH_PREDICTION,
    DATA_SOURCE,
    EVALUATION,
    ML_MODEL,
    AmlError,
    AmlHook,
    EntityKind,
    entity_kind,
)
from aml_provider.links.aml import (
    AmlBatchPredictionLink,
    AmlDataSourceLink,
    AmlEvaluationLink,
    AmlLink,
    AmlMLModelLink,
)
from aml_provider.triggers.aml import (
    AmlBatchPredictionCompletedTrigger,
    AmlDataSourceCompletedTrigger,
    AmlEntityCompletedTrigger,
    AmlEvaluationCompletedTrigger,
    AmlMLModelCompletedTrigger,
    AmlRealtimeEndpointDeletedTrigger,
    AmlRealtimeEndpointReadyTrigger,
)
from aml_provider.utils.documents import as_dict, as_list, json_document
from aml_provider.utils.ids import entity_id_from_context
from aml_provider.utils.lineage import s3_lineage

if TYPE_CHECKING:
    from airflow.sdk import Context


class AmlBaseOperator(AwsBaseOperator[AmlHook]):
    """
    Base of the Amazon ML operators: the ``aws`` connection arguments and the hook.

    :param aws_conn_id: The Airflow connection used for AWS credentials (``aws_default``); it may point
        at the local Amazon ML service. (templated)
    :param region_name: AWS region; None uses the connection's or boto3's default. (templated)
    :param verify: Whether to verify SSL certificates, or the path of a CA bundle. (templated)
    :param botocore_config: botocore client configuration as a dict. (templated)
    """

    aws_hook_class = AmlHook
    ui_color = "#ffb45c"


class AmlWaitingOperator(AmlBaseOperator):
    """
    Start something in Amazon ML, then (optionally) wait for it, on a worker or in the triggerer.

    :param wait_for_completion: wait until it finishes; if False, return at once.
    :param waiter_delay: seconds between status checks.
    :param waiter_max_attempts: status checks before giving up.
    :param deferrable: wait in the triggerer (needs aiobotocore); only with ``wait_for_completion``.
    """

    #: What the triggerer waits with; its events name the entity by the kind's ID argument.
    trigger_class: ClassVar[type[AmlEntityCompletedTrigger]]

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        waiter_delay: float = 30,
        waiter_max_attempts: int = 120,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = deferrable

    def finish(self, entity_id: str) -> Any:
        """Wait as configured (checking once before deferring) and return the task's result."""
        if not self.wait_for_completion:
            if self.deferrable:
                self.log.warning("deferrable=True has no effect with wait_for_completion=False; not waiting")
            return self.result(entity_id)
        if self.is_done(entity_id):
            return self.result(entity_id)
        if self.deferrable:
            trigger = self.trigger_class.for_task(
                self, entity_id, waiter_delay=self.waiter_delay, waiter_max_attempts=self.waiter_max_attempts
            )
            timeout = timedelta(seconds=self.waiter_delay * self.waiter_max_attempts + 60)
            # defer() raises TaskDeferred; the task resumes in execute_complete.
            self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)
        self.wait(entity_id)
        return self.result(entity_id)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: raise its error message, or return the result."""
        event = validate_execute_complete_event(event)
        if event["status"] != "success":
            raise AmlError(event.get("message", f"Amazon ML trigger failed: {event}"))
        return self.result(self.trigger_class.entity_id_of(event))

    def is_done(self, entity_id: str) -> bool:
        """True when finished; raise AmlError when it failed."""
        raise NotImplementedError

    def wait(self, entity_id: str) -> None:
        raise NotImplementedError

    def result(self, entity_id: str) -> Any:
        return entity_id


class AmlCreateEntityOperator(AmlWaitingOperator):
    """Create one entity (or reattach to it) and wait until it is COMPLETED; return its ID."""

    kind: ClassVar[EntityKind]
    link: ClassVar[AmlLink]
    #: The entity this task created or reattached to (set by execute and execute_complete).
    entity_id: str | None = None

    def execute(self, context: Context) -> Any:
        wanted = getattr(self, self.kind.id_param) or entity_id_from_context(self.kind.prefix, context)
        entity_id = self.entity_id = self.create(wanted)
        url = self.link.persist_entity(context, self, self.hook, entity_id, **self.link_arguments())
        self.log.info("%s: %s", self.kind.describe(entity_id), url)
        return self.finish(entity_id)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        self.entity_id = self.trigger_class.entity_id_of(validate_execute_complete_event(event))
        return super().execute_complete(context, event)

    def create(self, entity_id: str) -> str:
        """Create the entity with this ID, or reattach to it, and return the ID of the live entity.

        AmlHook's create methods do both, and pass over earlier attempts that ended FAILED or DELETED
        (``<id>-a2``, ``<id>-a3``, ...).
        """
        raise NotImplementedError

    def link_arguments(self) -> dict[str, str]:
        return {}

    def is_done(self, entity_id: str) -> bool:
        return self.hook.completed(self.kind, entity_id)

    def wait(self, entity_id: str) -> None:
        self.hook.wait_for_completion(
            self.kind, entity_id, waiter_delay=self.waiter_delay, waiter_max_attempts=self.waiter_max_attempts
        )

    def document_dir(self) -> Path | None:
        """Folder that relative schema and recipe file paths start from: the DAG file's folder."""
        return Path(self.dag.fileloc).parent if self.has_dag() and self.dag.fileloc else None


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


class AmlCreateMLModelOperator(AmlCreateEntityOperator):
    """
    Train an ML model on a data source (computed with statistics).

    :param ml_model_type: ``BINARY``, ``MULTICLASS`` or ``REGRESSION``. (templated)
    :param training_data_source_id: the training data source. (templated)
    :param recipe: the recipe as a dict, JSON text or a JSON file path; Amazon ML's suggested recipe
        when neither it nor ``recipe_uri`` is given. (templated)
    :param recipe_uri: S3 location of the recipe. (templated)
    :param parameters: training parameters such as ``{"sgd.maxPasses": 10}``. (templated)
    :param ml_model_id: the ID; derived from the task run when not given. (templated)
    :param ml_model_name: a display name. (templated)
    """

    kind = ML_MODEL
    trigger_class = AmlMLModelCompletedTrigger
    link = AmlMLModelLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "ml_model_id",
        "ml_model_name",
        "ml_model_type",
        "training_data_source_id",
        "recipe",
        "recipe_uri",
        "parameters",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"recipe": "json", "parameters": "json"}

    def __init__(
        self,
        *,
        ml_model_type: str,
        training_data_source_id: str,
        recipe: dict[str, Any] | str | None = None,
        recipe_uri: str | None = None,
        parameters: dict[str, Any] | None = None,
        ml_model_id: str | None = None,
        ml_model_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_type = ml_model_type
        self.training_data_source_id = training_data_source_id
        self.recipe = recipe
        self.recipe_uri = recipe_uri
        self.parameters = parameters
        self.ml_model_id = ml_model_id
        self.ml_model_name = ml_model_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_ml_model(
            entity_id,
            ml_model_type=self.ml_model_type,
            training_data_source_id=self.training_data_source_id,
            recipe=json_document(self.recipe, "recipe", self.document_dir()),
            recipe_uri=self.recipe_uri,
            parameters=as_dict(self.parameters, "parameters"),
            ml_model_name=self.ml_model_name,
        )


class AmlCreateEvaluationOperator(AmlCreateEntityOperator):
    """
    Evaluate an ML model on a data source.

    Returns ``{"evaluation_id", "ml_model_id", "metric_name", "metric_value", "higher_is_better"}``
    when it waits (BinaryAUC, MulticlassAvgFScore or RegressionRMSE), else the evaluation ID.

    :param ml_model_id: the model. (templated)
    :param evaluation_data_source_id: the data to evaluate on. (templated)
    :param evaluation_id: the ID; derived from the task run when not given. (templated)
    :param evaluation_name: a display name. (templated)
    """

    kind = EVALUATION
    trigger_class = AmlEvaluationCompletedTrigger
    link = AmlEvaluationLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "evaluation_id", "evaluation_name", "ml_model_id", "evaluation_data_source_id"
    )

    def __init__(
        self,
        *,
        ml_model_id: str,
        evaluation_data_source_id: str,
        evaluation_id: str | None = None,
        evaluation_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.evaluation_data_source_id = evaluation_data_source_id
        self.evaluation_id = evaluation_id
        self.evaluation_name = evaluation_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_evaluation(
            entity_id,
            ml_model_id=self.ml_model_id,
            evaluation_data_source_id=self.evaluation_data_source_id,
            evaluation_name=self.evaluation_name,
        )

    def link_arguments(self) -> dict[str, str]:
        return {"ml_model_id": self.ml_model_id}

    def result(self, entity_id: str) -> Any:
        return self.hook.evaluation_result(entity_id) if self.wait_for_completion else entity_id


class AmlCreateBatchPredictionOperator(AmlCreateEntityOperator):
    """
    Predict every record of a data source; results land under ``output_uri``.

    :param ml_model_id: the model. (templated)
    :param batch_prediction_data_source_id: the records to predict. (templated)
    :param output_uri: S3 prefix for the results. (templated)
    :param batch_prediction_id: the ID; derived from the task run when not given. (templated)
    :param batch_prediction_name: a display name. (templated)
    """

    kind = BATCH_PREDICTION
    trigger_class = AmlBatchPredictionCompletedTrigger
    link = AmlBatchPredictionLink()
    operator_extra_links = (link,)
    template_fields: Sequence[str] = aws_template_fields(
        "batch_prediction_id",
        "batch_prediction_name",
        "ml_model_id",
        "batch_prediction_data_source_id",
        "output_uri",
    )

    def __init__(
        self,
        *,
        ml_model_id: str,
        batch_prediction_data_source_id: str,
        output_uri: str,
        batch_prediction_id: str | None = None,
        batch_prediction_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.batch_prediction_data_source_id = batch_prediction_data_source_id
        self.output_uri = output_uri
        self.batch_prediction_id = batch_prediction_id
        self.batch_prediction_name = batch_prediction_name

    def create(self, entity_id: str) -> str:
        return self.hook.create_batch_prediction(
            entity_id,
            ml_model_id=self.ml_model_id,
            batch_prediction_data_source_id=self.batch_prediction_data_source_id,
            output_uri=self.output_uri,
            batch_prediction_name=self.batch_prediction_name,
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the input data source's S3 data -> ``output_uri``; None without OpenLineage."""
        if not self.entity_id:
            return s3_lineage(inputs=[], outputs=[])
        batch = self.hook.get(BATCH_PREDICTION, self.entity_id)
        source = self.hook.get(DATA_SOURCE, batch["BatchPredictionDataSourceId"])
        location = source.get("DataLocationS3")
        return s3_lineage(inputs=[location] if location else [], outputs=[batch["OutputUri"]])


class AmlRealtimeEndpointOperator(AmlWaitingOperator):
    """
    Base of the operators that mount or remove a model's real-time endpoint and wait for the change.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("ml_model_id")
    operator_extra_links = (AmlMLModelLink(),)
    #: The EndpointStatus the change ends in.
    target_status: ClassVar[str]

    def __init__(
        self, *, ml_model_id: str, waiter_delay: float = 10, waiter_max_attempts: int = 60, **kwargs: Any
    ):
        super().__init__(waiter_delay=waiter_delay, waiter_max_attempts=waiter_max_attempts, **kwargs)
        self.ml_model_id = ml_model_id

    def execute(self, context: Context) -> Any:
        self.change(self.ml_model_id)
        url = AmlMLModelLink.persist_entity(context, self, self.hook, self.ml_model_id)
        self.log.info(
            "Real-time endpoint of Amazon ML model %s going to %s: %s",
            self.ml_model_id,
            self.target_status,
            url,
        )
        return self.finish(self.ml_model_id)

    def change(self, ml_model_id: str) -> None:
        """Ask Amazon ML for the change (AmlHook's endpoint methods skip what is already done)."""
        raise NotImplementedError

    def is_done(self, entity_id: str) -> bool:
        return self.hook.check_when_available(
            f"the endpoint of Amazon ML model {entity_id}",
            lambda: self.hook.endpoint_status(entity_id) == self.target_status,
        )

    def wait(self, entity_id: str) -> None:
        self.hook.wait_for_endpoint(
            entity_id,
            status=self.target_status,
            waiter_delay=self.waiter_delay,
            waiter_max_attempts=self.waiter_max_attempts,
        )


class AmlCreateRealtimeEndpointOperator(AmlRealtimeEndpointOperator):
    """
    Create a model's real-time endpoint (reusing one that exists) and wait until it is READY.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    target_status = "READY"
    trigger_class = AmlRealtimeEndpointReadyTrigger

    def change(self, ml_model_id: str) -> None:
        self.hook.create_realtime_endpoint(ml_model_id)


class AmlDeleteRealtimeEndpointOperator(AmlRealtimeEndpointOperator):
    """
    Delete a model's real-time endpoint (nothing to do if it has none) and wait until it is gone.

    Returns the model ID.

    :param ml_model_id: the model. (templated)
    """

    target_status = "NONE"
    trigger_class = AmlRealtimeEndpointDeletedTrigger

    def change(self, ml_model_id: str) -> None:
        self.hook.delete_realtime_endpoint(ml_model_id)

    def is_done(self, entity_id: str) -> bool:
        """Gone is gone, even when the model itself has failed or was deleted."""
        return self.hook.check_when_available(
            f"the endpoint of Amazon ML model {entity_id}",
            lambda: self.hook.endpoint_info(entity_id).get("EndpointStatus", "NONE") == "NONE",
        )


class AmlPredictOperator(AmlBaseOperator):
    """
    Predict one record at a model's READY real-time endpoint; return Amazon ML's ``Prediction``.

    :param ml_model_id: the model. (templated)
    :param record: attribute name -> value (values are sent as strings). (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("ml_model_id", "record")
    template_fields_renderers: ClassVar[dict[str, str]] = {"record": "json"}

    def __init__(self, *, ml_model_id: str, record: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id
        self.record = record

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.predict(self.ml_model_id, as_dict(self.record, "record") or {})


class AmlEntityOperator(AmlBaseOperator):
    """Base of the operators that act on one existing entity, named by its kind's ID argument."""

    kind: ClassVar[EntityKind]

    @property
    def entity_id(self) -> str:
        return getattr(self, self.kind.id_param)


class AmlUpdateNameOperator(AmlEntityOperator):
    """Rename an entity; returns its ID."""

    def __init__(self, *, name: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context: Context) -> str:
        if self.name is not None:
            self.hook.update_name(self.kind, self.entity_id, self.name)
        return self.entity_id


class AmlUpdateDataSourceOperator(AmlUpdateNameOperator):
    """
    Rename a data source; returns its ID.

    :param data_source_id: the data source. (templated)
    :param data_source_name: its new name. (templated)
    """

    kind = DATA_SOURCE
    template_fields: Sequence[str] = aws_template_fields("data_source_id", "name")

    def __init__(self, *, data_source_id: str, data_source_name: str, **kwargs: Any) -> None:
        super().__init__(name=data_source_name, **kwargs)
        self.data_source_id = data_source_id


class AmlUpdateEvaluationOperator(AmlUpdateNameOperator):
    """
    Rename an evaluation; returns its ID.

    :param evaluation_id: the evaluation. (templated)
    :param evaluation_name: its new name. (templated)
    """

    kind = EVALUATION
    template_fields: Sequence[str] = aws_template_fields("evaluation_id", "name")

    def __init__(self, *, evaluation_id: str, evaluation_name: str, **kwargs: Any) -> None:
        super().__init__(name=evaluation_name, **kwargs)
        self.evaluation_id = evaluation_id


class AmlUpdateBatchPredictionOperator(AmlUpdateNameOperator):
    """
    Rename a batch prediction; returns its ID.

    :param batch_prediction_id: the batch prediction. (templated)
    :param batch_prediction_name: its new name. (templated)
    """

    kind = BATCH_PREDICTION
    template_fields: Sequence[str] = aws_template_fields("batch_prediction_id", "name")

    def __init__(self, *, batch_prediction_id: str, batch_prediction_name: str, **kwargs: Any) -> None:
        super().__init__(name=batch_prediction_name, **kwargs)
        self.batch_prediction_id = batch_prediction_id


class AmlUpdateMLModelOperator(AmlUpdateNameOperator):
    """
    Rename an ML model and/or set its score threshold (BINARY models; the model must be COMPLETED).

    :param ml_model_id: the model. (templated)
    :param ml_model_name: its new name. (templated)
    :param score_threshold: between 0 and 1; records scoring at least this are predicted 1. (templated)
    """

    kind = ML_MODEL
    template_fields: Sequence[str] = aws_template_fields("ml_model_id", "name", "score_threshold")

    def __init__(
        self,
        *,
        ml_model_id: str,
        ml_model_name: str | None = None,
        score_threshold: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        if ml_model_name is None and score_threshold is None:
            raise ValueError("AmlUpdateMLModelOperator needs ml_model_name, score_threshold or both")
        super().__init__(name=ml_model_name, **kwargs)
        self.ml_model_id = ml_model_id
        self.score_threshold = score_threshold

    def execute(self, context: Context) -> str:
        super().execute(context)
        if self.score_threshold is not None:
            self.hook.update_score_threshold(self.ml_model_id, float(self.score_threshold))
        return self.ml_model_id


class AmlDeleteEntityOperator(AmlEntityOperator):
    """Delete an entity (Status becomes DELETED; already deleted is fine); returns its ID."""

    def execute(self, context: Context) -> str:
        self.hook.delete(self.kind, self.entity_id)
        return self.entity_id


class AmlDeleteDataSourceOperator(AmlDeleteEntityOperator):
    """
    Delete a data source (already deleted is fine); returns its ID.

    :param data_source_id: the data source. (templated)
    """

    kind = DATA_SOURCE
    template_fields: Sequence[str] = aws_template_fields("data_source_id")

    def __init__(self, *, data_source_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_source_id = data_source_id


class AmlDeleteMLModelOperator(AmlDeleteEntityOperator):
    """
    Delete an ML model (already deleted is fine); returns its ID.

    :param ml_model_id: the model. (templated)
    """

    kind = ML_MODEL
    template_fields: Sequence[str] = aws_template_fields("ml_model_id")

    def __init__(self, *, ml_model_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_model_id = ml_model_id


class AmlDeleteEvaluationOperator(AmlDeleteEntityOperator):
    """
    Delete an evaluation (already deleted is fine); returns its ID.

    :param evaluation_id: the evaluation. (templated)
    """

    kind = EVALUATION
    template_fields: Sequence[str] = aws_template_fields("evaluation_id")

    def __init__(self, *, evaluation_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluation_id = evaluation_id


class AmlDeleteBatchPredictionOperator(AmlDeleteEntityOperator):
    """
    Delete a batch prediction (already deleted is fine); returns its ID.

    :param batch_prediction_id: the batch prediction. (templated)
    """

    kind = BATCH_PREDICTION
    template_fields: Sequence[str] = aws_template_fields("batch_prediction_id")

    def __init__(self, *, batch_prediction_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch_prediction_id = batch_prediction_id


class AmlAddTagsOperator(AmlBaseOperator):
    """
    Add tags to an entity (an existing key gets the new value); returns the entity ID.

    :param resource_type: ``DataSource``, ``MLModel``, ``Evaluation`` or ``BatchPrediction``.
    :param resource_id: the entity. (templated)
    :param tags: key -> value. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("resource_id", "tags")
    template_fields_renderers: ClassVar[dict[str, str]] = {"tags": "json"}

    def __init__(self, *, resource_type: str, resource_id: str, tags: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_type = entity_kind(resource_type).name
        self.resource_id = resource_id
        self.tags = tags

    def execute(self, context: Context) -> str:
        self.hook.add_tags(
            entity_kind(self.resource_type), self.resource_id, as_dict(self.tags, "tags") or {}
        )
        return self.resource_id


class AmlRemoveTagsOperator(AmlBaseOperator):
    """
    Remove tags from an entity (unknown keys are ignored); returns the entity ID.

    :param resource_type: ``DataSource``, ``MLModel``, ``Evaluation`` or ``BatchPrediction``.
    :param resource_id: the entity. (templated)
    :param tag_keys: keys to remove. (templated)
    """

    template_fields: Sequence[str] = aws_template_fields("resource_id", "tag_keys")

    def __init__(self, *, resource_type: str, resource_id: str, tag_keys: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_type = entity_kind(resource_type).name
        self.resource_id = resource_id
        self.tag_keys = tag_keys

    def execute(self, context: Context) -> str:
        tag_keys = as_list(self.tag_keys, "tag_keys") or []
        self.hook.delete_tags(entity_kind(self.resource_type), self.resource_id, tag_keys)
        return self.resource_id
