"""The repository's DAGs import cleanly, and Airflow discovers this provider and its parts."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import jsonschema

from aml_provider.get_provider_info import get_provider_info

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_every_dag_in_the_dags_folder_imports() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=DAGS)
    assert bag.import_errors == {}
    assert sorted(bag.dags) == ["aml_batch_score", "aml_retrain", "aml_rollback"]
    assert {Path(dag.fileloc).name for dag in bag.dags.values()} == {path.name for path in DAGS.glob("*.py")}
    for dag in bag.dags.values():
        assert dag.tasks, f"{dag.dag_id} has no tasks"


def test_provider_info_fits_airflows_schema_and_names_real_classes() -> None:
    import airflow

    info = get_provider_info()
    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(info, json.loads(schema_path.read_text()))
    assert info["package-name"] == "aml-provider"
    assert "connection-types" not in info
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for link in info["extra-links"]:
        module, name = link.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name).key.startswith("aml_")


def test_airflow_discovers_the_provider() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.providers["aml-provider"].version == get_provider_info()["versions"][0]
    assert "aml_provider.links.aml.AmlMLModelLink" in manager.extra_links_class_names
    assert any(trigger.package_name == "aml-provider" for trigger in manager.trigger)
