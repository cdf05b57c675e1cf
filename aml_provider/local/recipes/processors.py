"""Recipe processors as small transformers over whole columns: one node per variable an expression makes.

A chunk's values are either `Dense` (one float per row, nan when missing: NUMERIC and BINARY) or a `Bag`
(tokens with the row each belongs to, rows ascending and tokens in text order: CATEGORICAL and TEXT). Every
operation is vectorised with numpy for chunks of rows; `transform_one` does the same for the single row of a
real-time Predict in plain Python (a float, or the list of tokens), where numpy's per-call cost would be most
of the work, with the same results. State learned from training statistics lives in attributes ending in
`_`, set by `fit`.
"""

from __future__ import annotations

import bisect
import string
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from aml_provider.local.data.values import objects
from aml_provider.local.errors import InvalidInputException
from aml_provider.local.recipes.lexer import quote_name

NUMERIC, BINARY, CATEGORICAL, TEXT = "NUMERIC", "BINARY", "CATEGORICAL", "TEXT"
PUNCTUATION = string.punctuation


class Dense(NamedTuple):
    """One value per row; nan where missing or invalid."""

    values: np.ndarray


class Bag(NamedTuple):
    """Tokens (object array of str) and the row of each; rows ascending, tokens of a row in text order.

    An empty token is a categorical value that is missing: it never becomes a feature. A bag of few
    distinct tokens may also give them as `categories[codes]`, so that each is looked up once.
    """

    rows: np.ndarray
    tokens: np.ndarray
    codes: np.ndarray | None = None
    categories: np.ndarray | None = None


Values = Dense | Bag
#: One row's values: a float (nan when missing) for NUMERIC and BINARY, its tokens for CATEGORICAL and TEXT.
Row = float | list[str]


@dataclass(frozen=True)
class Distribution:
    """What fitting needs of a numeric variable: mean, standard deviation and 101 percentiles."""

    mean: float
    std: float
    quantiles: np.ndarray

    @classmethod
    def of(cls, statistics: dict[str, Any], name: str, user: str) -> Distribution:
        """The distribution of `name` in statistics.json (an attribute with no valid value has none)."""
        found = (statistics.get("attributes") or {}).get(name)
        if not isinstance(found, dict) or "quantiles" not in found:
            raise InvalidInputException(
                f"{user} needs the training statistics of '{name}' (mean, std, quantiles); "
                "compute statistics for the training DataSource."
            )
        quantiles = np.asarray(found["quantiles"], dtype=np.float64)
        return cls(float(found.get("mean") or 0.0), float(found.get("std") or 0.0), quantiles)


class Node:
    """A variable made by a recipe expression: its name, type and the nodes it is computed from."""

    name: str
    type: str
    inputs: tuple[Node, ...] = ()
    learns = False  # whether fit() must run before transform()

    def fit(self, statistics: dict[str, Any]) -> None:
        """Learn what transforming needs from training statistics; most nodes need nothing."""

    def transform(self, *args: Values) -> Values:
        raise NotImplementedError

    def transform_one(self, *args: Row) -> Row:
        """`transform` of a single row."""
        raise NotImplementedError

    def distribution(self, statistics: dict[str, Any], user: str) -> Distribution:
        raise NotImplementedError(f"{self.name} is not numeric")


class Variable(Node):
    """An input attribute; its values are read by the pipeline, which parses all columns of a type at once."""

    def __init__(self, name: str, type: str) -> None:
        self.name = name
        self.type = type

    def distribution(self, statistics: dict[str, Any], user: str) -> Distribution:
        return Distribution.of(statistics, self.name, user)


class Unary(Node):
    """A processor of one input."""

    def __init__(self, function: str, source: Node, type: str) -> None:
        self.name = f"{function}({_spell(source)})"
        self.type = type
        self.inputs = (source,)


class Lowercase(Unary):
    def __init__(self, source: Node) -> None:
        super().__init__("lowercase", source, source.type)

    def transform(self, *args: Values) -> Values:
        bag = _bag(args[0])
        return Bag(bag.rows, objects([token.lower() for token in bag.tokens]))

    def transform_one(self, *args: Row) -> Row:
        return [token.lower() for token in row_tokens(args[0])]


class NoPunct(Unary):
    """Strips punctuation from both ends of each token; a token of punctuation only disappears."""

    def __init__(self, source: Node) -> None:
        super().__init__("no_punct", source, source.type)

    def transform(self, *args: Values) -> Values:
        bag = _bag(args[0])
        tokens = objects([token.strip(PUNCTUATION) for token in bag.tokens])
        kept = tokens != ""
        return Bag(bag.rows[kept], tokens[kept])

    def transform_one(self, *args: Row) -> Row:
        return [stripped for token in row_tokens(args[0]) if (stripped := token.strip(PUNCTUATION))]


