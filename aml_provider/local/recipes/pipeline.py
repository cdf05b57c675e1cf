"""FeaturePipeline: a compiled recipe that turns raw column values into a sparse feature matrix."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aml_provider.local.data import Schema, parse_binary, parse_numeric
from aml_provider.local.data.values import binary, number, split_text
from aml_provider.local.recipes.compiler import Output, compile_recipe
from aml_provider.local.recipes.processors import (
    BINARY,
    NUMERIC,
    TEXT,
    Bag,
    Dense,
    Node,
    Row,
    Values,
    Variable,
    row_number,
    row_tokens,
)
from aml_provider.local.recipes.recipe import Recipe

MISSING = "__missing__"
_UNSEEN = -2  # column of a token not in the vocabulary
_FEW_TOKENS = 32  # bags up to this many tokens are looked up token by token (one Predict record)
Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]


class FeatureList:
    """The features in column order: their names and whether each is a 0/1 indicator."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.indicators: list[bool] = []

    def __len__(self) -> int:
        return len(self.names)

    def add(self, name: str, indicator: bool) -> int:
        self.names.append(name)
        self.indicators.append(indicator)
        return len(self.names) - 1

    def keep(self, mask: np.ndarray) -> None:
        self.names = [name for name, kept in zip(self.names, mask, strict=True) if kept]
        self.indicators = [flag for flag, kept in zip(self.indicators, mask, strict=True) if kept]


class DenseEncoder:
    """All numeric and binary outputs at once: each is one value feature plus a `name=__missing__` indicator."""

    def __init__(self, names: list[str], features: FeatureList) -> None:
        columns = [(features.add(name, False), features.add(f"{name}={MISSING}", True)) for name in names]
        self.columns_ = np.array(columns, dtype=np.intp).reshape(-1, 2)  # -1 once dropped by keep()

    def encode(self, values: list[np.ndarray]) -> Triplets:
        """Rows, feature columns and values of the non-zero entries."""
        if not values:
            return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)
        x = np.stack(values, axis=1)
        missing = np.isnan(x)
        rows, outputs = np.nonzero(~missing & (x != 0))
        missing_rows, missing_outputs = np.nonzero(missing)
        return (
            np.concatenate([rows, missing_rows]),
            np.concatenate([self.columns_[outputs, 0], self.columns_[missing_outputs, 1]]),
            np.concatenate([x[rows, outputs], np.ones(len(missing_rows))]),
        )

    def encode_one(self, values: list[float], cols: list[int], data: list[float]) -> None:
        """`encode` of one row, appended to its feature columns and values (dropped features left out)."""
        missing = []
        for (value_column, missing_column), value in zip(self.columns_.tolist(), values, strict=True):
            if value != value:  # nan
                missing.append(missing_column)
            elif value != 0 and value_column >= 0:
                cols.append(value_column)
                data.append(value)
        kept = [column for column in missing if column >= 0]
        cols += kept
        data += [1.0] * len(kept)

    def remap(self, new_index: np.ndarray) -> None:
        self.columns_ = np.where(self.columns_ >= 0, new_index[self.columns_], -1)


class Vocabulary(dict[str, int]):
    """Value -> feature column (-1: no feature). `.get` leaves unseen values out; `[]` numbers them from
    `next_column` on and lists them in `added`, so growing costs one lookup per token."""

    def __init__(self, items: dict[str, int]) -> None:
        super().__init__(items)
        self.next_column = 0
        self.added: list[str] = []

    def __missing__(self, token: str) -> int:
        column = self[token] = self.next_column
        self.next_column += 1
        self.added.append(token)
        return column


