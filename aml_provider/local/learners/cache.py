"""Transformed training rows kept on disk in shards, so SGD can make many passes over data larger than RAM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import scipy.sparse as sp

#: Shards stay in memory after their first load while all of them together are at most this many bytes.
MEMORY_BUDGET = 384 << 20


class FeatureCache:
    """Append CSR feature blocks with their targets once; then iterate over them as mini-batches many times.

    While appending it keeps per-feature sums (for standardisation) and target sums (for regression scaling).
    """

    def __init__(self, directory: Path, memory_budget: int = MEMORY_BUDGET) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.memory_budget = memory_budget
        self.rows = 0
        self.n_features = 0
        self._shards: list[Path] = []
        self._bytes = 0
        self._sum = np.zeros(0)
        self._sum_sq = np.zeros(0)
        self._y_sum = 0.0
        self._y_sum_sq = 0.0
        self._resident: dict[int, list[tuple[sp.csr_matrix, np.ndarray]]] = {}
        self._resident_size = 0

    def append(self, features: sp.csr_matrix, target: np.ndarray) -> None:
        """Store one block of rows; blocks may have more features than earlier ones (features are appended)."""
        if features.shape[0] == 0:
            return
        features = sp.csr_matrix(features, dtype=np.float64)
        self._grow(features.shape[1])
        self._sum[: features.shape[1]] += np.asarray(features.sum(axis=0)).ravel()
        self._sum_sq[: features.shape[1]] += np.asarray(features.multiply(features).sum(axis=0)).ravel()
        numeric = np.asarray(target, dtype=np.float64)
        self._y_sum += float(numeric.sum())
        self._y_sum_sq += float(numeric @ numeric)
        path = self.directory / f"block-{len(self._shards):06d}.npz"
        self._bytes += self._write(features, target, path)
        self._shards.append(path)
        self.rows += features.shape[0]

    def shuffle(self, seed: int) -> None:
        """Shuffle all rows once (a global permutation done shard by shard, memory bounded by one shard)."""
        rng = np.random.default_rng(seed)
        blocks, self._shards = self._shards, []
        count = len(blocks)
        parts: list[list[Path]] = [[] for _ in range(count)]
        for index, path in enumerate(blocks):
            features, target = self._read(path)
            owner = rng.integers(0, count, size=features.shape[0])
            for shard in range(count):
                rows = np.flatnonzero(owner == shard)
                if rows.size:
                    part = self.directory / f"part-{shard:06d}-{index:06d}.npz"
                    self._write(features[rows], target[rows], part)
                    parts[shard].append(part)
            path.unlink()
        self._bytes = 0
        for shard, paths in enumerate(parts):
            if not paths:
                continue
            loaded = [self._read(path) for path in paths]
            features = sp.vstack([f for f, _ in loaded], format="csr")
            target = np.concatenate([t for _, t in loaded])
            order = rng.permutation(features.shape[0])
            path = self.directory / f"shard-{shard:06d}.npz"
            self._bytes += self._write(features[order], target[order], path)
            self._shards.append(path)
            for part in paths:
                part.unlink()
        self._resident.clear()

    def batches(self, batch_size: int) -> Iterator[tuple[sp.csr_matrix, np.ndarray]]:
        """Every stored row once, in order, as (features, target) mini-batches of at most `batch_size` rows.

        While the cache fits its memory budget, the batches of the latest size stay in memory.
        """
        if self._resident_size != batch_size:
            self._resident.clear()
            self._resident_size = batch_size
        resident = self._bytes <= self.memory_budget
        for index, path in enumerate(self._shards):
            batches = self._resident.get(index)
            if batches is None:
                features, target = self._read(path)
                batches = [
                    (features[start : start + batch_size], target[start : start + batch_size])
                    for start in range(0, features.shape[0], batch_size)
                ]
                if resident:
                    self._resident[index] = batches
            yield from batches

    def targets(self) -> Iterator[np.ndarray]:
        """The stored targets, shard by shard (without reading the features)."""
        for path in self._shards:
            with np.load(path) as stored:
                yield stored["target"]

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and standard deviation over all stored rows."""
        rows = max(self.rows, 1)
        mean = self._sum / rows
        return mean, np.sqrt(np.maximum(self._sum_sq / rows - mean**2, 0.0))

    def indicators(self) -> np.ndarray:
        """True for features whose values are all 0 or 1 (one-hot bins, categories, tokens, binaries)."""
        return self._sum == self._sum_sq  # type: ignore[no-any-return]

    def target_mean_std(self) -> tuple[float, float]:
        rows = max(self.rows, 1)
        mean = self._y_sum / rows
        return mean, float(np.sqrt(max(self._y_sum_sq / rows - mean**2, 0.0)))

    def _grow(self, n_features: int) -> None:
        if n_features > self.n_features:
            extra = n_features - self.n_features
            self._sum = np.concatenate([self._sum, np.zeros(extra)])
            self._sum_sq = np.concatenate([self._sum_sq, np.zeros(extra)])
            self.n_features = n_features

    @staticmethod
    def _write(features: sp.csr_matrix, target: np.ndarray, path: Path) -> int:
        """Save one block; return the bytes it takes in memory."""
        np.savez(path, data=features.data, indices=features.indices, indptr=features.indptr, target=target)
        return features.data.nbytes + features.indices.nbytes + features.indptr.nbytes + target.nbytes

    def _read(self, path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
        with np.load(path) as stored:
            indptr = stored["indptr"]
            shape = (indptr.size - 1, self.n_features)
            features = sp.csr_matrix((stored["data"], stored["indices"], indptr), shape=shape)
            return features, stored["target"]
