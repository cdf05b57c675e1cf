"""Parsing raw CSV values of NUMERIC and BINARY attributes, vectorised over whole columns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

_BINARY = {
    **dict.fromkeys(("1", "y", "yes", "t", "true"), 1.0),
    **dict.fromkeys(("0", "n", "no", "f", "false"), 0.0),
}


def _per_distinct(
    values: Iterable[object], convert: Callable[[str], Any], missing: Any, dtype: Any
) -> np.ndarray:
    """Apply `convert` once per distinct value (None gets `missing`): fast on columns with few values."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    table = np.array([convert(str(u)) for u in uniques] + [missing], dtype=dtype)
    return table[codes]  # type: ignore[no-any-return]


def is_missing(values: Iterable[object]) -> np.ndarray:
    """True where a value is empty or only white space (None counts as empty)."""
    return _per_distinct(values, lambda v: not v.strip(), True, bool)


def parse_numeric(values: Iterable[object]) -> np.ndarray:
    """Float64 array of the values; nan where missing or not a finite number."""
    column = pd.Series(np.asarray(values, dtype=object), dtype=object)
    parsed = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(parsed), parsed, np.nan)


def parse_binary(values: Iterable[object]) -> np.ndarray:
    """1.0 for 1/y/yes/t/true, 0.0 for 0/n/no/f/false (any case, spaces ignored), nan otherwise."""
    return _per_distinct(values, lambda v: _BINARY.get(v.strip().lower(), np.nan), np.nan, np.float64)