class BagEncoder:
    """A categorical or token output: one indicator feature per `name=value` seen while growing.

    Once pruned (`remap`), it no longer grows: dropped tokens leave the vocabulary and must not return.
    """

    frozen_ = False

    def __init__(self, name: str) -> None:
        self.name = name
        #: the empty value (no value) and features dropped by keep() map to -1
        self.vocabulary_ = Vocabulary({"": -1})

    def encode(self, bag: Bag, grow: bool, features: FeatureList) -> tuple[np.ndarray, np.ndarray]:
        """Rows and feature columns of the bag's tokens (a negative column: no feature)."""
        vocabulary = self.vocabulary_
        if not grow or self.frozen_:
            if bag.codes is not None and bag.categories is not None:
                lookup = map(vocabulary.get, bag.categories, repeat(_UNSEEN))
                columns = np.fromiter(lookup, dtype=np.intp, count=len(bag.categories))
                return bag.rows, columns[bag.codes]
            codes, distinct = _first_seen(bag)
            columns = np.fromiter(
                map(vocabulary.get, distinct, repeat(_UNSEEN)), dtype=np.intp, count=len(distinct)
            )
            return bag.rows, columns if codes is None else columns[codes]
        codes, distinct = _first_seen(bag)
        vocabulary.next_column, vocabulary.added = len(features), []
        columns = np.fromiter(map(vocabulary.__getitem__, distinct), dtype=np.intp, count=len(distinct))
        for token in vocabulary.added:
            features.add(f"{self.name}={token}", True)
        vocabulary.added = []
        return bag.rows, columns if codes is None else columns[codes]

    def encode_one(self, tokens: list[str], cols: list[int]) -> None:
        """The feature columns of one row's tokens, appended to `cols` (tokens without a feature left out)."""
        get = self.vocabulary_.get
        cols += [column for token in tokens if (column := get(token, _UNSEEN)) >= 0]

    def remap(self, new_index: np.ndarray) -> None:
        """Renumber the kept features; tokens of dropped ones leave the vocabulary (unseen tokens have no
        feature either), so pruning shrinks it too."""
        kept = {
            token: int(new_index[c]) for token, c in self.vocabulary_.items() if c >= 0 and new_index[c] >= 0
        }
        self.vocabulary_ = Vocabulary({"": -1} | kept)
        self.frozen_ = True


def _first_seen(bag: Bag) -> tuple[np.ndarray | None, np.ndarray]:
    """The bag's distinct tokens in order of first appearance, and the index of each token among them: looking
    the distinct tokens up in that order numbers new ones as a lookup per token would. Few tokens (a short
    batch) and tokens that are not all strings (None, nan) are looked up one by one: no index (None)."""
    if len(bag.tokens) <= _FEW_TOKENS:
        return None, bag.tokens
    if bag.codes is not None and bag.categories is not None:
        codes, seen = pd.factorize(bag.codes)
        return codes, bag.categories[seen]
    codes, distinct = pd.factorize(bag.tokens)
    return (None, bag.tokens) if codes.min() < 0 else (codes, distinct)


