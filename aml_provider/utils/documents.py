"""JSON documents (data schemas, recipes, rearrangements) given as a dict, JSON text or a file path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def json_document(value: dict[str, Any] | str | None, field: str, base_dir: Path | None = None) -> str | None:
    """Return `value` as JSON text; a string that is not JSON is read as a file path (relative to base_dir)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value)
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a dict, JSON text or a file path, not {type(value).__name__}")
    text = value.strip()
    if text.startswith(("{", "[")):
        _check_json(text, field)
        return text
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise ValueError(f"{field} is neither JSON text nor the path of an existing file: {value!r}")
    content = path.read_text(encoding="utf-8")
    _check_json(content, f"{field} file {path}")
    return content


def _check_json(text: str, what: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} is not valid JSON: {error}") from error
