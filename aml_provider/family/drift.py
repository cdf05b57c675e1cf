"""Population stability index (PSI) between a reference sample and a fresh one, per attribute.

PSI = sum over bins of (fresh share - reference share) * ln(fresh share / reference share), shares
smoothed by `EPSILON`. Numeric values are binned by the reference's quantiles, other values by value
(the reference's most frequent ones, the rest together); missing values have a bin of their own. Below
0.1 a distribution is stable, 0.1 to 0.2 it moved, above 0.2 it shifted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPSILON = 1e-4
QUANTILE_BINS = 10
TOP_VALUES = 20
MISSING = "(missing)"
OTHER = "(other)"


def psi(reference: pd.Series, fresh: pd.Series) -> float:
    """PSI of two share vectors over the same bins (Series indexed by bin)."""
    bins = list(dict.fromkeys([*reference.index, *fresh.index]))
    p = reference.reindex(bins, fill_value=0.0).to_numpy() + EPSILON
    q = fresh.reindex(bins, fill_value=0.0).to_numpy() + EPSILON
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_shares(reference: pd.Series, fresh: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Shares of values in the reference's quantile bins (then the missing bin), both in bin order."""
    ref, new = pd.to_numeric(reference, errors="coerce"), pd.to_numeric(fresh, errors="coerce")
    quantiles = np.linspace(0, 1, QUANTILE_BINS + 1)
    inner = np.unique(np.nanquantile(ref, quantiles))[1:-1] if ref.notna().any() else np.zeros(0)
    names = bin_names(inner) + [MISSING]

    def shares(values: pd.Series) -> pd.Series:
        index = np.where(
            values.isna(), len(names) - 1, np.searchsorted(inner, values.to_numpy(), side="right")
        )
        counts = np.bincount(index.astype(int), minlength=len(names))
        return pd.Series(counts / max(1, counts.sum()), index=names)

    return shares(ref), shares(new)


def bin_names(edges: np.ndarray) -> list[str]:
    """Readable names of the bins that inner `edges` make: `< a`, `a to b`, ..., `>= z`."""
    if edges.size == 0:
        return ["all values"]
    for digits in (4, 8, 17):  # as few digits as keep the names apart
        text = [f"{edge:.{digits}g}" for edge in edges]
        if len(set(text)) == len(text):
            break
    return [f"< {text[0]}", *(f"{a} to {b}" for a, b in zip(text, text[1:], strict=False)), f">= {text[-1]}"]


def categorical_shares(reference: pd.Series, fresh: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Shares by value: the reference's most frequent values, the others together, and missing."""
    ref, new = _stripped(reference), _stripped(fresh)
    top = ref[ref != MISSING].value_counts().index[:TOP_VALUES]
    order = [*sorted(top, key=str), OTHER, MISSING]

    def shares(values: pd.Series) -> pd.Series:
        grouped = values.where(values.isin(top) | (values == MISSING), OTHER)
        return grouped.value_counts(normalize=True).reindex(order, fill_value=0.0)

    return shares(ref), shares(new)


def attribute_psi(kind: str, reference: pd.Series, fresh: pd.Series) -> float:
    """PSI of one attribute: numeric bins for NUMERIC, values for CATEGORICAL and BINARY."""
    shares = numeric_shares if kind == "NUMERIC" else categorical_shares
    return psi(*shares(reference, fresh))


def _stripped(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return text.where(text != "", MISSING).reset_index(drop=True)
