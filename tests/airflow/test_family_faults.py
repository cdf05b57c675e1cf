"""Faults at each step of a retrain run (the local service's fault plan): a retry recovers, one champion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from aml_provider.hooks.kinds import KINDS
from aml_provider.local import LocalAml
from tests.airflow.test_family_dags import Family, states, xcom

#: What breaks -> (the fault plan, the entity kind that ends FAILED once, or None for answers that fail).
FAULTS: dict[str, tuple[dict[str, Any], str | None]] = {
    "training fails once": ({"failJobs": [{"kind": "MLModel", "nth": 1}]}, "MLModel"),
    "a data source fails once": ({"failJobs": [{"kind": "DataSource", "nth": 2}]}, "DataSource"),
    "a batch prediction fails once": (
        {"failJobs": [{"kind": "BatchPrediction", "nth": 1}]},
        "BatchPrediction",
    ),
    "an evaluation fails once": ({"failJobs": [{"kind": "Evaluation", "nth": 1}]}, "Evaluation"),
    "the service answers 500 while a model trains": (
        {"errors": [{"operation": "GetMLModel", "error": "InternalServerException", "times": 4}]},
        None,
    ),
    "the service throttles the endpoint": (
        {"errors": [{"operation": "CreateRealtimeEndpoint", "error": "ThrottlingException", "times": 2}]},
        None,
    ),
}


def failed(ml: Any, kind: str, family: str) -> list[dict[str, Any]]:
    """The family's entities of one kind that ended FAILED (found by their names' family prefix)."""
    describe = getattr(ml, f"describe_{KINDS[kind].snake}s")
    found = describe(FilterVariable="Name", Prefix=f"{family}/")["Results"]
    return [entity for entity in found if entity["Status"] == "FAILED"]


@pytest.fixture
def faults(aml: LocalAml) -> Iterator[LocalAml]:
    yield aml
    aml.set_faults({})


@pytest.mark.parametrize(("plan", "failing_kind"), list(FAULTS.values()), ids=list(FAULTS))
def test_a_retrain_run_recovers_from_a_fault_and_ends_with_one_champion(
    s3: Any,
    ml: Any,
    bucket: str,
    aws_connection: str,
    faults: LocalAml,
    plan: dict[str, Any],
    failing_kind: str | None,
) -> None:
    family = Family(s3, ml, bucket)
    family.land(1, seed=1)
    family.land(2, seed=2)
    # A failed job needs the task's retry; failing answers must be outlasted within one try.
    dag = family.retrain(retries=1 if failing_kind else 0, retry_delay=dt.timedelta(seconds=1))
    faults.set_faults(plan)
    dag_run = family.run(dag, 2)
    assert dag_run.state == "success", states(dag_run)
    if failing_kind:
        (broken,) = failed(ml, failing_kind, family.name)
        assert broken["Message"].startswith("Injected fault")
        assert any(ti.try_number == 2 for ti in dag_run.get_task_instances())
    decision = xcom(dag_run, "decide")
    assert decision["action"] == "promote", decision
    record = family.record()
    assert record["champion"] == decision["ml_model_id"]
    assert record["pending"] is None
    assert ml.get_ml_model(MLModelId=record["champion"])["EndpointInfo"]["EndpointStatus"] == "READY"
    models = ml.describe_ml_models(FilterVariable="Name", Prefix=f"{family.name}/")["Results"]
    live = [m["MLModelId"] for m in models if m["Status"] == "COMPLETED"]
    assert live == [record["champion"]]  # a failed attempt never became a second live model
