"""Newton's method and gradient descent with a line search: methods that choose their own step.

:func:`newton` takes ``value_grad_hess(x) -> (J, ∇J, ∇²J)`` and steps ``x ← x − t H⁻¹∇J``; the
step ``t`` is 1 when that lowers J enough and shorter otherwise (:func:`.line_search.backtrack`),
and a Hessian that is not positive definite is damped (``H + μI``) until it is, so the direction
always points downhill and the method never diverges. :func:`descent_with_line_search` is
gradient descent whose rate is found the same way. Both take ``callback(x, i, g)`` like the other
optimizers, and return the last point and whether their own convergence test was met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .line_search import ROUNDING, backtrack

__all__ = ["newton", "newton_direction", "descent_with_line_search"]

Callback = Callable[[np.ndarray, int, np.ndarray], Any]


def newton_direction(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``−(H + μI)⁻¹ g`` with the smallest ``μ ≥ 0`` (0, then growing tenfold) that makes
    ``H + μI`` positive definite: Newton's step, or a damped one that still goes downhill."""
    scale = max(1.0, float(np.max(np.abs(np.diag(H))))) if H.size else 1.0
    mu = 0.0
    eye = np.eye(H.shape[0])
    while True:
        try:
            factor = np.linalg.cholesky(H + mu * eye)
        except np.linalg.LinAlgError:
            mu = max(10 * mu, 1e-10 * scale)
            if not np.isfinite(mu) or mu > 1e20 * scale:
                return -g
            continue
        return -np.linalg.solve(factor.T, np.linalg.solve(factor, g))


def newton(value_grad_hess: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
           x0: np.ndarray, max_iter: int = 100, tol: float = 1e-8,
           callback: Callback | None = None) -> tuple[np.ndarray, bool]:
    """Damped Newton's method with a backtracking line search.

    Parameters
    ----------
    value_grad_hess : callable
        ``value_grad_hess(x) -> (J, ∇J, ∇²J)``.
    x0 : numpy.ndarray
        The start.
    max_iter : int
        The most iterations (each one evaluation, more when the line search shortens the step).
    tol : float
        Converged when the Newton step ``H⁻¹∇J`` — the estimated distance to the minimum — is at
        most ``tol`` in every coordinate, or when the decrease it promises (``−∇J·p``) is below
        what J can show in floating point; that last step is taken too, without a new
        evaluation.
    callback : callable, optional
        ``callback(x, i, g)`` before each step; returning ``True`` stops the run.

    Returns
    -------
    (numpy.ndarray, bool)
        The last point, and whether the step test was met.
    """
    x = np.array(x0, dtype=float)
    f, g, H = value_grad_hess(x)
    for i in range(max_iter):
        p = newton_direction(H, g)
        if callback is not None and callback(x, i, g):
            return x, False
        slope = float(g @ p)
        if float(np.max(np.abs(p), initial=0.0)) <= tol or -slope <= ROUNDING * abs(f):
            return x + p, True  # within tol, or a decrease too small for J to show

        def trial(t, p=p):
            y = x + t * p
            value, grad, hess = value_grad_hess(y)
            return value, (y, grad, hess)

        found = backtrack(f, slope, trial)
        if found is None:  # no lower point along p
            return x, False
        _, f, (x, g, H), _ = found
    return x, False


def descent_with_line_search(value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
                             x0: np.ndarray, max_iter: int = 100, first_step: float = 1.0,
                             callback: Callback | None = None) -> tuple[np.ndarray, float]:
    """Gradient descent ``x ← x − t g`` with ``t`` found by backtracking at every iteration.

    Each search starts from twice the last accepted step, so the rate grows back after a short
    one; an accepted trial's gradient is the next iteration's. Returns the last point and the
    last accepted step (the learning rate it settled on).
    """
    x, t = np.array(x0, dtype=float), first_step
    f, g = value_and_grad(x)
    for i in range(max_iter):
        if callback is not None and callback(x, i, g):
            break

        def trial(s, g=g):
            y = x - s * g
            value, grad = value_and_grad(y)
            return value, (y, grad)

        found = backtrack(f, -float(g @ g), trial, step=2 * t)
        if found is None:
            break
        t, f, (x, g), _ = found
    return x, t
