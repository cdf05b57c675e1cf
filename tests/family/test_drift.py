"""PSI per attribute: stable samples score near 0, shifted ones high; bins have readable names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aml_provider.family import drift


def test_psi_of_numeric_samples() -> None:
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.normal(size=5000))
    assert drift.attribute_psi("NUMERIC", reference, pd.Series(rng.normal(size=2000))) < 0.02
    assert drift.attribute_psi("NUMERIC", reference, pd.Series(rng.normal(0.5, 1, size=2000))) > 0.2
    shares, _ = drift.numeric_shares(reference, reference)
    assert shares.index[0].startswith("< ")
    assert shares.index[-2].startswith(">= ")
    assert shares.index[-1] == drift.MISSING
    assert shares.iloc[:-1].to_numpy() == pytest.approx(0.1, abs=1e-3)


def test_psi_of_categorical_samples_counts_missing_and_unseen_values() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    assert drift.attribute_psi("CATEGORICAL", reference, pd.Series(["a", "b"] * 40)) == pytest.approx(
        0, abs=1e-6
    )
    _, fresh = drift.categorical_shares(reference, pd.Series(["a", "c", "", " b "]))
    assert fresh.to_dict() == {"a": 0.25, "b": 0.25, drift.OTHER: 0.25, drift.MISSING: 0.25}
    assert drift.attribute_psi("BINARY", reference, pd.Series(["a"] * 90 + ["b"] * 10)) > 0.2


def test_bin_names_keep_close_edges_apart() -> None:
    names = drift.bin_names(np.array([1.00001, 1.00002]))
    assert names == ["< 1.00001", "1.00001 to 1.00002", ">= 1.00002"]
    assert drift.bin_names(np.zeros(0)) == ["all values"]
