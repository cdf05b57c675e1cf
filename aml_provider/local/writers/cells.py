"""CSV lines built a column at a time with NumPy: each column as one buffer of its fields' bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

#: Characters that make a CSV field need quotes.
SPECIAL = ',"\n\r'


class Cells(NamedTuple):
    """A column of CSV fields: every field's bytes one after another (uint8), and each field's length."""

    data: np.ndarray
    lengths: np.ndarray


def text_cells(values: np.ndarray) -> Cells:
    """A column of text values as CSV fields, quoted only when they hold a comma, quote or line break."""
    texts = [str(value) for value in values.tolist()]
    joined = "".join(texts)
    if any(c in joined for c in SPECIAL):
        texts = [csv_field(text) for text in texts]
        joined = "".join(texts)
    if joined.isascii():
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return Cells(np.frombuffer(joined.encode("ascii"), dtype=np.uint8), lengths)
    encoded = [text.encode("utf-8") for text in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return Cells(np.frombuffer(b"".join(encoded), dtype=np.uint8), lengths)


def csv_field(value: object) -> str:
    """A CSV field, quoted only when it holds a comma, quote or line break."""
    text = str(value)
    if any(c in text for c in SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def join_lines(columns: Sequence[Cells]) -> bytes:
    """The rows as CSV lines: fields joined by commas, each line ending in a newline."""
    widths = sum((column.lengths for column in columns), np.zeros_like(columns[0].lengths)) + len(columns)
    ends = np.cumsum(widths)
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    offset = ends - widths
    for number, column in enumerate(columns):
        sources = np.cumsum(column.lengths) - column.lengths
        out[np.repeat(offset - sources, column.lengths) + np.arange(len(column.data))] = column.data
        offset += column.lengths
        out[offset] = ord("\n") if number == len(columns) - 1 else ord(",")
        offset += 1
    return out.tobytes()