class Ngram(Unary):
    """All runs of 1..n consecutive tokens of a row, joined by one space."""

    def __init__(self, source: Node, size: int) -> None:
        super().__init__("ngram", source, TEXT)
        self.name = f"ngram({_spell(source)},{size})"
        self.size = size

    def transform(self, *args: Values) -> Values:
        bag = _bag(args[0])
        parts = [bag]
        grams, count = bag.tokens, len(bag.tokens)
        for length in range(2, min(self.size, count) + 1):
            starts = count - length + 1
            grams = grams[:starts] + " " + bag.tokens[length - 1 :]
            same_row = bag.rows[:starts] == bag.rows[length - 1 :]
            parts.append(Bag(bag.rows[:starts][same_row], grams[same_row]))
        return _merge(parts)

    def transform_one(self, *args: Row) -> Row:
        tokens = row_tokens(args[0])
        count = len(tokens)
        grams = list(tokens)
        for length in range(2, min(self.size, count) + 1):
            grams += [" ".join(tokens[start : start + length]) for start in range(count - length + 1)]
        return grams


class Osb(Unary):
    """Orthogonal sparse bigrams: each token paired with each of the next n-1 tokens of its row, joined by
    `_` plus one more `_` per word skipped."""

    def __init__(self, source: Node, window: int) -> None:
        super().__init__("osb", source, TEXT)
        self.name = f"osb({_spell(source)},{window})"
        self.window = window

    def transform(self, *args: Values) -> Values:
        bag = _bag(args[0])
        parts = [Bag(bag.rows[:0], bag.tokens[:0])]
        for distance in range(1, min(self.window, len(bag.rows))):
            first, later = slice(None, len(bag.rows) - distance), slice(distance, None)
            same_row = bag.rows[first] == bag.rows[later]
            pairs = bag.tokens[first][same_row] + "_" * distance + bag.tokens[later][same_row]
            parts.append(Bag(bag.rows[first][same_row], pairs))
        return _merge(parts)

    def transform_one(self, *args: Row) -> Row:
        tokens = row_tokens(args[0])
        count = len(tokens)
        return [
            tokens[at] + "_" * distance + tokens[at + distance]
            for distance in range(1, min(self.window, count))
            for at in range(count - distance)
        ]


class QuantileBin(Unary):
    """Equal-frequency bins of the training data; values become categories `<name>_bin_<k>`."""

    learns = True
    #: `bounds_` as a list, for `transform_one` (made on first use, so models saved before have it too)
    _bounds_list: list[float] | None = None

    def __init__(self, source: Node, bins: int) -> None:
        super().__init__("quantile_bin", source, CATEGORICAL)
        self.name = f"quantile_bin({_spell(source)},{bins})"
        self.bins = bins

    def fit(self, statistics: dict[str, Any]) -> None:
        quantiles = self.inputs[0].distribution(statistics, self.name).quantiles
        at = np.linspace(0.0, 1.0, len(quantiles))
        edges = np.interp(np.arange(1, self.bins) / self.bins, at, quantiles) if len(quantiles) else []
        # bin k holds [edge k-1, edge k): an edge at the training minimum would leave the first bin empty
        # in training, and a value below that minimum met later would fall in a bin with no weight
        self.edges_ = np.unique(edges[edges > quantiles[0]]) if len(quantiles) else np.unique(edges)
        self.bounds_ = np.append(self.edges_, np.inf)
        self._bounds_list = None
        name = self.inputs[0].name
        labels = [f"{name}_bin_{k}" for k in range(1, len(self.edges_) + 2)]
        self.labels_ = objects([*labels, f"{name}_bin_missing"])

    def transform(self, *args: Values) -> Values:
        values = _dense(args[0])
        # nan sorts after every bound, +inf included, so it lands on the last label: the missing one
        bins = bins_of(self.bounds_, values)
        return Bag(np.arange(len(values)), self.labels_[bins], bins, self.labels_)

    def transform_one(self, *args: Row) -> Row:
        # bisect_right is searchsorted(side="right") on a list: nan compares False, so it lands last too
        if self._bounds_list is None:
            self._bounds_list = self.bounds_.tolist()
        return [self.labels_[bisect.bisect_right(self._bounds_list, row_number(args[0]))]]


