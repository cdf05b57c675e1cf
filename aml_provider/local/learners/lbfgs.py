"""Linear models fitted to convergence: the L2-regularised loss over all cached rows, minimised by L-BFGS.

Each iteration is one pass over the cached rows (from memory, or streamed from disk). The loss is the same
as SGD's (logistic, softmax cross-entropy or squared) on standardised features and targets, plus
`l2 / 2 * |w|^2` with `l2` at least 1 / rows: one record's worth of a unit Gaussian prior per weight, which is
scikit-learn's default (C=1) for logistic regression. REGRESSION, whose squared loss has no such natural
scale, tries a few multiples of that amount by 5-fold cross-validation (as ridge regression's does), keeps
the one with the lowest held-out loss and refits on all rows. A model so fitted is the unique optimum of
its objective: it does not depend on learning rates, passes or row order, and its
held-out loss cannot rise with more passes the way over-long SGD does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from aml_provider.local.learners.cache import FeatureCache
from aml_provider.local.learners.parameters import TrainingParameters
from aml_provider.local.learners.sgd import (
    LOSS_NAMES,
    LOSSES,
    REGRESSION,
    LinearModel,
    Loss,
    Scaling,
    initial_intercept,
    train_sgd,
)

#: L-BFGS stops after this many passes even if not converged (it converges in tens to a few hundred).
MAX_ITERATIONS = 500
#: Larger training sets (and L1-regularised models) are trained by SGD, a bounded number of passes.
FULL_BATCH_MAX_ROWS = 2_000_000
#: Rows per block while a pass accumulates the loss and gradient.
BLOCK_ROWS = 65_536
#: Converged once a pass improves the objective by less than this fraction (scipy's ftol).
RELATIVE_TOLERANCE = 1e-8
#: REGRESSION tries these multiples of the L2 amount (up to this many rows; above, the amount matters little).
L2_FACTORS = (1.0, 4.0, 16.0, 64.0, 256.0)
SELECTION_MAX_ROWS = 50_000
#: Cross-validation folds while choosing the L2 amount: row i is held out in fold i % FOLDS.
FOLDS = 5


#: Which rows an objective covers: None (all), or (fold, True) that fold's rows, (fold, False) the others.
Part = tuple[int, bool] | None


def train_linear(
    cache: FeatureCache,
    model_type: str,
    params: TrainingParameters,
    n_classes: int = 2,
    log: Callable[[str], None] = lambda line: None,
) -> LinearModel:
    """The linear model of the cached rows: fitted to convergence by L-BFGS, or by SGD (L1, or many rows)."""
    if params.l1 == 0 and cache.rows <= FULL_BATCH_MAX_ROWS:
        return train_lbfgs(cache, model_type, params, n_classes, log)
    return train_sgd(cache, model_type, params, n_classes, log)


def l2_amount(params: TrainingParameters, rows: int) -> float:
    """The smallest L2 amount used: the requested one, but at least one record's worth (1 / rows)."""
    return max(params.l2, 1.0 / max(rows, 1))


def train_lbfgs(
    cache: FeatureCache,
    model_type: str,
    params: TrainingParameters,
    n_classes: int = 2,
    log: Callable[[str], None] = lambda line: None,
) -> LinearModel:
    """Fit a linear model of `model_type` to the cached rows by minimising its L2-regularised mean loss."""
    objective = _Objective(cache, LOSSES[model_type], Scaling.of(cache, model_type), model_type, n_classes)
    start = np.concatenate([np.zeros(objective.n_weights), initial_intercept(cache, model_type, objective.k)])
    l2 = l2_amount(params, cache.rows)
    if model_type == REGRESSION and FOLDS * 2 <= cache.rows <= SELECTION_MAX_ROWS:
        l2 = _chosen_l2(objective, start, l2, log)
    log(f"learner: L-BFGS on all {cache.rows} training records, l2={l2:.6g}")
    before = objective.passes
    result = objective.minimise(start, l2, None, log)
    log(
        f"best learner: L-BFGS passes={objective.passes - before} converged={bool(result.success)} "
        f"training-{LOSS_NAMES[model_type]}+l2={float(result.fun):.8g}"
    )
    return objective.model(result.x)


