"""Amazon ML's number format for predictions: Java-style scientific notation, at most 7 significant digits.

A value is written as Python's `%.6E` would round it (correctly rounded, ties to even), with trailing
fraction zeros, the `+` and leading exponent zeros dropped: `1.500000E+00` -> `1.5E0`, zero as `0E0`.
Whole columns are formatted with NumPy: 7-digit mantissas from a scaling that is exact to about 1e-9 of
a unit, and the few values whose rounding that could change (within 1e-6 of a tie), or that are
extreme, by Python's own `%.6E`.
"""

from __future__ import annotations

import itertools

import numpy as np

from aml_provider.local.writers.cells import Cells, text_cells

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
#: Bytes of the longest field: sign, 7 digits and a point, E, exponent sign and 3 digits (`-4.940656E-324`).
WIDTH = 14
#: Powers of ten that are exact in float64 (10**22 is the last), by which values are scaled.
_EXACT = 22
#: How close to a rounding tie (in units of the 7th digit) a scaled value goes to Python's formatting.
_TIE = 1e-6
_POWERS = np.power(10.0, np.arange(301))
#: "000" to "999", and how many of the digits of each stay once trailing zeros are dropped ("120" -> 2).
_TRIPLES = np.array([f"{k:03d}" for k in range(1000)], dtype="S3")
_KEPT = np.array([len(f"{k:03d}".rstrip("0")) for k in range(1000)], dtype=np.int64)
#: The three-digit groups of a row: fraction digits 1-3 and 4-6, exponent.
_GROUPS = np.dtype(
    {"names": ["high", "low", "exponent"], "formats": ["S3"] * 3, "offsets": [3, 6, 11], "itemsize": WIDTH}
)


def _used_bytes() -> np.ndarray:
    """Which bytes of a row a value uses, by `_shape`: sign, fraction digits kept, exponent sign and size."""
    shapes = []
    for negative, kept, below, exponent_digits in itertools.product((0, 1), range(7), (0, 1), (1, 2, 3)):
        row = [negative, 1, kept > 0, *(k < kept for k in range(6)), 1, below]
        shapes.append(row + [k >= 3 - exponent_digits for k in range(3)])
    return np.array(shapes, dtype=bool)


_USED = _used_bytes()
_LENGTHS = _USED.sum(axis=1)


def format_scores(values: np.ndarray) -> list[str]:
    """Format many numbers at once: `1E0`, `9.96733E-1`, `-1.526385E1`."""
    cells = score_cells(values)
    text = cells.data.tobytes().decode("utf-8")
    ends = np.cumsum(cells.lengths).tolist()
    return [text[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def format_score(value: float) -> str:
    """Format one number the way Amazon ML writes scores (`0.5` -> `5E-1`)."""
    return format_scores(np.array([value]))[0]


def score_cells(values: np.ndarray) -> Cells:
    """The formatted values as CSV cells (see `Cells`)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():  # not a score (`INF`, `NAN`): the rule itself, value by value
        return text_cells(np.array([_python_format(value) for value in x.tolist()], dtype=object))
    digits, exponent = _decimal(x)
    matrix, shape = _layout(digits, exponent, np.signbit(x))
    used = _USED[shape].ravel()
    return Cells(matrix.ravel().take(np.flatnonzero(used)), _LENGTHS[shape])


def _decimal(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 7-digit mantissas (1000000-9999999, 0 for zero) and decimal exponents of finite values."""
    magnitude = np.abs(x)
    zero = magnitude == 0
    exponent = np.floor(np.log10(np.where(zero, 1.0, magnitude))).astype(np.int64)
    with np.errstate(over="ignore", under="ignore"):
        scaled = _scale(magnitude, 6 - exponent)
        low, high = scaled < 1e6, scaled >= 1e7  # log10 was off by one next to a power of ten
        if low.any() or high.any():
            exponent += high.astype(np.int64) - low
            scaled = np.where(low | high, _scale(magnitude, 6 - exponent), scaled)
    odd = (np.abs(scaled - np.floor(scaled) - 0.5) < _TIE) | (np.abs(6 - exponent) > _EXACT)
    odd &= ~zero
    digits = np.rint(np.where(odd, 0.0, scaled)).astype(np.int64)
    carry = digits >= 10_000_000
    digits[carry] = 1_000_000
    exponent += carry
    digits[zero], exponent[zero] = 0, 0
    for i in np.flatnonzero(odd).tolist():  # near a tie, or too large or small to scale exactly
        mantissa, _, power = f"{x[i]:.6E}".partition("E")
        digits[i], exponent[i] = int(mantissa.lstrip("-").replace(".", "")), int(power)
    return digits, exponent


def _scale(magnitude: np.ndarray, power: np.ndarray) -> np.ndarray:
    """magnitude * 10**power, one rounding when |power| <= 22 (10**power is then exact in float64)."""
    factor = _POWERS[np.minimum(np.abs(power), len(_POWERS) - 1)]
    return np.where(power >= 0, magnitude * factor, magnitude / factor)


def _layout(digits: np.ndarray, exponent: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`[-]d[.dddddd]E[-]e` in fixed columns (sign 0, digits 1 and 3-8, point 2, E 9, exponent 10-13), and
    the number of the row's shape in `_USED`."""
    matrix = np.empty((len(digits), WIDTH), dtype=np.uint8)
    groups = matrix.view(_GROUPS).ravel()
    fraction = digits % 1_000_000
    high, low = fraction // 1000, fraction % 1000
    size = np.minimum(np.abs(exponent), 999)
    matrix[:, 0] = ord("-")
    matrix[:, 1] = digits // 1_000_000 + ord("0")
    matrix[:, 2] = ord(".")
    groups["high"], groups["low"] = _TRIPLES.take(high), _TRIPLES.take(low)
    matrix[:, 9] = ord("E")
    matrix[:, 10] = ord("-")
    groups["exponent"] = _TRIPLES.take(size)
    kept = np.where(low == 0, _KEPT[high], 3 + _KEPT[low])  # fraction digits left without trailing zeros
    shape = ((negative * 7 + kept) * 2 + (exponent < 0)) * 3 + (size >= 10) + (size >= 100)
    return matrix, shape


def _python_format(value: float) -> str:
    """One value by Python's `%.6E` and the rewrites (the rule itself; also for inf and nan)."""
    text = f"{value:.6E}"
    for old, new in _REWRITES:
        text = text.replace(old, new)
    return text
