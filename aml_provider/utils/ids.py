"""Deterministic Amazon ML entity IDs, so a retried task finds the entity its earlier try created."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_ID_LENGTH = 64
#: Attempts of one entity ID: the ID itself, then ``<id>-a2`` ... ``<id>-a99``.
MAX_ATTEMPTS = 99
#: Room derived IDs leave for the attempt suffix (``-a99``).
SUFFIX_ROOM = len(f"-a{MAX_ATTEMPTS}")
_DIGEST_LENGTH = 20
_SHORT_DIGEST_LENGTH = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def entity_id_for(prefix: str, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Build `<prefix>-<readable task id>-<hash>` (at most 60 chars of [A-Za-z0-9_.-]) from the task run.

    The remaining 4 characters are kept for the attempt suffix (see :func:`attempt_id`).
    """
    key = "\x1f".join((dag_id, task_id, run_id, str(map_index)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_LENGTH]
    readable = _UNSAFE.sub("-", f"{prefix}-{task_id}").strip("-")
    readable = readable[: MAX_ID_LENGTH - SUFFIX_ROOM - _DIGEST_LENGTH - 1].rstrip("-")
    return f"{readable}-{digest}"


def entity_id_from_context(prefix: str, context: Context) -> str:
    """The entity ID of this task run: the same for every try, different per run and mapped instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return entity_id_for(prefix, ti.dag_id, ti.task_id, ti.run_id, -1 if map_index is None else map_index)


def attempt_id(entity_id: str, attempt: int) -> str:
    """The ID of an entity's `attempt` (1 is the ID itself), within 64 characters.

    An ID too long for the suffix (an explicit one) is shortened and made unique again with a hash of it.
    """
    if attempt == 1:
        return entity_id
    suffix = f"-a{attempt}"
    if len(entity_id) + len(suffix) > MAX_ID_LENGTH:
        digest = hashlib.sha256(entity_id.encode()).hexdigest()[:_SHORT_DIGEST_LENGTH]
        keep = MAX_ID_LENGTH - len(suffix) - _SHORT_DIGEST_LENGTH - 1
        entity_id = f"{entity_id[:keep]}-{digest}"
    return f"{entity_id}{suffix}"


def attempt_ids(entity_id: str) -> Iterator[str]:
    """The chain of IDs a create walks: `entity_id`, `<entity_id>-a2`, ..., up to MAX_ATTEMPTS."""
    return (attempt_id(entity_id, attempt) for attempt in range(1, MAX_ATTEMPTS + 1))