class FeaturePipeline:
    """A recipe compiled against a schema, in scikit-learn transformer style.

    `fit(statistics)` learns bin edges and normalisation from the training statistics; `transform` maps raw
    string columns to a float64 CSR matrix. Categories and tokens become features only with `grow=True`,
    and features are only ever appended, so a model's weights stay aligned.
    """

    def __init__(self, outputs: list[Output]) -> None:
        self.outputs = outputs
        self.nodes = _in_dependency_order([output.node for output in outputs])
        position = {id(node): i for i, node in enumerate(self.nodes)}
        self.inputs = [tuple(position[id(source)] for source in node.inputs) for node in self.nodes]
        self.variables = {kind: self._variables(kind) for kind in (NUMERIC, BINARY)}
        self.features_ = FeatureList()
        self._indicators = np.zeros(0, dtype=bool)
        dense = [o for o in outputs if o.node.type in (NUMERIC, BINARY)]
        bags = [o for o in outputs if o.node.type not in (NUMERIC, BINARY)]
        self.dense = DenseEncoder([o.name for o in dense], self.features_)
        self.dense_positions = [position[id(o.node)] for o in dense]
        self.bags = [(BagEncoder(o.name), position[id(o.node)]) for o in bags]
        self.fitted_ = not any(node.learns for node in self.nodes)

    @classmethod
    def build(cls, recipe: Recipe, schema: Schema) -> FeaturePipeline:
        """Compile `recipe` for `schema`; InvalidInputException for unknown names, wrong types or limits."""
        return cls(compile_recipe(recipe, schema))

    @property
    def n_features(self) -> int:
        return len(self.features_)

    def numeric_inputs(self) -> frozenset[str]:
        """The NUMERIC attributes the recipe reads (a reader may parse them as it splits the CSV)."""
        return frozenset(self.nodes[i].name for i in self.variables[NUMERIC])

    def feature_names(self) -> list[str]:
        return list(self.features_.names)

    def fit(self, statistics: dict[str, Any]) -> None:
        """Learn quantile-bin edges and normalisation from training statistics (statistics.json)."""
        for node in self.nodes:
            node.fit(statistics)
        self.fitted_ = True

    def transform(self, columns: Mapping[str, np.ndarray], grow: bool = False) -> sp.csr_matrix:
        """Features of the rows in `columns` (raw strings per variable; an absent variable is missing).

        An empty mapping is one record with every value missing.
        """
        size = len(next(iter(columns.values()))) if columns else 1
        rows, cols, data = self._entries(columns, size, grow)
        return self._matrix(rows, cols, data, size)

    def record_features(self, record: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero feature columns and values of one record (raw strings by variable; an absent one is
        missing), as the single row of `transform` would hold them, computed in plain Python without
        numpy's per-call costs or a sparse matrix (real-time Predict)."""
        if not self.fitted_:
            raise RuntimeError("FeaturePipeline.fit(statistics) must be called before transform")
        row = self._compute_one(record)
        cols: list[int] = []
        data: list[float] = []
        self.dense.encode_one([row_number(row[i]) for i in self.dense_positions], cols, data)
        for encoder, i in self.bags:
            encoder.encode_one(row_tokens(row[i]), cols)
        data += [1.0] * (len(cols) - len(data))
        if len(set(cols)) == len(cols):  # no repeated token: nothing to sum
            return np.array(cols, dtype=np.intp), np.array(data, dtype=np.float64)
        unique, position = np.unique(np.array(cols, dtype=np.intp), return_inverse=True)
        values = np.bincount(position, weights=np.array(data), minlength=len(unique))
        values[self._indicator_mask()[unique]] = 1.0
        return unique, values

    def _entries(self, columns: Mapping[str, np.ndarray], size: int, grow: bool) -> Triplets:
        """Rows, feature columns and values of the features of `size` rows (duplicates not summed yet)."""
        if not self.fitted_:
            raise RuntimeError("FeaturePipeline.fit(statistics) must be called before transform")
        values = self._compute(columns, size)
        rows, cols, data = self.dense.encode([values[i].values for i in self.dense_positions])
        encoded = [encoder.encode(_bag(values[i]), grow, self.features_) for encoder, i in self.bags]
        rows = np.concatenate([rows, *(part[0] for part in encoded)])
        cols = np.concatenate([cols, *(part[1] for part in encoded)])
        data = np.concatenate([data, np.ones(len(rows) - len(data))])
        kept = cols >= 0
        if kept.all():
            return rows, cols, data
        return rows[kept], cols[kept], data[kept]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the features where `mask` is true (model-size pruning). The pipeline is final then: it
        grows no more, so dropped features never come back and their tokens need not be remembered."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_features,):
            raise ValueError(f"keep() needs a mask of {self.n_features} booleans, got shape {mask.shape}")
        new_index = np.where(mask, np.cumsum(mask) - 1, -1)
        self.dense.remap(new_index)
        for encoder, _ in self.bags:
            encoder.remap(new_index)
        self.features_.keep(mask)
        self._indicators = np.asarray(self.features_.indicators, dtype=bool)

    def _matrix(self, rows: np.ndarray, cols: np.ndarray, data: np.ndarray, size: int) -> sp.csr_matrix:
        """CSR matrix of the entries; an indicator set twice in a row (a repeated token) is still 1."""
        entries, shape = len(data), (size, self.n_features)
        if size > _FEW_TOKENS:  # scipy's coo -> csr: a counting sort in C, duplicates summed
            matrix = sp.coo_matrix((data, (rows, cols)), shape=shape).tocsr()
        else:  # a few rows: less overhead per call
            order = np.argsort(rows, kind="stable")
            indptr = np.zeros(size + 1, dtype=np.intp)
            np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
            matrix = sp.csr_matrix((data[order], cols[order], indptr), shape=shape)
            matrix.sum_duplicates()
        if matrix.nnz < entries:
            matrix.data[self._indicator_mask()[matrix.indices]] = 1.0
        return matrix

    def _indicator_mask(self) -> np.ndarray:
        """Which features are indicators, as a numpy mask rebuilt only when features changed."""
        if len(self._indicators) != len(self.features_):
            self._indicators = np.asarray(self.features_.indicators, dtype=bool)
        return self._indicators

    def _variables(self, kind: str) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if isinstance(node, Variable) and node.type == kind]

    def _compute_one(self, record: Mapping[str, str]) -> list[Row]:
        """`_compute` of one record."""
        values: list[Row] = []
        for node, inputs in zip(self.nodes, self.inputs, strict=True):
            if isinstance(node, Variable):
                values.append(_read_one(record.get(node.name, ""), node.type))
            elif len(inputs) == 1:
                values.append(node.transform_one(values[inputs[0]]))
            else:
                values.append(node.transform_one(*[values[j] for j in inputs]))
        return values

    def _compute(self, columns: Mapping[str, np.ndarray], size: int) -> list[Any]:
        """Every node's values, inputs first; numbers and binaries of all columns are parsed in one call each."""
        values: list[Any] = [None] * len(self.nodes)
        for kind, parse in ((NUMERIC, parse_numeric), (BINARY, parse_binary)):
            positions = self.variables[kind]
            if positions:
                raw = np.concatenate([_column(columns, self.nodes[i].name, size) for i in positions])
                for i, parsed in zip(positions, parse(raw).reshape(len(positions), size), strict=True):
                    values[i] = Dense(parsed)
        for i, node in enumerate(self.nodes):
            if not isinstance(node, Variable):
                values[i] = node.transform(*(values[j] for j in self.inputs[i]))
            elif node.type not in (NUMERIC, BINARY):
                values[i] = _read_bag(_column(columns, node.name, size), node.type == TEXT)
        return values


