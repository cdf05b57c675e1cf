"""Storage names: entity IDs as folder names that stay inside their folder whatever the ID holds."""

from __future__ import annotations

import re

#: IDs as the API allows them, minus the two that name a folder itself or its parent.
_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def is_safe_id(entity_id: str) -> bool:
    """Whether `entity_id` is a valid API ID that is also usable as a folder name as it is."""
    return bool(_SAFE.fullmatch(entity_id)) and entity_id not in (".", "..")


def storage_name(entity_id: str) -> str:
    """A single path component for `entity_id`: the ID itself when it is safe, otherwise the ID with every
    character but letters, digits, '_' and '-' written as %XX. Safe IDs never hold '%', so no escaped
    name can equal one, and no name is empty, '.', '..' or holds a separator."""
    if is_safe_id(entity_id):
        return entity_id
    escaped = "".join(c if c in _PLAIN else "".join(f"%{b:02X}" for b in c.encode()) for c in entity_id)
    return escaped or "%"
