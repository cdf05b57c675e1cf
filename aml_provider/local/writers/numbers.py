"""Amazon ML's number format for predictions: Java-style scientific notation, at most 7 significant digits."""

from __future__ import annotations

import numpy as np

#: Rewrites of `%.6E` output, zero first, then the longest trailing-zero run: `1.500000E+00` -> `1.5E0`.
_REWRITES = (
    ("0.000000E+00", "Z"),
    (".000000E", "E"),
    *((f"{'0' * run}E", "E") for run in range(5, 0, -1)),
    ("E+0", "E"),
    ("E-0", "E-"),
    ("E+", "E"),
    ("Z", "0E0"),
)


def format_scores(values: np.ndarray) -> list[str]:
    """Format many numbers at once: `1E0`, `9.96733E-1`, `-1.526385E1` (finite values only)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0:
        return []
    text = ("%.6E\n" * flat.size) % tuple(flat.tolist())
    for old, new in _REWRITES:
        text = text.replace(old, new)
    return text.split("\n")[:-1]


def format_score(value: float) -> str:
    """Format one number the way Amazon ML writes scores (`0.5` -> `5E-1`)."""
    return format_scores(np.array([value]))[0]
