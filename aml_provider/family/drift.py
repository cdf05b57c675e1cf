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
    bins = reference.index.union(fresh.index)
    p = reference.reindex(bins, fill_value=0.0).to_numpy() + EPSILON
    q = fresh.reindex(bins, fill_value=0.0).to_numpy() + EPSILON
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_shares(reference: pd.Series, fresh: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Shares of values in the reference's quantile bins (and the missing bin) for both samples."""
    ref, new = pd.to_numeric(reference, errors="coerce"), pd.to_numeric(fresh, errors="coerce")
    quantiles = np.linspace(0, 1, QUANTILE_BINS + 1)
    inner = np.unique(np.nanquantile(ref, quantiles))[1:-1] if ref.notna().any() else np.zeros(0)

    def shares(values: pd.Series) -> pd.Series:
        labels = np.where(
            values.isna(), MISSING, np.searchsorted(inner, values.to_numpy(), side="right").astype(str)
        )
        return pd.Series(labels).value_counts(normalize=True)

    return shares(ref), shares(new)


def categorical_shares(reference: pd.Series, fresh: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Shares by value: the reference's most frequent values, the others together, and missing."""
    ref, new = _stripped(reference), _stripped(fresh)
    top = set(ref[ref != MISSING].value_counts().index[:TOP_VALUES])

    def shares(values: pd.Series) -> pd.Series:
        return values.where(values.isin(top) | (values == MISSING), OTHER).value_counts(normalize=True)

    return shares(ref), shares(new)


def attribute_psi(kind: str, reference: pd.Series, fresh: pd.Series) -> float:
    """PSI of one attribute: numeric bins for NUMERIC, values for CATEGORICAL and BINARY."""
    shares = numeric_shares if kind == "NUMERIC" else categorical_shares
    return psi(*shares(reference, fresh))


def _stripped(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return text.where(text != "", MISSING).reset_index(drop=True)
