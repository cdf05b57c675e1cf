"""Linear models trained by mini-batch stochastic gradient descent (AdaGrad steps) over cached sparse features.

One optimiser serves the three Amazon ML model types; only the loss differs: logistic (BINARY), softmax
cross-entropy (MULTICLASS) and squared (REGRESSION). As in Amazon ML, learners with different learning rates
train side by side (as extra weight columns of the same matrix products) and the best on held-out
mini-batches wins. Training runs on standardised features (centred implicitly, so sparse matrices stay
sparse) and folds the scaling back into the weights at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_softmax, softmax

from aml_provider.local.learners.cache import FeatureCache
from aml_provider.local.learners.parameters import TrainingParameters

BINARY = "BINARY"
MULTICLASS = "MULTICLASS"
REGRESSION = "REGRESSION"

#: AdaGrad base steps (on standardised features and targets) of the learners trained side by side.
LEARNING_RATES = (0.05, 0.25, 1.25)
#: Above this many weights in all, only the middle learning rate is trained (memory bound).
MAX_PARALLEL_WEIGHTS = 6_000_000
#: Every this-many-th mini-batch is held out of training to score the learners.
VALIDATION_EVERY = 10
#: A pass that improves a learner's held-out loss by less than this fraction counts as no progress.
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
        return self._link(self.decision(features))

    def row_scores(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """`scores` of one row given by its non-zero feature columns and values (shape (1,) or (1, k))."""
        return self._link((values @ self.coef[columns] + self.intercept)[None, :])

    def _link(self, z: np.ndarray) -> np.ndarray:
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
    """A loss over the outputs z (n, learners, k) of several learners at once and encoded targets y (n,).

    `gradient` returns dLoss/dz; `total` each learner's loss sum; `errors` each learner's wrong answers.
    """

    def outputs(self, n_classes: int) -> int:
        return 1

    def gradient(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def total(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def errors(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.zeros(z.shape[1])

    def total_and_gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss sum and dLoss/dz of one learner's outputs z (n, k)."""
        wide = z[:, None, :]
        return float(self.total(wide, y)[0]), self.gradient(wide, y)[:, 0, :]


