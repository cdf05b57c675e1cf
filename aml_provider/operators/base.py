"""
Bases of the Amazon ML operators: the hook, the deferrable wait, and create-or-reattach.

Create operators reattach on retry: without an explicit ID they derive one from the DAG, task, run and
map index, so every try of a task instance addresses the same entity. When that entity ended FAILED or
DELETED, a retry creates a fresh one under ``<id>-a2`` (then ``-a3``, ...). They return the live ID.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.common.compat.sdk import conf

from aml_provider.hooks import (
    AmlError,
    AmlHook,
    EntityKind,
)
from aml_provider.links.aml import (
    AmlLink,
)
from aml_provider.triggers.aml import (
    AmlEntityCompletedTrigger,
)
from aml_provider.utils.ids import entity_id_from_context

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
