"""Deterministic entity IDs and JSON documents given as a dict, JSON text or a file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aml_provider.utils import attempt_id, attempt_ids, entity_id_for, json_document
from aml_provider.utils.ids import MAX_ATTEMPTS

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def test_ids_are_stable_per_task_run_and_differ_across_runs_and_map_indexes() -> None:
    first = entity_id_for("ds", "dag", "load", "manual__2024-01-01", 0)
    assert first == entity_id_for("ds", "dag", "load", "manual__2024-01-01", 0)
    others = {
        entity_id_for("ds", "dag", "load", "manual__2024-01-02", 0),
        entity_id_for("ds", "dag", "load", "manual__2024-01-01", 1),
        entity_id_for("ds", "dag", "train", "manual__2024-01-01", 0),
        entity_id_for("ds", "other", "load", "manual__2024-01-01", 0),
    }
    assert first not in others
    assert len(others) == 4
    assert first.startswith("ds-load-")


@pytest.mark.parametrize("task_id", ["t", "group.sub task/with spaces:and:colons", "ü" * 10, "x" * 300])
def test_ids_fit_the_api_pattern(task_id: str) -> None:
    entity_id = entity_id_for("ml", "dag", task_id, "scheduled__2024-01-01T00:00:00+00:00")
    assert ID_PATTERN.fullmatch(entity_id)
    assert "--" not in entity_id


@pytest.mark.parametrize("task_id", ["t", "x" * 300])
def test_derived_ids_leave_room_for_every_attempt_suffix(task_id: str) -> None:
    entity_id = entity_id_for("ml", "dag", task_id, "manual__2024-01-01")
    assert attempt_id(entity_id, MAX_ATTEMPTS) == f"{entity_id}-a{MAX_ATTEMPTS}"
    assert ID_PATTERN.fullmatch(attempt_id(entity_id, MAX_ATTEMPTS))


def test_attempts_of_a_long_explicit_id_stay_within_64_characters_and_distinct() -> None:
    chain = list(attempt_ids("e" * 64))
    assert chain[:2] == ["e" * 64, attempt_id("e" * 64, 2)]
    assert len(set(chain)) == MAX_ATTEMPTS
    assert all(ID_PATTERN.fullmatch(entity_id) for entity_id in chain)
    assert attempt_id("e" * 64, 2) != attempt_id("e" * 63 + "f", 2)


def test_documents_accept_dict_json_text_and_files(tmp_path: Path) -> None:
    document = {"version": "1.0", "attributes": []}
    (tmp_path / "schema.json").write_text(json.dumps(document))
    assert json.loads(json_document(document, "data_schema") or "") == document
    assert json.loads(json_document(json.dumps(document), "data_schema") or "") == document
    assert json.loads(json_document("schema.json", "data_schema", tmp_path) or "") == document
    assert json.loads(json_document(str(tmp_path / "schema.json"), "data_schema") or "") == document
    assert json_document(None, "recipe") is None


def test_bad_documents_name_the_argument(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="recipe is not valid JSON"):
        json_document('{"groups": ', "recipe")
    with pytest.raises(ValueError, match="data_schema is neither JSON text nor the path of an existing file"):
        json_document("missing.json", "data_schema", tmp_path)
    with pytest.raises(ValueError, match="data_schema file .*broken.json is not valid JSON"):
        json_document("broken.json", "data_schema", tmp_path)
