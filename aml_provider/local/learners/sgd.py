"""Linear models trained by mini-batch stochastic gradient descent (AdaGrad steps) over cached sparse features.

One optimiser serves the three Amazon ML model types; only the loss differs: logistic (BINARY), softmax
cross-entropy (MULTICLASS) and squared (REGRESSION). Training runs on standardised features (centred
implicitly, so sparse matrices stay sparse) and folds the scaling back into the weights at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax, softmax

from aml_provider.local.learners.cache import FeatureCache
from aml_provider.local.learners.parameters import TrainingParameters

BINARY = "BINARY"
MULTICLASS = "MULTICLASS"
REGRESSION = "REGRESSION"

#: AdaGrad base step on standardised features and targets.
LEARNING_RATE = 0.5
#: A pass that improves the mean progressive loss by less than this fraction counts as no progress.
TOLERANCE = 1e-4
#: Training stops after this many passes in a row without progress.
PATIENCE = 2


@dataclass
class LinearModel:
    """Weights (n_features, n_outputs) and intercepts (n_outputs,) in the original feature space."""

    model_type: str
    coef: np.ndarray
    intercept: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[0])

    def decision(self, features: sp.csr_matrix) -> np.ndarray:
        """Raw linear outputs, shape (n_rows, n_outputs)."""
        return np.asarray(features @ self.coef) + self.intercept

    def scores(self, features: sp.csr_matrix) -> np.ndarray:
        """BINARY: probability of class 1 (n,); MULTICLASS: class probabilities (n, k); REGRESSION: value (n,)."""
        z = self.decision(features)
        if self.model_type == BINARY:
            return expit(z[:, 0])  # type: ignore[no-any-return]
        if self.model_type == MULTICLASS:
            return softmax(z, axis=1)  # type: ignore[no-any-return]
        return z[:, 0]

    def importance(self) -> np.ndarray:
        """How much each feature moves the output: the largest |weight| over outputs."""
        return np.abs(self.coef).max(axis=1) if self.coef.size else np.zeros(self.coef.shape[0])

    def keep(self, mask: np.ndarray) -> None:
        """Drop the features where `mask` is False (model-size pruning)."""
        self.coef = np.ascontiguousarray(self.coef[mask])


class Loss:
    """A loss over linear outputs z (n, k) and encoded targets y; `gradient` returns dLoss/dz and the loss sum."""

    name = ""

    def outputs(self, n_classes: int) -> int:
        return 1

    def gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    def correct(self, z: np.ndarray, y: np.ndarray) -> int:
        """Rows predicted right (classification progress); regression returns 0."""
        return 0


class LogisticLoss(Loss):
    name = "logistic"

    def gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        col = z[:, 0]
        loss = -float(np.sum(log_expit(col) * y + log_expit(-col) * (1.0 - y)))
        return (expit(col) - y)[:, None], loss

    def correct(self, z: np.ndarray, y: np.ndarray) -> int:
        return int(np.count_nonzero((z[:, 0] >= 0) == (y >= 0.5)))


class SoftmaxLoss(Loss):
    name = "softmax"

    def outputs(self, n_classes: int) -> int:
        return n_classes

    def gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        rows = np.arange(z.shape[0])
        labels = y.astype(np.intp)
        log_p = log_softmax(z, axis=1)
        grad = np.exp(log_p)
        grad[rows, labels] -= 1.0
        return grad, -float(log_p[rows, labels].sum())

    def correct(self, z: np.ndarray, y: np.ndarray) -> int:
        return int(np.count_nonzero(z.argmax(axis=1) == y))


class SquaredLoss(Loss):
    name = "squared"

    def gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        residual = z[:, 0] - y
        return residual[:, None], 0.5 * float(residual @ residual)


LOSSES: dict[str, Loss] = {BINARY: LogisticLoss(), MULTICLASS: SoftmaxLoss(), REGRESSION: SquaredLoss()}


def batch_size_for(rows: int) -> int:
    """Large batches for fast matrix products, yet at least ~200 updates per pass on small data."""
    return int(min(4096, max(1, rows // 256)))


def train_sgd(
    cache: FeatureCache,
    model_type: str,
    params: TrainingParameters,
    n_classes: int = 2,
    log: Callable[[str], None] = lambda line: None,
) -> LinearModel:
    """Fit a linear model of `model_type` to the cached rows (targets: 0/1, class index, or value)."""
    loss = LOSSES[model_type]
    k = loss.outputs(n_classes)
    d = cache.n_features
    mean, std = cache.mean_std()
    inv_std = np.where(std > 1e-12, 1.0 / np.maximum(std, 1e-12), 1.0)[:, None]
    y_mean, y_std = cache.target_mean_std() if model_type == REGRESSION else (0.0, 1.0)
    y_std = y_std if y_std > 1e-12 else 1.0

    weights = np.zeros((d, k))
    intercept = _initial_intercept(cache, model_type, k)
    sq_weights = np.full((d, k), 1e-8)
    sq_intercept = np.full(k, 1e-8)
    batch = batch_size_for(cache.rows)
    best, stalled = math.inf, 0
    for number in range(1, params.max_passes + 1):
        total_loss, correct, rows = 0.0, 0, 0
        sum_weights, sum_intercept, steps = np.zeros_like(weights), np.zeros_like(intercept), 0
        for features, target in cache.batches(batch):
            y = target if model_type != REGRESSION else (target - y_mean) / y_std
            scaled = weights * inv_std
            z = np.asarray(features @ scaled) + (intercept - mean @ scaled)
            grad_z, batch_loss = loss.gradient(z, y)
            total_loss += batch_loss
            correct += loss.correct(z, y)
            rows += z.shape[0]
            g_sum = grad_z.sum(axis=0)
            grad = (np.asarray(features.T @ grad_z) - np.outer(mean, g_sum)) * inv_std / z.shape[0]
            if params.l2:
                grad += params.l2 * weights
            sq_weights += grad * grad
            step = LEARNING_RATE / np.sqrt(sq_weights)
            weights -= step * grad
            if params.l1:
                weights = np.sign(weights) * np.maximum(np.abs(weights) - step * params.l1, 0.0)
            g_b = g_sum / z.shape[0]
            sq_intercept += g_b * g_b
            intercept -= LEARNING_RATE / np.sqrt(sq_intercept) * g_b
            sum_weights += weights
            sum_intercept += intercept
            steps += 1
        mean_loss = total_loss / max(rows, 1)
        log(_progress(number, model_type, mean_loss, correct, rows, y_std))
        if not math.isfinite(best) or mean_loss < best - TOLERANCE * abs(best):
            best, stalled = mean_loss, 0
        else:
            stalled += 1
            if stalled >= PATIENCE:
                log(f"early-stop: pass={number} no-improvement-passes={stalled}")
                break
    scaled = sum_weights / steps * inv_std
    bias = sum_intercept / steps - mean @ scaled
    return LinearModel(model_type, scaled * y_std, bias * y_std + y_mean)


def _initial_intercept(cache: FeatureCache, model_type: str, k: int) -> np.ndarray:
    """Start from the base rate (BINARY) or uniform (MULTICLASS); regression targets are centred already."""
    if model_type == BINARY:
        rate = min(max(cache.target_mean_std()[0], 1e-6), 1 - 1e-6)
        return np.array([math.log(rate / (1 - rate))])
    return np.zeros(k)


def _progress(number: int, model_type: str, loss: float, correct: int, rows: int, y_std: float) -> str:
    if model_type == REGRESSION:
        rmse = math.sqrt(2 * loss) * y_std
        return f"pass={number} records={rows} progressive-squared-loss={loss:.6g} progressive-rmse={rmse:.6g}"
    accuracy = correct / max(rows, 1)
    return f"pass={number} records={rows} progressive-log-loss={loss:.6g} progressive-accuracy={accuracy:.6g}"
