"""Transformed training rows kept on disk in shards, so SGD can make many passes over data larger than RAM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import scipy.sparse as sp

from aml_provider.local.config import DEFAULT_TRAINING_MEMORY_BYTES

#: Shuffling spreads rows over at most this many shards.
MAX_SHARDS = 256
#: The arrays of a stored block or shard, each in a .npy file of its own (memory-mapped when streaming).
_ARRAYS = ("data", "indices", "indptr", "target")


class FeatureCache:
    """Append CSR feature blocks with their targets once; then iterate over them as mini-batches many times.

    While appending it keeps per-feature sums (for standardisation) and target sums (for regression scaling).
    """

    def __init__(self, directory: Path, memory_budget: int = DEFAULT_TRAINING_MEMORY_BYTES) -> None:
        """Shards stay in memory after their first load while all of them hold at most `memory_budget` bytes."""
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
        path = self.directory / f"block-{len(self._shards):06d}"
        self._bytes += self._write(features, target, path)
        self._shards.append(path)
        self.rows += features.shape[0]

    def shuffle(self, seed: int) -> None:
        """Shuffle all rows once: a global permutation, memory bounded by one block and one shard.

        Each block scatters its rows at random over the shards (appended to per-shard spill files, each
        open until the last block is scattered); each shard is then permuted and stored.
        """
        rng = np.random.default_rng(seed)
        blocks, self._shards = self._shards, []
        count = min(len(blocks), MAX_SHARDS)
        spills = [_Spill(self.directory / f"spill-{shard:06d}") for shard in range(count)]
        try:
            for path in blocks:
                self._scatter(path, spills, rng)
        finally:
            for spill in spills:
                spill.close()
        self._bytes = 0
        for shard, spill in enumerate(spills):
            features, target = spill.load(self.n_features)
            if features.shape[0]:
                order = rng.permutation(features.shape[0])
                path = self.directory / f"shard-{shard:06d}"
                self._bytes += self._write(features[order], target[order], path)
                self._shards.append(path)
        self._resident.clear()

    def _scatter(self, path: Path, spills: list[_Spill], rng: np.random.Generator) -> None:
        """Append the rows of one stored block to spills chosen at random (then remove the block)."""
        features, target = self._read(path)
        owner = rng.integers(0, len(spills), size=features.shape[0])
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(spills) + 1))
        features, target = features[order], np.asarray(target[order], dtype=np.float64)
        pointers = features.indptr
        lengths = np.diff(pointers).astype(np.int64)
        data = np.asarray(features.data, dtype=np.float64)
        indices = np.asarray(features.indices, dtype=np.int32)  # a column number: features < 2**31
        for spill, begin, end in zip(spills, bounds[:-1], bounds[1:], strict=True):
            if end > begin:
                low, high = pointers[begin], pointers[end]
                spill.append(lengths[begin:end], target[begin:end], data[low:high], indices[low:high])
        _unlink(path)

    @property
    def resident(self) -> bool:
        """Whether the stored rows fit the memory budget (else every pass streams them from disk)."""
        return self._bytes <= self.memory_budget

    @property
    def stored_bytes(self) -> int:
        return self._bytes

    def batches(self, batch_size: int) -> Iterator[tuple[sp.csr_matrix, np.ndarray]]:
        """Every stored row once, in order, as (features, target) mini-batches of at most `batch_size` rows.

        While the cache fits its memory budget, the batches of the latest size stay in memory; otherwise each
        shard is memory-mapped while its batches are used. Batches are views of their shard's arrays.
        """
        if self._resident_size != batch_size:
            self._resident.clear()
            self._resident_size = batch_size
        resident = self.resident
        for index, path in enumerate(self._shards):
            batches = self._resident.get(index)
            if batches is None:
                features, target = self._read(path, mapped=not resident)
                batches = [
                    _rows(features, target, start, min(start + batch_size, features.shape[0]))
                    for start in range(0, features.shape[0], batch_size)
                ]
                if resident:
                    self._resident[index] = batches
            yield from batches

    def targets(self) -> Iterator[np.ndarray]:
        """The stored targets, shard by shard (without reading the features)."""
        for path in self._shards:
            yield np.load(_part(path, "target"))

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
        arrays = (features.data, features.indices, features.indptr, np.asarray(target))
        for name, array in zip(_ARRAYS, arrays, strict=True):
            np.save(_part(path, name), array)
        return sum(array.nbytes for array in arrays)

    def _read(self, path: Path, mapped: bool = False) -> tuple[sp.csr_matrix, np.ndarray]:
        """One stored block or shard; `mapped`: its arrays memory-mapped (read-only) rather than read."""
        data, indices, indptr, target = (
            np.load(_part(path, name), mmap_mode="r" if mapped else None) for name in _ARRAYS
        )
        shape = (indptr.size - 1, self.n_features)
        return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False), target


def _part(path: Path, name: str) -> Path:
    return path.with_name(f"{path.name}.{name}.npy")


def _unlink(path: Path) -> None:
    for name in _ARRAYS:
        _part(path, name).unlink()


def _rows(
    features: sp.csr_matrix, target: np.ndarray, start: int, end: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows start..end of a CSR matrix and its target, as views of their arrays (no copy, unlike slicing)."""
    indptr = features.indptr[start : end + 1]
    low, high = indptr[0], indptr[-1]
    rows = sp.csr_matrix(
        (features.data[low:high], features.indices[low:high], indptr - low),
        shape=(end - start, features.shape[1]),
        copy=False,
    )
    return rows, target[start:end]


class _Spill:
    """Rows of one shard-to-be, appended block by block to one raw file kept open: per block a record of its
    row and value counts, then row lengths, targets, values and columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: BinaryIO | None = None

    def append(self, lengths: np.ndarray, target: np.ndarray, data: np.ndarray, indices: np.ndarray) -> None:
        """One block's rows: row lengths (int64), targets and values (float64), columns (int32)."""
        if self.handle is None:
            self.handle = self.path.open("wb")
        self.handle.write(np.array([len(lengths), len(data)], dtype=np.int64).data)
        for array in (lengths, target, data, indices):
            self.handle.write(np.ascontiguousarray(array).data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def load(self, n_features: int) -> tuple[sp.csr_matrix, np.ndarray]:
        """All appended rows (then the spill file is removed)."""
        if self.handle is None:
            return sp.csr_matrix((0, n_features)), np.zeros(0)
        self.handle.close()
        raw = np.fromfile(self.path, dtype=np.uint8)
        self.path.unlink()
        lengths: list[np.ndarray] = []
        targets: list[np.ndarray] = []
        values: list[np.ndarray] = []
        columns: list[np.ndarray] = []
        at = 0
        while at < raw.size:
            rows, nnz = raw[at : at + 16].view(np.int64)
            at += 16
            for kind, count, out in (
                (np.int64, rows, lengths),
                (np.float64, rows, targets),
                (np.float64, nnz, values),
                (np.int32, nnz, columns),
            ):
                size = int(count) * np.dtype(kind).itemsize
                out.append(raw[at : at + size].view(kind))
                at += size
        indptr = np.concatenate(([0], np.cumsum(np.concatenate(lengths))))
        shape = (indptr.size - 1, n_features)
        features = sp.csr_matrix((np.concatenate(values), np.concatenate(columns), indptr), shape=shape)
        return features, np.concatenate(targets)