class LogisticLoss(Loss):
    def gradient(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (expit(z[:, :, 0]) - y[:, None])[:, :, None]  # type: ignore[no-any-return]

    def total(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        col = z[:, :, 0]
        return (np.logaddexp(0.0, col) - col * y[:, None]).sum(axis=0)  # type: ignore[no-any-return]

    def errors(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.count_nonzero((z[:, :, 0] >= 0) != (y[:, None] >= 0.5), axis=0)  # type: ignore[no-any-return]


class SoftmaxLoss(Loss):
    def outputs(self, n_classes: int) -> int:
        return n_classes

    def gradient(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        grad = _softmax(z)
        rows, learners = np.arange(z.shape[0])[:, None], np.arange(z.shape[1])[None, :]
        grad[rows, learners, y.astype(np.intp)[:, None]] -= 1.0
        return grad

    def total(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        log_p = log_softmax(z, axis=2)
        rows, learners = np.arange(z.shape[0])[:, None], np.arange(z.shape[1])[None, :]
        return -log_p[rows, learners, y.astype(np.intp)[:, None]].sum(axis=0)  # type: ignore[no-any-return]

    def errors(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.count_nonzero(z.argmax(axis=2) != y[:, None], axis=0)  # type: ignore[no-any-return]

    def total_and_gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Both from one softmax: -sum log p(y) and p - onehot(y)."""
        rows, labels = np.arange(len(y)), y.astype(np.intp)
        shifted = z - z.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted)
        sums = probabilities.sum(axis=1)
        total = float(np.log(sums).sum() - shifted[rows, labels].sum())
        probabilities /= sums[:, None]
        probabilities[rows, labels] -= 1.0
        return total, probabilities


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed class-major (fast for the few classes of a mini-batch)."""
    by_class = np.ascontiguousarray(np.moveaxis(z, 2, 0))
    by_class -= by_class.max(axis=0)
    np.exp(by_class, out=by_class)
    by_class /= by_class.sum(axis=0)
    return np.moveaxis(by_class, 0, 2)


class SquaredLoss(Loss):
    def gradient(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return z - y[:, None, None]

    def total(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        residual = z[:, :, 0] - y[:, None]
        return 0.5 * (residual * residual).sum(axis=0)  # type: ignore[no-any-return]


LOSSES: dict[str, Loss] = {BINARY: LogisticLoss(), MULTICLASS: SoftmaxLoss(), REGRESSION: SquaredLoss()}
LOSS_NAMES = {BINARY: "log-loss", MULTICLASS: "log-loss", REGRESSION: "squared-loss"}


def batch_size_for(rows: int) -> int:
    """Large batches for fast matrix products, yet at least ~250 updates per pass on small data."""
    return int(min(4096, max(1, rows // 256)))


def learning_rates_for(weights: int) -> tuple[float, ...]:
    """The learners trained side by side: all rates while the weights stay small, else the middle one."""
    return LEARNING_RATES if weights * len(LEARNING_RATES) <= MAX_PARALLEL_WEIGHTS else LEARNING_RATES[1:2]


@dataclass
class Scaling:
    """Implicit standardisation: features centred and scaled (0/1 indicators only centred), targets too."""

    mean: np.ndarray
    inv_std: np.ndarray  # (n_features, 1)
    std: np.ndarray
    y_mean: float
    y_std: float

    @classmethod
    def of(cls, cache: FeatureCache, model_type: str) -> Scaling:
        mean, std = cache.mean_std()
        scale = np.where((std > 1e-12) & ~cache.indicators(), std, 1.0)
        y_mean, y_std = cache.target_mean_std() if model_type == REGRESSION else (0.0, 1.0)
        return cls(mean, (1.0 / scale)[:, None], std, y_mean, y_std if y_std > 1e-12 else 1.0)

    def outputs(self, features: sp.csr_matrix, weights: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        scaled = weights * self.inv_std
        return np.asarray(features @ scaled) + (intercept - self.mean @ scaled)  # type: ignore[no-any-return]

    def gradient(self, features: sp.csr_matrix, grad_z: np.ndarray) -> np.ndarray:
        """d(loss)/d(standardised weights) from d(loss)/d(outputs)."""
        centred = np.asarray(features.T @ grad_z) - np.outer(self.mean, grad_z.sum(axis=0))
        return centred * self.inv_std  # type: ignore[no-any-return]

    def model(self, model_type: str, weights: np.ndarray, intercept: np.ndarray, passes: int) -> LinearModel:
        """The linear model in the original feature and target space."""
        scaled = weights * self.inv_std
        bias = (intercept - self.mean @ scaled) * self.y_std + self.y_mean
        return LinearModel(model_type, scaled * self.y_std, bias, self.std, passes)


def train_sgd(
    cache: FeatureCache,
    model_type: str,
    params: TrainingParameters,
    n_classes: int = 2,
    log: Callable[[str], None] = lambda line: None,
) -> LinearModel:
    """Fit a linear model of `model_type` to the cached rows (targets: 0/1, class index, or value).

    Learners with different learning rates train side by side; every VALIDATION_EVERY-th mini-batch is
    held out to score them, and the learner and pass with the lowest held-out loss become the model.
    """
    loss = LOSSES[model_type]
    k = loss.outputs(n_classes)
    rates = learning_rates_for(cache.n_features * k)
    count = len(rates)
    scaling = Scaling.of(cache, model_type)
    start = np.tile(initial_intercept(cache, model_type, k), count)
    optimizer = AdaGrad((cache.n_features, count * k), start, np.repeat(rates, k), params)
    batch = batch_size_for(cache.rows)
    held_out = -(-cache.rows // batch) >= VALIDATION_EVERY
    best = _BestSnapshots(count)
    stalled = passes = 0
    log(f"learners: {count} with learning rates {', '.join(map(repr, rates))}; mini-batch size {batch}")
    for passes in range(1, params.max_passes + 1):
        optimizer.start_pass()
        train_loss, held_loss, held_errors = np.zeros(count), np.zeros(count), np.zeros(count)
        train_rows = held_rows = 0
        for index, (features, target) in enumerate(cache.batches(batch)):
            y = (target - scaling.y_mean) / scaling.y_std
            z = scaling.outputs(features, optimizer.weights, optimizer.intercept).reshape(len(y), count, k)
            if index % VALIDATION_EVERY == VALIDATION_EVERY - 1:
                held_loss += loss.total(z, y)
                held_errors += loss.errors(z, y)
                held_rows += len(y)
                continue
            if not held_out:  # too little data to hold any out: score on the training batches
                train_loss += loss.total(z, y)
            train_rows += len(y)
            grad_z = loss.gradient(z, y).reshape(len(y), count * k) / len(y)
            optimizer.step(scaling.gradient(features, grad_z), grad_z.sum(axis=0))
        score = held_loss / held_rows if held_rows else train_loss / max(train_rows, 1)
        improved = best.offer(score, *optimizer.averaged(), passes)
        log(_progress(passes, model_type, score, held_errors, held_rows, train_rows, scaling.y_std))
        stalled = 0 if improved else stalled + 1
        if stalled >= PATIENCE:
            log(f"early-stop: pass={passes} no-improvement-passes={stalled}")
            break
    chosen = int(np.argmin(best.loss))
    log(
        f"best learner: learning-rate={rates[chosen]!r} pass={best.passes[chosen]} "
        f"held-out-{LOSS_NAMES[model_type]}={best.loss[chosen]:.6g}"
    )
    columns = slice(chosen * k, (chosen + 1) * k)
    weights, intercept = best.weights[:, columns], best.intercept[columns]
    return scaling.model(model_type, weights, intercept, passes)


class _BestSnapshots:
    """Each learner's lowest held-out loss so far and its weights then."""

    def __init__(self, count: int) -> None:
        self.loss = np.full(count, np.inf)
        self.passes = np.zeros(count, dtype=int)
        self.weights = np.zeros((0, 0))
        self.intercept = np.zeros(0)

    def offer(self, loss: np.ndarray, weights: np.ndarray, intercept: np.ndarray, passes: int) -> bool:
        """Keep the learners that improved by more than TOLERANCE; answer whether any did."""
        known = np.isfinite(self.loss)
        margin = np.where(known, TOLERANCE * np.abs(np.where(known, self.loss, 0.0)), 0.0)
        better = np.isfinite(loss) & (~known | (loss < np.where(known, self.loss, np.inf) - margin))
        if self.weights.size == 0:
            self.weights, self.intercept = weights.copy(), intercept.copy()
        k = weights.shape[1] // len(self.loss)
        for learner in np.flatnonzero(better):
            columns = slice(learner * k, (learner + 1) * k)
            self.weights[:, columns] = weights[:, columns]
            self.intercept[columns] = intercept[columns]
            self.loss[learner], self.passes[learner] = loss[learner], passes
        return bool(better.any())


class AdaGrad:
    """Per-coordinate AdaGrad steps with L2 (weight decay) or L1 (cumulative penalty, as in Tsuruoka et al.).

    `rates` holds the base step of each output column (one learner's columns share its rate). The model of a
    pass is the average of that pass's iterates, which smooths out the noise of the last steps.
    """

    def __init__(
        self, shape: tuple[int, int], intercept: np.ndarray, rates: np.ndarray, params: TrainingParameters
    ) -> None:
        self.weights = np.zeros(shape)
        self.intercept = intercept.astype(np.float64)
        self.rates = rates
        self.l1, self.l2 = params.l1, params.l2
        self._sq_weights = np.full(shape, 1e-8)
        self._sq_intercept = np.full(intercept.shape, 1e-8)
        self._l1_total = np.zeros(shape) if params.l1 else np.zeros((0, 0))
        self._l1_applied = np.zeros(shape) if params.l1 else np.zeros((0, 0))
        self.start_pass()

    def start_pass(self) -> None:
        self._sum_weights = np.zeros_like(self.weights)
        self._sum_intercept = np.zeros_like(self.intercept)
        self._steps = 0

    def step(self, grad: np.ndarray, grad_intercept: np.ndarray) -> None:
        if self.l2:
            grad = grad + self.l2 * self.weights
        self._sq_weights += grad * grad
        rate = self.rates / np.sqrt(self._sq_weights)
        self.weights -= rate * grad
        if self.l1:
            self._apply_l1(rate)
        self._sq_intercept += grad_intercept * grad_intercept
        self.intercept -= self.rates / np.sqrt(self._sq_intercept) * grad_intercept
        self._sum_weights += self.weights
        self._sum_intercept += self.intercept
        self._steps += 1

    def averaged(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean iterate of the pass; under L1, weights the last iterate zeroed stay zero."""
        if not self._steps:
            return self.weights.copy(), self.intercept.copy()
        weights = self._sum_weights / self._steps
        if self.l1:
            weights[self.weights == 0] = 0.0
        return weights, self._sum_intercept / self._steps

    def _apply_l1(self, rate: np.ndarray) -> None:
        self._l1_total += rate * self.l1
        before = self.weights.copy()
        positive, negative = before > 0, before < 0
        self.weights[positive] = np.maximum(0.0, before - (self._l1_total + self._l1_applied))[positive]
        self.weights[negative] = np.minimum(0.0, before + (self._l1_total - self._l1_applied))[negative]
        self._l1_applied += self.weights - before


def initial_intercept(cache: FeatureCache, model_type: str, k: int) -> np.ndarray:
    """Start from the base rate (BINARY) or uniform (MULTICLASS); regression targets are centred already."""
    if model_type == BINARY:
        rate = min(max(cache.target_mean_std()[0], 1e-6), 1 - 1e-6)
        return np.array([math.log(rate / (1 - rate))])
    return np.zeros(k)


def _progress(
    number: int,
    model_type: str,
    loss: np.ndarray,
    errors: np.ndarray,
    held_rows: int,
    train_rows: int,
    y_std: float,
) -> str:
    losses = " ".join(f"{value:.6g}" for value in loss)
    line = f"pass={number} training-records={train_rows} held-out-records={held_rows} "
    line += f"held-out-{LOSS_NAMES[model_type]}=[{losses}]"
    best = int(np.argmin(loss))
    if model_type == REGRESSION:
        return line + f" held-out-rmse={math.sqrt(2 * loss[best]) * y_std:.6g}"
    accuracy = 1 - errors[best] / held_rows if held_rows else float("nan")
    return line + f" held-out-accuracy={accuracy:.6g}"
