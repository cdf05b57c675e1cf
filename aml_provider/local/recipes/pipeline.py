"""FeaturePipeline: a compiled recipe that turns raw column values into a sparse feature matrix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

from aml_provider.local.data import Schema, parse_binary, parse_numeric
from aml_provider.local.recipes.compiler import Output, compile_recipe
from aml_provider.local.recipes.processors import (
    BINARY,
    NUMERIC,
    TEXT,
    Bag,
    Dense,
    Node,
    Values,
    Variable,
    objects,
)
from aml_provider.local.recipes.recipe import Recipe

MISSING = "__missing__"
AddFeature = Callable[[str, bool], int]
Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]


class DenseEncoder:
    """A numeric or binary variable: its value as one feature plus a `name=__missing__` indicator."""

    def __init__(self, name: str, add: AddFeature) -> None:
        self.value_column_ = add(name, False)
        self.missing_column_ = add(f"{name}={MISSING}", True)

    def encode(self, values: Values, grow: bool, add: AddFeature) -> Triplets:
        assert isinstance(values, Dense)
        x = values.values
        missing = np.isnan(x)
        present = np.flatnonzero(~missing & (x != 0)) if self.value_column_ >= 0 else np.empty(0, np.intp)
        absent = np.flatnonzero(missing) if self.missing_column_ >= 0 else np.empty(0, np.intp)
        rows = np.concatenate([present, absent])
        columns = np.repeat(
            np.array([self.value_column_, self.missing_column_], dtype=np.intp), [len(present), len(absent)]
        )
        return rows, columns, np.concatenate([x[present], np.ones(len(absent))])

    def remap(self, new_index: np.ndarray) -> None:
        self.value_column_ = _remapped(self.value_column_, new_index)
        self.missing_column_ = _remapped(self.missing_column_, new_index)


class BagEncoder:
    """A categorical or token variable: one indicator feature per `name=value` seen while growing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.vocabulary_: dict[str, int] = {}  # value -> feature column; -1 once dropped by keep()

    def encode(self, values: Values, grow: bool, add: AddFeature) -> Triplets:
        assert isinstance(values, Bag)
        tokens = values.tokens
        if grow:
            self.grow(tokens, add)
        lookup = map(self.vocabulary_.get, tokens, repeat(-1))
        columns = np.fromiter(lookup, dtype=np.intp, count=len(tokens))
        kept = columns >= 0
        return values.rows[kept], columns[kept], np.ones(int(kept.sum()))

    def grow(self, tokens: np.ndarray, add: AddFeature) -> None:
        vocabulary = self.vocabulary_
        for token in dict.fromkeys(tokens.tolist()):
            if token not in vocabulary:
                vocabulary[token] = add(f"{self.name}={token}", True)

    def remap(self, new_index: np.ndarray) -> None:
        self.vocabulary_ = {token: _remapped(column, new_index) for token, column in self.vocabulary_.items()}


Encoder = DenseEncoder | BagEncoder


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
        self.output_positions = [position[id(output.node)] for output in outputs]
        self.variables = {kind: self._variables(kind) for kind in (NUMERIC, BINARY)}
        self.feature_names_: list[str] = []
        self.indicator_: list[bool] = []
        self.encoders: list[Encoder] = [
            BagEncoder(o.name) if o.node.type not in (NUMERIC, BINARY) else DenseEncoder(o.name, self._add)
            for o in outputs
        ]
        self.fitted_ = not any(node.learns for node in self.nodes)

    @classmethod
    def build(cls, recipe: Recipe, schema: Schema) -> FeaturePipeline:
        """Compile `recipe` for `schema`; InvalidInputException for unknown names, wrong types or limits."""
        return cls(compile_recipe(recipe, schema))

    @property
    def n_features(self) -> int:
        return len(self.feature_names_)

    def feature_names(self) -> list[str]:
        return list(self.feature_names_)

    def fit(self, statistics: dict[str, Any]) -> None:
        """Learn quantile-bin edges and normalisation from training statistics (statistics.json)."""
        for node in self.nodes:
            node.fit(statistics)
        self.fitted_ = True

    def transform(self, columns: Mapping[str, np.ndarray], grow: bool = False) -> sp.csr_matrix:
        """Features of the rows in `columns` (raw strings per variable; an absent variable is missing)."""
        if not self.fitted_:
            raise RuntimeError("FeaturePipeline.fit(statistics) must be called before transform")
        size = len(next(iter(columns.values()))) if columns else 1
        values = self._compute(columns, size)
        parts = [
            encoder.encode(values[position], grow, self._add)
            for encoder, position in zip(self.encoders, self.output_positions, strict=True)
        ]
        rows, cols, data = (np.concatenate([part[i] for part in parts]) for i in range(3))
        matrix = sp.csr_matrix((data, (rows, cols)), shape=(size, self.n_features), dtype=np.float64)
        matrix.data[np.asarray(self.indicator_, dtype=bool)[matrix.indices]] = (
            1.0  # repeated tokens count once
        )
        return matrix

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the features where `mask` is true (model-size pruning); dropped ones never come back."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_features,):
            raise ValueError(f"keep() needs a mask of {self.n_features} booleans, got shape {mask.shape}")
        new_index = np.where(mask, np.cumsum(mask) - 1, -1)
        for encoder in self.encoders:
            encoder.remap(new_index)
        self.feature_names_ = [name for name, kept in zip(self.feature_names_, mask, strict=True) if kept]
        self.indicator_ = [flag for flag, kept in zip(self.indicator_, mask, strict=True) if kept]

    def _add(self, name: str, indicator: bool) -> int:
        self.feature_names_.append(name)
        self.indicator_.append(indicator)
        return len(self.feature_names_) - 1

    def _variables(self, kind: str) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if isinstance(node, Variable) and node.type == kind]

    def _compute(self, columns: Mapping[str, np.ndarray], size: int) -> list[Values]:
        """Every node's values, inputs first; numbers and binaries of all columns are parsed in one call each."""
        values: list[Values] = [Dense(np.empty(0))] * len(self.nodes)
        for kind, parse in ((NUMERIC, parse_numeric), (BINARY, parse_binary)):
            positions = self.variables[kind]
            if positions:
                raw = np.concatenate([_column(columns, self.nodes[i].name, size) for i in positions])
                for i, parsed in zip(positions, parse(raw).reshape(len(positions), size), strict=True):
                    values[i] = Dense(parsed)
        for i, node in enumerate(self.nodes):
            if isinstance(node, Variable):
                if node.type not in (NUMERIC, BINARY):
                    values[i] = _read_bag(_column(columns, node.name, size), node.type == TEXT)
            else:
                values[i] = node.transform(*(values[j] for j in self.inputs[i]))
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
    return np.asarray(found, dtype=object)


def _read_bag(column: np.ndarray, text: bool) -> Bag:
    """CATEGORICAL: the value itself (none when empty); TEXT: its whitespace-separated tokens."""
    if not text:
        present = column != ""
        return Bag(np.flatnonzero(present), column[present])
    split = [value.split() for value in column]
    counts = np.fromiter(map(len, split), dtype=np.intp, count=len(split))
    tokens = objects([token for tokens in split for token in tokens])
    return Bag(np.repeat(np.arange(len(column)), counts), tokens)


def _remapped(column: int, new_index: np.ndarray) -> int:
    return int(new_index[column]) if column >= 0 else -1
