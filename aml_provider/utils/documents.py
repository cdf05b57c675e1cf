"""
JSON documents (data schemas, recipes, rearrangements) given as a dict, JSON text or a file path.

Also dicts and lists that Jinja rendered as text (templated fields are strings unless the DAG renders
native objects).
"""

from __future__ import annotations

import ast
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
        if _is_json(text):
            return text
        rendered = _rendered(text)  # a dict Jinja rendered in Python's spelling
        if isinstance(rendered, dict | list):
            return json.dumps(rendered)
        _check_json(text, field)  # raises with the JSON parser's complaint
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise ValueError(f"{field} is neither JSON text nor the path of an existing file: {value!r}")
    content = path.read_text(encoding="utf-8")
    _check_json(content, f"{field} file {path}")
    return content


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _check_json(text: str, what: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} is not valid JSON: {error}") from error


def as_dict(value: Any, field: str) -> dict[str, Any] | None:
    """A templated dict: kept as it is, or parsed back from its rendered JSON or Python text."""
    parsed = _rendered(value)
    if parsed is None or isinstance(parsed, dict):
        return parsed
    raise ValueError(f"{field} must be a dict (or its JSON text), not {value!r}")


def as_list(value: Any, field: str) -> list[Any] | None:
    """A templated list: kept as it is, or parsed back from its rendered JSON or Python text."""
    parsed = _rendered(value)
    if parsed is None or isinstance(parsed, list | tuple):
        return None if parsed is None else list(parsed)
    raise ValueError(f"{field} must be a list (or its JSON text), not {value!r}")


def _rendered(value: Any) -> Any:
    """Parse text that Jinja made of a dict, list or None (``{{ params.x }}`` renders Python's spelling)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return value