class Normalize(Unary):
    """z-score with the training mean and standard deviation."""

    learns = True

    def __init__(self, source: Node) -> None:
        super().__init__("normalize", source, NUMERIC)

    def fit(self, statistics: dict[str, Any]) -> None:
        found = self.inputs[0].distribution(statistics, self.name)
        self.mean_ = found.mean
        self.scale_ = found.std if found.std > 0 else 1.0

    def distribution(self, statistics: dict[str, Any], user: str) -> Distribution:
        found = self.inputs[0].distribution(statistics, user)
        scale = found.std if found.std > 0 else 1.0
        return Distribution(0.0, 1.0 if found.std > 0 else 0.0, (found.quantiles - found.mean) / scale)

    def transform(self, *args: Values) -> Values:
        return Dense((_dense(args[0]) - self.mean_) / self.scale_)

    def transform_one(self, *args: Row) -> Row:
        return (row_number(args[0]) - self.mean_) / self.scale_


class Cartesian(Node):
    """Every pair of a row's values or tokens from two inputs, joined by `_`."""

    def __init__(self, left: Node, right: Node) -> None:
        self.name = f"cartesian({_spell(left)},{_spell(right)})"
        self.type = CATEGORICAL if left.type == right.type == CATEGORICAL else TEXT
        self.inputs = (left, right)

    def transform(self, *args: Values) -> Values:
        left, right = _present(_bag(args[0])), _present(_bag(args[1]))
        rows = int(max(left.rows[-1:].max(initial=-1), right.rows[-1:].max(initial=-1))) + 1
        right_counts = np.bincount(right.rows, minlength=rows)
        right_starts = np.cumsum(right_counts) - right_counts
        repeats = right_counts[left.rows]
        left_index = np.repeat(np.arange(len(left.rows)), repeats)
        group_starts = np.repeat(np.cumsum(repeats) - repeats, repeats)
        right_index = np.repeat(right_starts[left.rows], repeats) + np.arange(len(left_index)) - group_starts
        pairs = left.tokens[left_index] + "_" + right.tokens[right_index]
        return Bag(left.rows[left_index], pairs)

    def transform_one(self, *args: Row) -> Row:
        left, right = row_tokens(args[0]), row_tokens(args[1])
        return [first + "_" + second for first in left if first for second in right if second]


#: Values below this many are binned by binary search alone; cells per bin edge of the table in `bins_of`.
_TABLE_MIN_VALUES, _CELLS_PER_EDGE = 1_000, 8


def bins_of(bounds: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`np.searchsorted(bounds, values, side="right")` of sorted distinct bounds ending in +inf, without a
    binary search per value: a table of the answer at evenly spaced points gives each value a candidate,
    kept where bounds[k - 1] <= value < bounds[k] holds (the one right answer); the few others (near an edge,
    nan) are searched."""
    edges = bounds[:-1]
    if len(values) < _TABLE_MIN_VALUES or len(edges) < 2:
        return np.searchsorted(bounds, values, side="right")
    cells = _CELLS_PER_EDGE * len(edges)
    low, width = edges[0], (edges[-1] - edges[0]) / cells
    if not np.isfinite(width) or width <= 0:
        return np.searchsorted(bounds, values, side="right")
    table = np.searchsorted(bounds, low + np.arange(-1, cells + 1) * width, side="right")
    table[0], table[-1] = 0, len(edges)  # below the first edge; at or above the last
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: inf, clipped to the last cell
        position = (values - low) * (1.0 / width)
    # fmax first: nan becomes -1 (a candidate the check rejects); truncation only costs a check elsewhere
    cell = np.fmin(np.fmax(position, -1.0, out=position), float(cells), out=position).astype(np.intp)
    bins = table[cell + 1]
    lower = np.concatenate(([-np.inf], bounds))
    wrong = ~((lower[bins] <= values) & (values < bounds[bins]))
    if wrong.any():
        bins[wrong] = np.searchsorted(bounds, values[wrong], side="right")
    return bins  # type: ignore[no-any-return]


def _spell(node: Node) -> str:
    return quote_name(node.name) if isinstance(node, Variable) else node.name


def _bag(values: Values) -> Bag:
    assert isinstance(values, Bag)
    return values


def row_tokens(row: Row) -> list[str]:
    """The tokens of a CATEGORICAL or TEXT row."""
    assert isinstance(row, list)
    return row


def row_number(row: Row) -> float:
    """The value of a NUMERIC or BINARY row."""
    assert isinstance(row, float)
    return row


def _dense(values: Values) -> np.ndarray:
    assert isinstance(values, Dense)
    return values.values


def _present(bag: Bag) -> Bag:
    """The bag without its empty (missing) values."""
    kept = bag.tokens != ""
    return Bag(bag.rows[kept], bag.tokens[kept])


def _merge(parts: list[Bag]) -> Bag:
    """One bag of several, rows ascending again (stable, so text order within a row is kept)."""
    rows = np.concatenate([part.rows for part in parts])
    tokens = np.concatenate([part.tokens for part in parts])
    order = np.argsort(rows, kind="stable")
    return Bag(rows[order], tokens[order])
