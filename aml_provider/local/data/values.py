"""Parsing raw CSV values of NUMERIC and BINARY attributes and splitting TEXT, vectorised over whole columns.

Short inputs (e.g. one real-time Predict record) take a plain-Python path with the same results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

_BINARY = {
    **dict.fromkeys(("1", "y", "yes", "t", "true"), 1.0),
    **dict.fromkeys(("0", "n", "no", "f", "false"), 0.0),
}
#: Inputs up to this length are parsed value by value, without pandas' per-call overhead.
_SHORT = 32
#: Values parsed once per distinct value when the first _HEAD (or tenth) of them hold at most this share of
#: distinct ones.
_HEAD, _REPEATED = 1_000, 0.5


def is_missing(values: Iterable[object]) -> np.ndarray:
    """True where a value is empty or only white space (None counts as empty)."""
    return _per_distinct(values, lambda v: not v.strip(), True, bool)


def parse_numeric(values: Iterable[object]) -> np.ndarray:
    """Float64 array of the values; nan where missing or not a finite number."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # parsed already
        return np.where(np.isfinite(values), values, np.nan).astype(np.float64, copy=False).reshape(-1)
    array = np.asarray(values, dtype=object).reshape(-1)
    if len(array) <= _SHORT:
        return np.array([number(v) for v in array], dtype=np.float64)
    parsed = _plain_numbers(array)
    if parsed is None:
        parsed = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
    return np.where(np.isfinite(parsed), parsed, np.nan)


def invalid_numbers(values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Where `numbers` (`parse_numeric` of `values`) is nan for a value that was not empty."""
    invalid = np.isnan(numbers)
    invalid[invalid] = ~is_missing(values[invalid])
    return invalid


def _plain_numbers(array: np.ndarray) -> np.ndarray | None:
    """`_parse_plain` of the values, or of their distinct values only when the first of them repeat (a
    column of few distinct numbers: whole numbers, amounts in cents), each then parsed once."""
    head = array[: max(_HEAD, len(array) // 10)]
    if len(pd.unique(head)) > len(head) * _REPEATED:
        return _parse_plain(array)
    codes, distinct = pd.factorize(array)
    parsed = _parse_plain(distinct) if len(codes) and codes.min() >= 0 else None  # None: not all strings
    return None if parsed is None else parsed[codes]


def _parse_plain(array: np.ndarray) -> np.ndarray | None:
    """The values parsed in one C loop (Python's float, correctly rounded), empty ones as nan; None when
    some value is neither empty nor a number, or holds what `float` reads but `pandas.to_numeric` does
    not ('_' between digits, non-ASCII digits), which the slower general path then handles."""
    empty = array == ""
    filled = np.where(empty, "nan", array) if empty.any() else array
    try:
        joined = "".join(filled.tolist())
    except TypeError:  # not all strings
        return None
    if not joined.isascii() or "_" in joined:
        return None
    try:
        return filled.astype(np.float64)  # type: ignore[no-any-return]
    except ValueError:
        return None


def parse_binary(values: Iterable[object]) -> np.ndarray:
    """1.0 for 1/y/yes/t/true, 0.0 for 0/n/no/f/false (any case, spaces ignored), nan otherwise."""
    return _per_distinct(values, binary, np.nan, np.float64)


def binary(text: str) -> float:
    """One value as `parse_binary` reads it."""
    return _BINARY.get(text.strip().lower(), math.nan)


def number(value: object) -> float:
    """One value as `pandas.to_numeric` reads it: a finite decimal number, else nan."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value) if value is not None else ""
        if not text.isascii() or "_" in text:
            return math.nan
        try:
            number = float(text)
        except ValueError:
            return math.nan
    return number if math.isfinite(number) else math.nan


def _per_distinct(
    values: Iterable[object], convert: Callable[[str], Any], missing: Any, dtype: Any
) -> np.ndarray:
    """Apply `convert` once per distinct value (None gets `missing`): fast on columns with few values."""
    array = np.asarray(values, dtype=object).reshape(-1)
    if len(array) <= _SHORT:
        return np.array([missing if v is None else convert(str(v)) for v in array], dtype=dtype)
    codes, uniques = pd.factorize(pd.Series(array, dtype=object))
    table = np.array([convert(str(u)) for u in uniques] + [missing], dtype=dtype)
    return table[codes]  # type: ignore[no-any-return]


#: Joins the values of a text column: white space to `str.split()`, so one split of the join gives every token.
_SEPARATOR = "\x1f"
#: The ASCII characters `str.split()` splits on.
_SPLITS = np.zeros(256, dtype=bool)
_SPLITS[list(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")] = True


def split_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The whitespace-separated tokens of every value (`str.split()`, in order) and the row of each token."""
    joined = _split_joined(values) if len(values) > _SHORT else None
    if joined is not None:
        return joined
    split = [str(value).split() for value in values]
    counts = np.fromiter(map(len, split), dtype=np.intp, count=len(split))
    return np.repeat(np.arange(len(split)), counts), objects([token for tokens in split for token in tokens])


def _split_joined(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`split_text` from one split of the values' join, each token's row found with numpy (the row separators
    before its first character); None for text that is not ASCII or holds the separator, or not all strings."""
    try:
        joined = _SEPARATOR.join(values.tolist())
    except TypeError:
        return None
    if not joined.isascii() or joined.count(_SEPARATOR) != len(values) - 1:
        return None
    codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    space = _SPLITS[codes]
    starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))  # first character of each token
    rows = np.searchsorted(np.flatnonzero(codes == ord(_SEPARATOR)), starts)
    return rows, objects(joined.split())


def objects(items: list[Any]) -> np.ndarray:
    """A 1-d object array of `items` (np.array would build 2-d arrays from nested sequences)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
