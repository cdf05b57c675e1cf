"""Parsing raw CSV values of NUMERIC and BINARY attributes, vectorised over whole columns."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

_BINARY = {
    **dict.fromkeys(("1", "y", "yes", "t", "true"), 1.0),
    **dict.fromkeys(("0", "n", "no", "f", "false"), 0.0),
}


def _strings(values: Iterable[object]) -> pd.Series:
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return series.where(series.notna(), "").astype(str).str.strip()


def is_missing(values: Iterable[object]) -> np.ndarray:
    """True where a value is empty or only white space (None counts as empty)."""
    return (_strings(values) == "").to_numpy(dtype=bool)


def parse_numeric(values: Iterable[object]) -> np.ndarray:
    """Float64 array of the values; nan where missing or not a finite number."""
    column = pd.Series(np.asarray(values, dtype=object), dtype=object)
    parsed = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(parsed), parsed, np.nan)


def parse_binary(values: Iterable[object]) -> np.ndarray:
    """1.0 for 1/y/yes/t/true, 0.0 for 0/n/no/f/false (any case, spaces ignored), nan otherwise."""
    mapped = _strings(values).str.lower().map(_BINARY)
    return mapped.to_numpy(dtype=np.float64, na_value=np.nan)
