"""JSON documents that arrive as strings inside requests (DataSchema, DataRearrangement)."""

from __future__ import annotations

import json
from typing import Any

from aml_provider.local.errors import InvalidInputException


def json_object(text: str, member: str, expected: str) -> dict[str, Any]:
    """Parse `text` as a JSON object; InvalidInputException names `member`, where the JSON breaks, or what
    was `expected` (e.g. "with an 'attributes' list")."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInputException(
            f"{member} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}."
        ) from err
    except RecursionError:
        raise InvalidInputException(f"{member} nests objects and arrays too deeply to be read.") from None
    if not isinstance(document, dict):
        raise InvalidInputException(f"{member} must be a JSON object {expected}.")
    return document
