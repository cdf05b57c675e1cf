"""Deterministic Amazon ML entity IDs, so a retried task finds the entity its earlier try created."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_ID_LENGTH = 64
_DIGEST_LENGTH = 20
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def entity_id_for(prefix: str, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Build `<prefix>-<readable task id>-<hash>` (at most 64 chars of [A-Za-z0-9_.-]) from the task run."""
    key = "\x1f".join((dag_id, task_id, run_id, str(map_index)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_LENGTH]
    readable = _UNSAFE.sub("-", f"{prefix}-{task_id}").strip("-")
    readable = readable[: MAX_ID_LENGTH - _DIGEST_LENGTH - 1].rstrip("-")
    return f"{readable}-{digest}"


def entity_id_from_context(prefix: str, context: Context) -> str:
    """The entity ID of this task run: the same for every try, different per run and mapped instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return entity_id_for(prefix, ti.dag_id, ti.task_id, ti.run_id, -1 if map_index is None else map_index)
