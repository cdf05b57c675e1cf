"""Datasource statistics (statistics.json) in one streaming pass with bounded memory.

Counts, ranges, means, standard deviations and top values are exact; a column with very many distinct
values keeps only its most frequent ones and estimates its distinct count with a k-minimum-values sketch
(numeric distinct counts always use the sketch, exact below 4096). Quantiles, medians, histograms
(counts scaled to all rows) and target correlations come from a uniform sample of at most 100,000 rows.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mutual_info_score

from aml_provider.local.data.reader import Chunk
from aml_provider.local.data.schema import Schema
from aml_provider.local.data.values import (
    invalid_numbers,
    is_missing,
    parse_binary,
    parse_numeric,
    split_text,
)

SAMPLE_ROWS = 100_000
#: Sample cells across all attributes; wide schemas get fewer sample rows.
SAMPLE_CELLS = 10_000_000
TOP = 10
HISTOGRAM_BINS = 20
CORRELATION_BINS = 10
_MAX_COUNTED = 200_000  # distinct values counted exactly per column before pruning to the most frequent


class StatisticsBuilder:
    """Feed it every chunk of a datasource with `add`, then take the statistics.json document."""

    def __init__(self, schema: Schema, seed: int = 0) -> None:
        self.schema = schema
        self.records = 0
        self.invalid_records = 0
        sample_rows = max(1_000, min(SAMPLE_ROWS, SAMPLE_CELLS // len(schema.attributes)))
        self.sample = _Reservoir(sample_rows, np.random.default_rng(seed))
        self.columns = {a.name: _STATS[a.type]() for a in schema.attributes}

    def add(self, chunk: Chunk) -> None:
        self.invalid_records += chunk.rejected
        if not len(chunk):
            return
        self.records += len(chunk)
        sampled = {}
        for name, stats in self.columns.items():
            if name in chunk.invalid and isinstance(stats, _NumericStats):  # read as numbers
                sampled[name] = stats.add_numbers(chunk.columns[name], chunk.invalid[name])
            else:
                sampled[name] = stats.add(chunk.columns[name])
        self.sample.add(sampled, len(chunk))

    def result(self) -> dict[str, Any]:
        target = self.schema.target
        labels = self._target_labels()
        attributes = {}
        for name, stats in self.columns.items():
            document = stats.result(self.sample.values(name))
            correlation = None
            if labels is not None and name != target:
                correlation = stats.correlation(self.sample.values(name), labels)
            document["targetCorrelation"] = correlation
            attributes[name] = document
        return {
            "records": self.records,
            "invalidRecords": self.invalid_records,
            "target": target,
            "attributes": attributes,
        }

    def _target_labels(self) -> np.ndarray | None:
        """Class codes of the target in the sample (-1 where missing or invalid); None without a target."""
        if self.schema.target is None:
            return None
        return self.columns[self.schema.target].labels(self.sample.values(self.schema.target))


class _Reservoir:
    """A uniform sample of rows (Algorithm R, vectorised per chunk), one array per attribute."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self.seen = 0
        self.filled = 0
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, columns: dict[str, np.ndarray], n: int) -> None:
        if not self.arrays:
            self.arrays = {name: np.empty(self.size, dtype=v.dtype) for name, v in columns.items()}
        take = min(n, self.size - self.filled)
        for name, values in columns.items():
            self.arrays[name][self.filled : self.filled + take] = values[:take]
        self.filled += take
        if take < n:
            rows = np.arange(take, n)
            slots = self.rng.integers(0, self.seen + rows + 1)
            keep = slots < self.size
            for name, values in columns.items():
                self.arrays[name][slots[keep]] = values[rows[keep]]
        self.seen += n

    def values(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            return np.empty(0, dtype=object)
        return self.arrays[name][: self.filled]


class _Distinct:
    """Approximate distinct count: a k-minimum-values sketch over 64-bit hashes (exact below k)."""

    K = 4096

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        hashes = pd.util.hash_array(values)
        if len(self.hashes) == self.K:
            hashes = hashes[hashes < self.hashes[-1]]
        self.hashes = np.union1d(self.hashes, hashes)[: self.K]

    def estimate(self) -> int:
        if len(self.hashes) < self.K:
            return len(self.hashes)
        return round((self.K - 1) / (float(self.hashes[-1]) / 2.0**64))


class _Counts:
    """Value counts and the number of distinct values: exact until a column has very many distinct
    values, then only the most frequent are kept and a sketch estimates the distinct count."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.sketch: _Distinct | None = None

    def add(self, counts: dict[str, int]) -> None:
        """Merge the counts of one chunk (the dict is taken over)."""
        merged = self.counts
        for value in counts.keys() & merged.keys():
            counts[value] += merged[value]
        merged.update(counts)
        if self.sketch is not None:
            self.sketch.add(np.array(list(counts), dtype=object))
        elif len(merged) > _MAX_COUNTED:
            self.sketch = _Distinct()
            self.sketch.add(np.array(list(merged), dtype=object))
        if len(merged) > _MAX_COUNTED:
            keys, numbers = list(merged), np.fromiter(merged.values(), dtype=np.int64, count=len(merged))
            kept = np.argpartition(numbers, -(_MAX_COUNTED // 4))[-(_MAX_COUNTED // 4) :]
            self.counts = {keys[i]: int(numbers[i]) for i in kept}

    def distinct(self) -> int:
        return len(self.counts) if self.sketch is None else self.sketch.estimate()

    def top(self) -> list[list[Any]]:
        ordered = heapq.nlargest(TOP, self.counts.items(), key=itemgetter(1))
        return [[value, int(count)] for value, count in ordered]


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _mutual_information(codes: np.ndarray, labels: np.ndarray) -> float | None:
    valid = labels >= 0
    if valid.sum() < 2:
        return None
    table = _contingency(labels[valid], codes[valid])
    if table is None:
        return round(float(mutual_info_score(labels[valid], codes[valid])), 6)
    return round(float(mutual_info_score(None, None, contingency=table)), 6)


def _contingency(true: np.ndarray, predicted: np.ndarray) -> np.ndarray | None:
    """scikit-learn's contingency matrix of two integer labelings (classes in sorted order, counts as int64),
    counted with bincount; None when the table would be much larger than the labels."""
    classes, rows = _ranks(true)
    clusters, columns = _ranks(predicted)
    if classes * clusters > max(4 * len(true), 1024):
        return None
    return np.bincount(rows * clusters + columns, minlength=classes * clusters).reshape(classes, clusters)


def _ranks(labels: np.ndarray) -> tuple[int, np.ndarray]:
    """How many distinct integers `labels` holds, and the rank of each label among them."""
    low = int(labels.min())
    shifted = labels - low
    present = np.bincount(shifted) > 0
    return int(present.sum()), (np.cumsum(present) - 1)[shifted]


def _codes(values: np.ndarray) -> np.ndarray:
    return pd.factorize(values)[0]


def _bin_codes(numbers: np.ndarray) -> np.ndarray:
    """Quantile-bin codes of numbers; nan gets a bin of its own."""
    finite = numbers[~np.isnan(numbers)]
    codes = np.full(len(numbers), CORRELATION_BINS, dtype=np.int64)
    if len(finite):
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, CORRELATION_BINS + 1))[1:-1])
        codes[~np.isnan(numbers)] = np.searchsorted(edges, finite, side="right")
    return codes


_WHITE_SPACE = np.zeros(256, dtype=bool)
_WHITE_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def _words_per_line(text: str, lines: int) -> np.ndarray:
    """Number of white-space separated words on each line of `text` (ASCII white space)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    space = _WHITE_SPACE[data]
    starts = ~space & np.concatenate(([True], space[:-1]))
    line_of = np.cumsum(data == ord("\n"))
    return np.bincount(line_of[starts], minlength=lines)


class _NumericStats:
    def __init__(self) -> None:
        self.missing = self.invalid = self.count = 0
        self.min, self.max, self.mean, self.m2 = math.inf, -math.inf, 0.0, 0.0
        self.distinct = _Distinct()

    def add(self, values: np.ndarray) -> np.ndarray:
        numbers = parse_numeric(values)
        return self.add_numbers(numbers, invalid_numbers(values, numbers))

    def add_numbers(self, numbers: np.ndarray, invalid: np.ndarray) -> np.ndarray:
        """`add` of values read as numbers: finite or nan, `invalid` where nan stands for a value that was
        not empty."""
        valid = numbers[~np.isnan(numbers)]
        wrong = int(np.count_nonzero(invalid))
        self.missing += len(numbers) - len(valid) - wrong
        self.invalid += wrong
        if len(valid):
            self._merge(valid)
            self.distinct.add(pd.unique(valid))
        return numbers

    def _merge(self, valid: np.ndarray) -> None:
        """Chan's parallel update of count, mean and sum of squared deviations."""
        n, mean = len(valid), float(valid.mean())
        m2 = float(((valid - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total
        self.min, self.max = min(self.min, float(valid.min())), max(self.max, float(valid.max()))

    def result(self, sample: np.ndarray) -> dict[str, Any]:
        document: dict[str, Any] = {"missing": self.missing, "invalid": self.invalid}
        valid = sample[~np.isnan(sample)]
        if not self.count or not len(valid):
            empty = dict.fromkeys(("min", "max", "mean", "median", "std"))
            return {
                **document,
                **empty,
                "distinct": 0,
                "quantiles": [],
                "histogram": {"edges": [], "counts": []},
            }
        quantiles = np.quantile(valid, np.linspace(0, 1, 101))
        quantiles[0], quantiles[-1] = self.min, self.max
        return {
            **document,
            "min": self.min,
            "max": self.max,
            "mean": _number(self.mean),
            "median": _number(float(quantiles[50])),
            "std": _number(math.sqrt(self.m2 / self.count)),
            "distinct": self.distinct.estimate(),
            "quantiles": [float(q) for q in quantiles],
            "histogram": self._histogram(valid),
        }

    def _histogram(self, valid: np.ndarray) -> dict[str, list[Any]]:
        """Equal-width bins over [min, max]; counts scaled to all values when the sample is partial."""
        bins = HISTOGRAM_BINS if self.max > self.min else 1
        counts, edges = np.histogram(valid, bins=bins, range=(self.min, self.max))
        if len(valid) < self.count:
            counts = np.round(counts * (self.count / len(valid))).astype(np.int64)
        return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}

    def labels(self, sample: np.ndarray) -> np.ndarray:
        codes = _bin_codes(sample)
        codes[np.isnan(sample)] = -1
        return codes

    def correlation(self, sample: np.ndarray, labels: np.ndarray) -> float | None:
        return _mutual_information(_bin_codes(sample), labels)


class _BinaryStats:
    def __init__(self) -> None:
        self.true = self.false = self.missing = self.invalid = 0

    def add(self, values: np.ndarray) -> np.ndarray:
        flags = parse_binary(values)
        blank = int(is_missing(values[np.isnan(flags)]).sum())
        self.true += int((flags == 1.0).sum())
        self.false += int((flags == 0.0).sum())
        self.missing += blank
        self.invalid += int(np.isnan(flags).sum()) - blank
        return flags

    def result(self, sample: np.ndarray) -> dict[str, Any]:
        return {
            "trueCount": self.true,
            "falseCount": self.false,
            "missing": self.missing,
            "invalid": self.invalid,
        }

    def labels(self, sample: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(sample), -1, sample).astype(np.int64)  # type: ignore[no-any-return]

    def correlation(self, sample: np.ndarray, labels: np.ndarray) -> float | None:
        return _mutual_information(np.where(np.isnan(sample), 2, sample).astype(np.int64), labels)


class _CategoricalStats:
    def __init__(self) -> None:
        self.missing = 0
        self.counts = _Counts()

    def add(self, values: np.ndarray) -> np.ndarray:
        codes, uniques = pd.factorize(values)
        originals = list(map(str, uniques.tolist()))
        keys = list(map(str.strip, originals))
        counted = codes if codes.min(initial=0) >= 0 else codes[codes >= 0]
        numbers = np.bincount(counted, minlength=len(uniques)).tolist()
        if keys == originals:
            merged = dict(zip(keys, numbers, strict=True))
        else:
            merged = {}
            for key, number in zip(keys, numbers, strict=True):
                merged[key] = merged.get(key, 0) + number
        self.missing += merged.pop("", 0)
        self.counts.add(merged)
        return values

    def result(self, sample: np.ndarray) -> dict[str, Any]:
        return {"missing": self.missing, "unique": self.counts.distinct(), "top": self.counts.top()}

    def labels(self, sample: np.ndarray) -> np.ndarray:
        codes = _codes(sample)
        codes[is_missing(sample)] = -1
        return codes

    def correlation(self, sample: np.ndarray, labels: np.ndarray) -> float | None:
        return _mutual_information(_codes(sample), labels)


class _TextStats:
    def __init__(self) -> None:
        self.words = 0
        self.words_per_row = [math.inf, -math.inf]
        self.word_length = [math.inf, -math.inf]
        self.counts = _Counts()

    def add(self, values: np.ndarray) -> np.ndarray:
        text = "\n".join(values)
        counts = Counter(text.split())
        per_row = _words_per_line(text, len(values))
        self.words += counts.total()
        self.words_per_row = [
            min(self.words_per_row[0], per_row.min()),
            max(self.words_per_row[1], per_row.max()),
        ]
        if counts:
            lengths = [len(word) for word in counts]
            self.word_length = [
                min(self.word_length[0], min(lengths)),
                max(self.word_length[1], max(lengths)),
            ]
            self.counts.add(counts)
        return values

    def result(self, sample: np.ndarray) -> dict[str, Any]:
        def span(pair: list[float]) -> list[int] | None:
            return [int(pair[0]), int(pair[1])] if math.isfinite(pair[0]) else None

        return {
            "words": self.words,
            "uniqueWords": self.counts.distinct(),
            "wordsPerRow": span(self.words_per_row),
            "wordLength": span(self.word_length),
            "topWords": self.counts.top(),
        }

    def labels(self, sample: np.ndarray) -> np.ndarray:
        codes = _codes(sample)
        codes[is_missing(sample)] = -1
        return codes

    def correlation(self, sample: np.ndarray, labels: np.ndarray) -> float | None:
        """The largest mutual information between the target and the presence of one of the top words."""
        rows, tokens = split_text(sample)
        codes, words = pd.factorize(tokens)
        code_of = {word: code for code, word in enumerate(words)}
        scores = []
        for word, _ in self.counts.top():
            present = np.zeros(len(sample), dtype=np.int64)
            present[rows[codes == code_of.get(word, -2)]] = 1
            score = _mutual_information(present, labels)
            if score is not None:
                scores.append(score)
        return max(scores, default=None)


_STATS: dict[str, type[Any]] = {
    "NUMERIC": _NumericStats,
    "BINARY": _BinaryStats,
    "CATEGORICAL": _CategoricalStats,
    "TEXT": _TextStats,
}
