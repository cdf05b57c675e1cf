"""Vectorised bootstrap of Amazon ML's metrics: each statistic maps resample weights (B x n) to B values.

A resample is a row of counts (how often each of the n rows was drawn), so paired statistics of two
models evaluated on the same counts share their resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]
#: Resamples drawn at once: memory stays within a few arrays of BLOCK x n numbers.
BLOCK = 50


def resample_counts(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of bootstrap counts (int32): how often each of `n` rows is drawn in each resample."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, BLOCK):
        size = min(BLOCK, n_boot - start)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(np.int32)


def auc_statistic(labels: np.ndarray, scores: np.ndarray) -> Statistic:
    """Weighted area under the ROC curve (ties count one half); NaN for a resample with one class only.

    Rows sorted by score, positives first among equal scores: each positive beats the negatives before
    it (an integer cumulative sum, which is fast); tied groups holding both classes add half their pairs.
    """
    positive = labels == 1
    order = np.lexsort((~positive, scores))
    ordered, positive = scores[order], positive[order].astype(np.int32)
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    group_positives, group_sizes = np.bincount(group, weights=positive), np.bincount(group)
    tied = np.flatnonzero(((group_positives > 0) & (group_positives < group_sizes))[group])
    tied_starts = np.flatnonzero(np.r_[True, group[tied][1:] != group[tied][:-1]]) if tied.size else tied

    def statistic(counts: np.ndarray) -> np.ndarray:
        w = counts[:, order]
        negatives_before = np.cumsum(w * (1 - positive), axis=1, dtype=np.int32)
        wins = (w * positive * negatives_before).sum(axis=1, dtype=np.int64).astype(np.float64)
        if tied.size:
            pos = np.add.reduceat(w[:, tied] * positive[tied], tied_starts, axis=1, dtype=np.int64)
            neg = np.add.reduceat(w[:, tied], tied_starts, axis=1, dtype=np.int64) - pos
            wins += 0.5 * (pos * neg).sum(axis=1)
        pairs = (w @ positive).astype(np.float64) * negatives_before[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return wins / pairs  # type: ignore[no-any-return]

    return statistic


def macro_f1_statistic(actual: np.ndarray, predicted: np.ndarray) -> Statistic:
    """Weighted macro-F1 over the classes that occur (as actual or predicted) in each resample."""
    classes = np.unique(np.concatenate([actual, predicted]))
    truth = actual[:, None] == classes[None, :]
    guess = predicted[:, None] == classes[None, :]
    indicators = np.hstack([truth & guess, truth, guess]).astype(np.float64)
    k = classes.size

    def statistic(counts: np.ndarray) -> np.ndarray:
        sums = counts.astype(np.float64) @ indicators
        tp, support = sums[:, :k], sums[:, k : 2 * k] + sums[:, 2 * k :]
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(support > 0, 2 * tp / support, np.nan)
        return np.nanmean(f1, axis=1)

    return statistic


def rmse_statistic(actual: np.ndarray, predicted: np.ndarray) -> Statistic:
    """Weighted root mean squared error."""
    squared = (actual - predicted) ** 2

    def statistic(counts: np.ndarray) -> np.ndarray:
        return np.sqrt(counts.astype(np.float64) @ squared / counts.sum(axis=1))

    return statistic


def bootstrap(statistics: list[Statistic], n: int, n_boot: int, seed: int) -> np.ndarray:
    """Each statistic on the same `n_boot` resamples of `n` rows: an array (len(statistics), n_boot)."""
    blocks = [np.stack([stat(counts) for stat in statistics]) for counts in resample_counts(n, n_boot, seed)]
    return np.concatenate(blocks, axis=1)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` share of the bootstrap values (NaN resamples ignored)."""
    tail = (1.0 - confidence) / 2.0
    if np.isnan(values).all():
        return float("nan"), float("nan")
    low, high = np.nanquantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