def _chosen_l2(
    objective: _Objective, start: np.ndarray, smallest: float, log: Callable[[str], None]
) -> float:
    """The multiple of `smallest` with the lowest cross-validated loss (each fit starts from the previous
    amount's fit of its fold)."""
    held_out, starts = [], [start] * FOLDS
    for factor in L2_FACTORS:
        loss = 0.0
        for fold in range(FOLDS):
            fitted = objective.minimise(starts[fold], smallest * factor, (fold, False), lambda line: None)
            loss += objective.evaluate(fitted.x, 0.0, (fold, True))[0] / FOLDS
            starts[fold] = fitted.x
        held_out.append(loss)
        log(f"l2={smallest * factor:.6g} cross-validated-{LOSS_NAMES[objective.model_type]}={loss:.8g}")
    return smallest * L2_FACTORS[int(np.argmin(held_out))]


class _Objective:
    """The mean loss plus the L2 penalty over all rows, or over the rows in or out of one fold."""

    def __init__(
        self, cache: FeatureCache, loss: Loss, scaling: Scaling, model_type: str, n_classes: int
    ) -> None:
        self.cache, self.loss, self.scaling, self.model_type = cache, loss, scaling, model_type
        self.k = loss.outputs(n_classes)
        self.n_weights = cache.n_features * self.k
        self.passes, self.latest = 0, float("nan")
        #: each standardised feature's variance: 1 for numbers, p(1 - p) for 0/1 indicators
        self.variance = (scaling.std * scaling.inv_std[:, 0]) ** 2

    def evaluate(self, theta: np.ndarray, l2: float, part: Part) -> tuple[float, np.ndarray]:
        """The objective over `part` of the rows and its gradient: one pass."""
        self.passes += 1
        weights, intercept = theta[: self.n_weights].reshape(-1, self.k), theta[self.n_weights :]
        total, rows, grad_w, grad_b = 0.0, 0, np.zeros_like(weights), np.zeros(self.k)
        offset = 0
        for features, target in self.cache.batches(BLOCK_ROWS):
            if part is not None:
                keep = (np.arange(offset, offset + len(target)) % FOLDS == part[0]) == part[1]
                offset += len(target)
                features, target = features[keep], target[keep]
            y = (target - self.scaling.y_mean) / self.scaling.y_std
            z = self.scaling.outputs(features, weights, intercept)
            value, grad_z = self.loss.total_and_gradient(z, y)
            total, rows = total + value, rows + len(y)
            grad_w += self.scaling.gradient(features, grad_z)
            grad_b += grad_z.sum(axis=0)
        rows = max(rows, 1)
        self.latest = total / rows + 0.5 * l2 * float(np.vdot(weights, weights))
        return self.latest, np.concatenate([(grad_w / rows + l2 * weights).ravel(), grad_b / rows])

    def minimise(
        self, start: np.ndarray, l2: float, part: Part, log: Callable[[str], None]
    ) -> OptimizeResult:
        """L-BFGS's minimum of the objective over `part` (x, fun, success), logging each pass.

        L-BFGS works on the weights times sqrt(variance + l2), the square root of the objective's curvature
        along each weight (Jacobi preconditioning): rare indicators (many quantile bins, words) would otherwise
        make it crawl. The objective itself is unchanged.
        """
        first = self.passes
        scale = np.concatenate([np.repeat(np.sqrt(self.variance + l2), self.k), np.ones(self.k)])

        def preconditioned(point: np.ndarray) -> tuple[float, np.ndarray]:
            value, gradient = self.evaluate(point / scale, l2, part)
            return value, gradient / scale

        result = minimize(
            preconditioned,
            start * scale,
            jac=True,
            method="L-BFGS-B",
            callback=lambda _: log(
                f"pass={self.passes - first} training-records={self.cache.rows} objective={self.latest:.8g}"
            ),
            options={
                "maxiter": MAX_ITERATIONS,
                "maxfun": 2 * MAX_ITERATIONS,
                "ftol": RELATIVE_TOLERANCE,
                "gtol": 1e-8,
            },
        )
        result.x = result.x / scale
        return result

    def model(self, theta: np.ndarray) -> LinearModel:
        weights = np.ascontiguousarray(theta[: self.n_weights].reshape(-1, self.k))
        return self.scaling.model(self.model_type, weights, theta[self.n_weights :], self.passes)
