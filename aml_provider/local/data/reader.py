"""Streaming reader of a datasource's CSV files: bounded memory, malformed lines counted and skipped."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from aml_provider.local.data.rearrangement import Rearrangement, parse_rearrangement
from aml_provider.local.data.s3 import S3Object, S3Store
from aml_provider.local.data.schema import Schema, parse_schema
from aml_provider.local.data.values import invalid_numbers, parse_numeric
from aml_provider.local.errors import JobFailed

MAX_LINE_BYTES = 100 * 1024
BLOCK_BYTES = 8 * 1024 * 1024
#: How many reasons for rejected lines a chunk keeps, for logs and failure messages.
MAX_PROBLEMS = 5
#: Values by attribute, and for those read as numbers which of their nan values were not empty.
_Columns = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


@dataclass
class Chunk:
    """Selected, well-formed rows of one file: raw string values by attribute name (float64 for the
    attributes read as numbers, nan where empty or not a finite number)."""

    file: S3Object
    columns: dict[str, np.ndarray]
    line_numbers: np.ndarray  # 0-based index of each row among the file's data lines (header excluded)
    rejected: int = 0  # malformed lines dropped since the previous chunk
    problems: list[str] = field(default_factory=list)  # why the first few of them were dropped
    #: per attribute read as numbers: True where its text was neither empty nor a finite number (its other
    #: nan values were empty)
    invalid: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.line_numbers)


class DataSourceReader:
    """The rows of a datasource, read file by file in blocks of whole lines."""

    def __init__(
        self,
        s3: S3Store,
        schema: Schema,
        files: list[S3Object],
        statistics: dict[str, Any] | None = None,
        rearrangement: Rearrangement | None = None,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self.s3 = s3
        self.block_bytes = block_bytes
        self.schema = schema
        self.files = files
        self.statistics = statistics
        self.rearrangement = rearrangement or Rearrangement()

    def chunks(self, chunk_rows: int = 100_000, numbers: Collection[str] = ()) -> Iterator[Chunk]:
        """Chunks of at most `chunk_rows` rows, in file and line order, rearrangement applied.

        The attributes in `numbers` are parsed as numbers while the CSV is split (pandas' C parser, no
        string per value), exactly as `parse_numeric` reads their text; `Chunk.invalid` tells which of their
        nan values were not empty.
        """
        total_bytes = sum(f.size for f in self.files)
        file_start = 0
        for file in self.files:
            with self.s3.open(file.uri) as body:
                reader = _FileReader(self, file, file_start, total_bytes, frozenset(numbers))
                for offset, block in _line_blocks(body, file, self.block_bytes):
                    yield from reader.read(offset, block, chunk_rows)
            file_start += file.size


def open_datasource(s3: S3Store, artifacts: Path, entity: dict[str, Any]) -> DataSourceReader:
    """The reader of a completed datasource, from the files its job left in `artifacts`."""
    schema = parse_schema((artifacts / "schema.json").read_text())
    files = [S3Object(f["uri"], int(f["size"])) for f in json.loads((artifacts / "files.json").read_text())]
    statistics_path = artifacts / "statistics.json"
    statistics = json.loads(statistics_path.read_text()) if statistics_path.exists() else None
    rearrangement = parse_rearrangement(entity.get("DataRearrangement"))
    return DataSourceReader(s3, schema, files, statistics, rearrangement)


def _line_blocks(body: IO[bytes], file: S3Object, block_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(offset, block) pairs: blocks of whole lines ending in newline; None marks an overlong line."""
    offset, buffer, skipping = 0, b"", False
    while piece := body.read(block_bytes):
        if offset == 0 and not buffer:
            check_text_encoding(file.uri, piece)
        if offset == 0 and not buffer and piece.startswith(codecs.BOM_UTF8):
            piece, offset = piece[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
        if skipping:
            newline = piece.find(b"\n")
            offset += len(piece) if newline < 0 else newline + 1
            if newline < 0:
                continue
            piece, skipping = piece[newline + 1 :], False
        buffer += piece
        cut = buffer.rfind(b"\n") + 1
        if cut:
            yield offset, buffer[:cut]
            offset, buffer = offset + cut, buffer[cut:]
        if len(buffer) > MAX_LINE_BYTES:
            _check_line_ends(file, offset, buffer)
            yield offset, None
            offset, buffer, skipping = offset + len(buffer), b"", True
    if buffer and not skipping:
        _check_line_ends(file, offset, buffer)
        yield offset, buffer + b"\n"


#: Byte-order marks of encodings other than UTF-8 (UTF-32 first: its little-endian mark starts like UTF-16's).
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def check_text_encoding(uri: str, start: bytes) -> None:
    """Fail clearly on data that is not UTF-8 text: a UTF-16/32 byte-order mark, or NUL bytes (UTF-16
    without a mark, or binary data) in the first block."""
    for bom, encoding in _OTHER_BOMS:
        if start.startswith(bom):
            raise JobFailed(
                f"{uri} is {encoding} text (it starts with a {encoding} byte-order mark); Amazon ML reads "
                "UTF-8: save the file as UTF-8."
            )
    if b"\x00" in start[:4096]:
        raise JobFailed(
            f"{uri} holds NUL bytes, so it is not UTF-8 text (UTF-16 without a byte-order mark, or a binary "
            "or compressed file); save it as UTF-8 CSV."
        )


def _check_line_ends(file: S3Object, offset: int, first_line: bytes) -> None:
    """Fail clearly on a file whose lines end with a bare carriage return (it has no newline at all)."""
    if offset <= len(codecs.BOM_UTF8) and b"\r" in first_line.rstrip(b"\r"):
        raise JobFailed(
            f"{file.uri} ends its lines with a bare carriage return (\\r, old Mac style), which cannot be "
            "read; convert its line ends to \\n (e.g. `tr '\\r' '\\n' < old.csv > new.csv`) or save it "
            "again as 'CSV UTF-8' or 'Windows Comma Separated', upload it and create the DataSource again."
        )


class _FileReader:
    """Turns the line blocks of one file into chunks, keeping its line counts between blocks."""

    def __init__(
        self,
        reader: DataSourceReader,
        file: S3Object,
        file_start: int,
        total_bytes: int,
        numbers: frozenset[str],
    ) -> None:
        self.schema = reader.schema
        self.numbers = [i for i, name in enumerate(reader.schema.names) if name in numbers]
        self.rearrangement = reader.rearrangement
        self.file = file
        self.file_start = file_start
        self.total_bytes = total_bytes
        self.lines_seen = 0  # physical lines so far, for messages
        self.data_lines = 0  # non-blank lines after the header so far

    def read(self, offset: int, block: bytes | None, chunk_rows: int) -> Iterator[Chunk]:
        """The chunks of one block of whole lines at byte `offset` (None: one overlong line)."""
        if block is None:
            yield from self._overlong(offset)
            return
        lines = _Lines(block)
        data = ~lines.blank
        if self.lines_seen == 0 and self.schema.header:
            data[0] = False
        numbers = self.data_lines + np.cumsum(data) - 1
        selected = data.copy()
        selected[data] = self.rearrangement.select(
            self.file.uri, offset + lines.starts[data], self.file_start, self.total_bytes
        )
        problems = self._problems(lines, selected)
        good = selected & ~problems.mask
        (columns, invalid), parsed = self._parse(lines, good)
        if not np.array_equal(parsed, good):
            problems.add(good & ~parsed, "values that cannot be split as the schema's attributes")
            good = parsed
        first_line = self.lines_seen
        self.lines_seen += len(lines.starts)
        self.data_lines += int(data.sum())
        line_numbers = numbers[good].astype(np.int64)
        messages = [f"line {first_line + i + 1} of {self.file.uri}: {why}" for i, why in problems.reasons]
        for begin in range(0, max(len(line_numbers), 1), chunk_rows):
            part = slice(begin, begin + chunk_rows)
            rejected = problems.count if begin == 0 else 0
            if begin or len(line_numbers) or rejected:
                yield Chunk(
                    self.file,
                    {name: values[part] for name, values in columns.items()},
                    line_numbers[part],
                    rejected,
                    messages if rejected else [],
                    {name: mask[part] for name, mask in invalid.items()},
                )

    def _overlong(self, offset: int) -> Iterator[Chunk]:
        """One line longer than the observation limit: counted as a data line, rejected if selected."""
        self.lines_seen += 1
        if self.lines_seen == 1 and self.schema.header:
            return
        self.data_lines += 1
        if self.rearrangement.select(self.file.uri, np.array([offset]), self.file_start, self.total_bytes)[0]:
            empty, invalid = self._numbers({name: np.empty(0, dtype=object) for name in self.schema.names})
            why = f"line {self.lines_seen} of {self.file.uri}: longer than {MAX_LINE_BYTES} bytes"
            yield Chunk(self.file, empty, np.empty(0, dtype=np.int64), 1, [why], invalid)

    def _problems(self, lines: _Lines, selected: np.ndarray) -> _Problems:
        """Selected lines that are too long or have the wrong number of fields."""
        expected = len(self.schema.attributes)
        fields = lines.field_counts(selected)
        too_long = selected & (lines.lengths > MAX_LINE_BYTES)
        wrong = selected & ~too_long & (fields != expected)
        mask = too_long | wrong
        reasons = []
        for i in np.flatnonzero(mask)[:MAX_PROBLEMS]:
            if too_long[i]:
                reasons.append((int(i), f"longer than {MAX_LINE_BYTES} bytes"))
            elif fields[i] < 0:
                reasons.append((int(i), "badly quoted value or a carriage return inside the line"))
            else:
                reasons.append((int(i), f"{fields[i]} values where the schema has {expected} attributes"))
        return _Problems(mask, reasons)

    def _parse(self, lines: _Lines, good: np.ndarray) -> tuple[_Columns, np.ndarray]:
        """The good lines' values by attribute, and which lines gave them: pandas' C parser, or the csv
        module line by line where pandas disagrees with the field counts."""
        names = self.schema.names
        count = int(good.sum())
        if count == 0:
            return self._numbers({name: np.empty(0, dtype=object) for name in names}), good
        frame = self._read_csv(lines.keep(good), typed=True)
        if frame is None:  # a value of a numeric attribute that the C parser does not read as a number
            frame = self._read_csv(lines.keep(good), typed=False)
        if frame is not None and len(frame) == count:
            return self._numbers({name: frame[i].to_numpy() for i, name in enumerate(names)}), good
        return self._parse_each(lines, good)

    def _read_csv(self, data: bytes, typed: bool) -> pd.DataFrame | None:
        """The lines as text columns (`typed`: the numeric attributes as float64, empty as nan); None when
        pandas cannot parse them so."""
        numbers = self.numbers if typed else []
        empty_is_missing: Any = {i: [""] for i in numbers}  # by position, which pandas-stubs do not allow
        try:
            return pd.read_csv(
                io.BytesIO(data),
                header=None,
                names=list(range(len(self.schema.names))),
                index_col=False,
                dtype={i: np.float64 if i in numbers else object for i in range(len(self.schema.names))},
                na_filter=bool(numbers),
                na_values=empty_is_missing,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8",
                encoding_errors="replace",
                on_bad_lines="skip",
                engine="c",
            )
        except pd.errors.ParserError:
            return pd.DataFrame()
        except (ValueError, TypeError):
            return None

    def _numbers(self, columns: dict[str, np.ndarray]) -> _Columns:
        """`columns` with the numeric attributes as finite float64 values (nan elsewhere), and which of those
        were not empty. Numbers pandas parsed are nan only where empty: an invalid value of theirs is one it
        read as infinite (text it cannot read makes the block read as text)."""
        invalid = {}
        for i in self.numbers:
            name = self.schema.names[i]
            values = columns[name]
            numbers = parse_numeric(values)
            invalid[name] = np.isinf(values) if values.dtype.kind == "f" else invalid_numbers(values, numbers)
            columns[name] = numbers
        return columns, invalid

    def _parse_each(self, lines: _Lines, good: np.ndarray) -> tuple[_Columns, np.ndarray]:
        rows, parsed = [], good.copy()
        for i in np.flatnonzero(good):
            try:
                row = next(csv.reader([lines.text(int(i))]))
            except csv.Error:
                row = []
            if len(row) == len(self.schema.names):
                rows.append(row)
            else:
                parsed[i] = False
        table = np.empty((len(rows), len(self.schema.names)), dtype=object)
        table[:] = rows
        return self._numbers({name: table[:, i].copy() for i, name in enumerate(self.schema.names)}), parsed


@dataclass
class _Problems:
    """Selected lines rejected in a block, and why (for the first few)."""

    mask: np.ndarray
    reasons: list[tuple[int, str]]

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    def add(self, mask: np.ndarray, why: str) -> None:
        self.mask = self.mask | mask
        room = MAX_PROBLEMS - len(self.reasons)
        self.reasons = sorted(self.reasons + [(int(i), why) for i in np.flatnonzero(mask)[:room]])


class _Lines:
    """Line boundaries of a block of whole lines, found with numpy."""

    def __init__(self, block: bytes) -> None:
        self.raw = block
        self.bytes = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(self.bytes == ord("\n"))
        self.starts = np.concatenate(([0], newlines[:-1] + 1))
        self.trailing_returns = (newlines > self.starts) & (self.bytes[newlines - 1] == ord("\r"))
        self.ends = newlines - self.trailing_returns
        self.lengths = self.ends - self.starts
        self.sizes = np.diff(np.concatenate((self.starts, [len(self.bytes)])))  # with the line end
        self.blank = self.lengths == 0

    def text(self, i: int) -> str:
        return self.raw[self.starts[i] : self.ends[i]].decode("utf-8", errors="replace")

    def field_counts(self, selected: np.ndarray) -> np.ndarray:
        """Values per line (for selected lines; -1 when badly quoted or holding a stray carriage return).

        Commas count as separators outside double quotes; lines with an odd number of quotes go
        through the csv module.
        """
        is_comma = self.bytes == ord(",")
        is_quote = self.bytes == ord('"')
        quotes = self.per_line(is_quote)
        if quotes.any():
            parity = np.bitwise_xor.accumulate(is_quote.view(np.uint8))
            at_line_start = np.concatenate(([0], parity))[self.starts]
            is_comma &= parity == np.repeat(at_line_start, self.sizes)
        returns = self.per_line(self.bytes == ord("\r"))
        counts = np.where(returns > self.trailing_returns, -1, self.per_line(is_comma) + 1)
        for i in np.flatnonzero((quotes % 2 == 1) & selected & (counts >= 0)):
            try:
                counts[i] = len(next(csv.reader([self.text(int(i))], strict=True)))
            except csv.Error:
                counts[i] = -1
        return counts

    def per_line(self, marks: np.ndarray) -> np.ndarray:
        """How many of the marked bytes each line holds."""
        bounds = np.concatenate((self.starts, [len(self.bytes)]))
        return np.diff(np.searchsorted(np.flatnonzero(marks), bounds))

    def keep(self, mask: np.ndarray) -> bytes:
        """The bytes of the lines in `mask` (with their line ends)."""
        if mask.all():
            return self.raw
        return self.bytes[np.repeat(mask, self.sizes)].tobytes()  # type: ignore[no-any-return]
