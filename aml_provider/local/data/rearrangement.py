"""DataRearrangement: which share of the input rows a datasource uses (train/evaluation splits)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from aml_provider.local.data.documents import json_object
from aml_provider.local.errors import InvalidInputException

STRATEGIES = ("sequential", "random")
#: Keys each level may hold. `randomSeed` is also read inside `splitting` (the API reference's spelling)
#: and tolerated at the top level (a published AWS sample puts it there; it has no effect there).
TOP_KEYS = ("splitting", "randomSeed")
SPLITTING_KEYS = ("percentBegin", "percentEnd", "complement", "strategy", "strategyParams", "randomSeed")
STRATEGY_PARAMS_KEYS = ("randomSeed",)


@dataclass(frozen=True)
class Rearrangement:
    """Rows whose position in [0, 100) lies in [begin, end) are selected (the others with `complement`).

    The position of a row comes from its byte offset: `sequential` uses offset * 100 / total bytes over
    all files in order; `random` maps sha256(seed, file uri, offset) uniformly to [0, 100).
    """

    begin: int = 0
    end: int = 100
    complement: bool = False
    strategy: str = "sequential"
    seed: str = ""

    @property
    def selects_all(self) -> bool:
        return (self.begin, self.end, self.complement) == (0, 100, False)

    def select(self, uri: str, offsets: np.ndarray, file_start: int, total_bytes: int) -> np.ndarray:
        """Boolean mask of the rows at byte `offsets` of file `uri`, which starts at `file_start` overall."""
        if self.selects_all:
            return np.ones(len(offsets), dtype=bool)
        if self.strategy == "random":
            positions = self._random_positions(uri, offsets)
        else:
            positions = (file_start + offsets.astype(np.float64)) * 100.0 / max(total_bytes, 1)
        inside = (positions >= self.begin) & (positions < self.end)
        return inside ^ self.complement  # type: ignore[no-any-return]

    def _random_positions(self, uri: str, offsets: np.ndarray) -> np.ndarray:
        prefix = f"{self.seed}\x00{uri}\x00".encode()
        digests = b"".join(hashlib.sha256(prefix + str(int(o)).encode()).digest()[:8] for o in offsets)
        numbers = np.frombuffer(digests, dtype=">u8").astype(np.float64)
        return numbers / 2.0**64 * 100.0  # type: ignore[no-any-return]


def parse_rearrangement(text: str | None) -> Rearrangement:
    """Parse a DataRearrangement string (None or empty: all rows); InvalidInputException names the key."""
    if text is None or not text.strip():
        return Rearrangement()
    document = json_object(text, "DataRearrangement", 'such as {"splitting": {...}}')
    _check_keys(document, TOP_KEYS, "")
    splitting = document.get("splitting")
    if splitting is None:
        return Rearrangement()
    if not isinstance(splitting, dict):
        raise InvalidInputException("DataRearrangement 'splitting' must be a JSON object.")
    _check_keys(splitting, SPLITTING_KEYS, "splitting.")
    begin = _percent(splitting, "percentBegin", 0)
    end = _percent(splitting, "percentEnd", 100)
    if begin > end:
        raise InvalidInputException(
            f"DataRearrangement 'percentBegin' ({begin}) is greater than 'percentEnd' ({end}); swap them."
        )
    return Rearrangement(begin, end, _complement(splitting), _strategy(splitting), _seed(splitting))


def _percent(splitting: dict[str, Any], key: str, default: int) -> int:
    value = splitting.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidInputException(
            f"DataRearrangement 'splitting.{key}' is {value!r}; it must be an integer from 0 to 100."
        )
    return value


def _complement(splitting: dict[str, Any]) -> bool:
    value = splitting.get("complement", False)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise InvalidInputException(
            f"DataRearrangement 'splitting.complement' is {value!r}; it must be true or false."
        )
    return value


def _strategy(splitting: dict[str, Any]) -> str:
    value = splitting.get("strategy", "sequential")
    if not isinstance(value, str) or value.strip().lower() not in STRATEGIES:
        raise InvalidInputException(
            f'DataRearrangement \'splitting.strategy\' is {value!r}; use "sequential" or "random".'
        )
    return value.strip().lower()


def _seed(splitting: dict[str, Any]) -> str:
    params = splitting.get("strategyParams", {})
    if not isinstance(params, dict):
        raise InvalidInputException("DataRearrangement 'splitting.strategyParams' must be a JSON object.")
    _check_keys(params, STRATEGY_PARAMS_KEYS, "splitting.strategyParams.")
    key = "strategyParams.randomSeed" if "randomSeed" in params else "randomSeed"
    value = params.get("randomSeed", splitting.get("randomSeed", ""))
    if isinstance(value, (dict, list)) or value is None:
        raise InvalidInputException(
            f"DataRearrangement 'splitting.{key}' is {json.dumps(value)}; it must be a string such as \"s1\"."
        )
    return str(value)


def _check_keys(document: dict[str, Any], known: tuple[str, ...], path: str) -> None:
    """A misspelt key would silently select every row; refuse it, listing the keys that level takes."""
    unknown = [key for key in document if key not in known]
    if unknown:
        listed = ", ".join(f"'{path}{key}'" for key in unknown)
        raise InvalidInputException(
            f"DataRearrangement has unknown key {listed}; "
            f"{f'{path[:-1]!r}' if path else 'the top level'} takes only {', '.join(known)}."
        )
