"""Run DAGs in this process with ``dag.test()`` and read what their tasks left behind."""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG


def register(dag: DAG) -> DAG:
    """Store a DAG built in this process the way the dag-processor would, so that dag.test() can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag


class DagRunner:
    """Builds DAGs whose task failures (final or retried) are recorded, and runs them with ``dag.test()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[BaseException] = []

    def dag(self, suffix: str = "", **default_args: Any) -> DAG:
        from airflow.sdk import DAG

        default_args.setdefault("on_failure_callback", self.record_failure)
        default_args.setdefault("on_retry_callback", self.record_failure)
        return DAG(f"{self.name}{suffix}", schedule=None, catchup=False, default_args=default_args)

    def record_failure(self, context: Any) -> None:
        self.failures.append(context["exception"])

    def run(self, dag: DAG, run_after: dt.datetime | None = None) -> DagRun:
        """Run every task of `dag` in this process; the same `run_after` gives the same run_id."""
        register(dag)
        run_after = run_after or dt.datetime.now(dt.UTC)
        return dag.test(run_after=run_after, logical_date=run_after)

    def states(self, dag_run: DagRun) -> dict[str, str | None]:
        return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    def xcom(self, dag_run: DagRun, task_id: str, key: str = "return_value") -> Any:
        """The XCom value a task of this run pushed (None when it pushed none)."""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            query = XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key
            )
            row = session.scalars(query).first()
            return None if row is None else XComModel.deserialize_value(row)

    def failure_text(self) -> str:
        return "\n".join(str(error) for error in self.failures)
