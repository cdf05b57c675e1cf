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
    feature_std: np.ndarray  # training spread of each feature, to rank features by effect
    passes: int = 0  # passes over the training data it took

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
        """How much each feature moves the output: its largest |weight| over outputs times its spread."""
        if not self.coef.size:
            return np.zeros(self.coef.shape[0])
        return np.abs(self.coef).max(axis=1) * self.feature_std  # type: ignore[no-any-return]

    def keep(self, mask: np.ndarray) -> None:
        """Drop the features where `mask` is False (model-size pruning)."""
        self.coef = np.ascontiguousarray(self.coef[mask])
        self.feature_std = self.feature_std[mask]


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
    mean, std = cache.mean_std()
    inv_std = (1.0 / np.where(std > 1e-12, std, 1.0))[:, None]
    y_mean, y_std = cache.target_mean_std() if model_type == REGRESSION else (0.0, 1.0)
    y_std = y_std if y_std > 1e-12 else 1.0
    k = loss.outputs(n_classes)
    optimizer = AdaGrad((cache.n_features, k), _initial_intercept(cache, model_type, k), params)
    batch = batch_size_for(cache.rows)
    best, stalled, number = math.inf, 0, 0
    for number in range(1, params.max_passes + 1):
        optimizer.start_pass()
        total_loss, correct, rows = 0.0, 0, 0
        for features, target in cache.batches(batch):
            y = target if model_type != REGRESSION else (target - y_mean) / y_std
            scaled = optimizer.weights * inv_std
            z = np.asarray(features @ scaled) + (optimizer.intercept - mean @ scaled)
            grad_z, batch_loss = loss.gradient(z, y)
            total_loss += batch_loss
            correct += loss.correct(z, y)
            rows += z.shape[0]
            g_sum = grad_z.sum(axis=0)
            grad = (np.asarray(features.T @ grad_z) - np.outer(mean, g_sum)) * inv_std
            optimizer.step(grad / z.shape[0], g_sum / z.shape[0])
        mean_loss = total_loss / max(rows, 1)
        log(_progress(number, model_type, mean_loss, correct, rows, y_std))
        if not math.isfinite(best) or mean_loss < best - TOLERANCE * abs(best):
            best, stalled = mean_loss, 0
        else:
            stalled += 1
            if stalled >= PATIENCE:
                log(f"early-stop: pass={number} no-improvement-passes={stalled}")
                break
    weights, intercept = optimizer.averaged()
    scaled = weights * inv_std
    return LinearModel(model_type, scaled * y_std, (intercept - mean @ scaled) * y_std + y_mean, std, number)


class AdaGrad:
    """Per-coordinate AdaGrad steps with L2 (weight decay) or L1 (cumulative penalty, as in Tsuruoka et al.).

    The model of a pass is the average of that pass's iterates, which smooths out the noise of the last steps.
    """

    def __init__(self, shape: tuple[int, int], intercept: np.ndarray, params: TrainingParameters) -> None:
        self.weights = np.zeros(shape)
        self.intercept = intercept.astype(np.float64)
        self.l1, self.l2 = params.l1, params.l2
        self._sq_weights = np.full(shape, 1e-8)
        self._sq_intercept = np.full(intercept.shape, 1e-8)
        self._l1_total = np.zeros(shape)  # penalty each weight could have received so far
        self._l1_applied = np.zeros(shape)  # penalty it did receive
        self.start_pass()

    def start_pass(self) -> None:
        self._sum_weights = np.zeros_like(self.weights)
        self._sum_intercept = np.zeros_like(self.intercept)
        self._steps = 0

    def step(self, grad: np.ndarray, grad_intercept: np.ndarray) -> None:
        if self.l2:
            grad = grad + self.l2 * self.weights
        self._sq_weights += grad * grad
        rate = LEARNING_RATE / np.sqrt(self._sq_weights)
        self.weights -= rate * grad
        if self.l1:
            self._apply_l1(rate)
        self._sq_intercept += grad_intercept * grad_intercept
        self.intercept -= LEARNING_RATE / np.sqrt(self._sq_intercept) * grad_intercept
        self._sum_weights += self.weights
        self._sum_intercept += self.intercept
        self._steps += 1

    def averaged(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean iterate of the last pass; under L1, weights the last iterate zeroed stay zero."""
        steps = max(self._steps, 1)
        weights = self._sum_weights / steps if self._steps else self.weights.copy()
        if self.l1:
            weights[self.weights == 0] = 0.0
        return weights, self._sum_intercept / steps if self._steps else self.intercept.copy()

    def _apply_l1(self, rate: np.ndarray) -> None:
        self._l1_total += rate * self.l1
        before = self.weights.copy()
        positive, negative = before > 0, before < 0
        self.weights[positive] = np.maximum(0.0, before - (self._l1_total + self._l1_applied))[positive]
        self.weights[negative] = np.minimum(0.0, before + (self._l1_total - self._l1_applied))[negative]
        self._l1_applied += self.weights - before


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