def _in_dependency_order(roots: list[Node]) -> list[Node]:
    """Every node reachable from `roots`, each after the nodes it is computed from."""
    ordered: dict[int, Node] = {}

    def visit(node: Node) -> None:
        if id(node) not in ordered:
            for source in node.inputs:
                visit(source)
            ordered[id(node)] = node

    for root in roots:
        visit(root)
    return list(ordered.values())


def _column(columns: Mapping[str, np.ndarray], name: str, size: int) -> np.ndarray:
    found = columns.get(name)
    if found is None:
        return np.full(size, "", dtype=object)
    if isinstance(found, np.ndarray) and found.dtype.kind == "f":  # a number column the reader parsed
        return found
    return np.asarray(found, dtype=object)


def _read_one(value: str, kind: str) -> Row:
    """One raw value as `_compute` reads a column of it (see `_read_bag`)."""
    if kind == NUMERIC:
        return number(value)
    if kind == BINARY:
        return binary(value)
    return value.split() if kind == TEXT else [value]


def _read_bag(column: np.ndarray, text: bool) -> Bag:
    """CATEGORICAL: the value itself, one per row ("" when empty); TEXT: its whitespace-separated tokens."""
    if not text:
        return Bag(np.arange(len(column)), column)
    return Bag(*split_text(column))


def _bag(values: Values) -> Bag:
    assert isinstance(values, Bag)
    return values
