"""The plain optimizers: functions of a gradient callable and NumPy arrays, nothing symbolic.

:func:`gradient_descent`, :func:`momentum`, :func:`nesterov` and :func:`adam` take a gradient
callable ``grad(x, i)`` (``i`` is the step number, which a stochastic gradient uses to pick its
batch), a start ``x0`` and ``callback(x, i, g)``, called before each step with the point, the step
number and the gradient there; a callback that returns ``True`` stops the run.
:func:`epoch_descent` takes a whole epoch of stochastic steps instead (a compiled loop).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..numeric.finite_difference import hessian_vector_product

__all__ = ["gradient_descent", "epoch_descent", "momentum", "nesterov", "adam",
           "estimate_stable_rate", "OPTIMIZERS", "METHODS", "SCHEDULES"]

Grad = Callable[[np.ndarray, int], np.ndarray]
Callback = Callable[[np.ndarray, int, np.ndarray], Any]
Rate = float | Callable[[int], float]


def _rate(learning_rate: Rate) -> Callable[[int], float]:
    return learning_rate if callable(learning_rate) else (lambda i: learning_rate)


def gradient_descent(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01,
                     max_iter: int = 100, callback: Callback | None = None) -> np.ndarray:
    """Plain (or, with a stochastic ``grad``, stochastic) gradient descent: ``x ← x − η g``.

    ``learning_rate`` is a number or a function of the step number. Returns the last ``x``.
    """
    x = np.array(x0, dtype=float)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        x = x - (learning_rate(i) if callable(learning_rate) else learning_rate) * g
    return x


def epoch_descent(epoch: Callable[[np.ndarray, float], Any], x0: np.ndarray,
                  rate: Callable[[int], float], steps: int, max_iter: int = 100,
                  callback: Callback | None = None) -> np.ndarray:
    """Stochastic gradient descent an epoch at a time: ``epoch(x, rate(k))`` makes epoch ``k``'s
    ``steps`` steps in place (a compiled loop), for ``max_iter`` epochs.

    ``callback(x, k·steps, None)`` before epoch ``k``: as :func:`gradient_descent` calls it at the
    epoch's first step, without the gradient.
    """
    x = np.array(x0, dtype=float)
    for k in range(max_iter):
        if callback is not None and callback(x, k * steps, None):
            break
        epoch(x, rate(k))
    return x


def momentum(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01, max_iter: int = 100,
             mass: float = 0.9, callback: Callback | None = None) -> np.ndarray:
    """Heavy-ball momentum: ``v ← β v − η g``, ``x ← x + v``."""
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    velocity = np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        velocity = mass * velocity - rate(i) * g
        x = x + velocity
    return x


def nesterov(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.01, max_iter: int = 100,
             mass: float = 0.9, callback: Callback | None = None) -> np.ndarray:
    """Nesterov's accelerated gradient, in the form that needs the gradient at ``x`` only.

    ``v ← β v + g``, ``x ← x − η (g + β v)``: the look-ahead step written so that each gradient
    is taken at the point the history records.
    """
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    velocity = np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        velocity = mass * velocity + g
        x = x - rate(i) * (g + mass * velocity)
    return x


def adam(grad: Grad, x0: np.ndarray, learning_rate: Rate = 0.001, max_iter: int = 100,
         b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         callback: Callback | None = None) -> np.ndarray:
    """Adam (Kingma & Ba, 2015): steps scaled by running moments of the gradient."""
    rate, x = _rate(learning_rate), np.array(x0, dtype=float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    for i in range(max_iter):
        g = grad(x, i)
        if callback is not None and callback(x, i, g):
            break
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
        x = x - rate(i) * m_hat / (np.sqrt(v_hat) + eps)
    return x


def estimate_stable_rate(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                         iterations: int = 50, seed: int = 0) -> float | None:
    """``1/λ_max`` of the Hessian at ``x``: a learning rate at which gradient descent is stable.

    λ_max comes from power iteration on finite-difference Hessian-vector products
    (:func:`~calculus_ml.numeric.finite_difference.hessian_vector_product`); exact for
    quadratic losses (up to rounding). Returns ``None`` when the curvature is not positive or not
    finite.
    """
    x = np.asarray(x, dtype=float)
    v = np.random.default_rng(seed).standard_normal(x.size)
    v /= np.linalg.norm(v)
    h = 1e-4 * max(1.0, float(np.linalg.norm(x)))
    lam = 0.0
    for _ in range(iterations):
        hv = hessian_vector_product(grad, x, v, h)
        norm = float(np.linalg.norm(hv))
        if not math.isfinite(norm) or norm == 0:
            return None
        new = float(v @ hv)
        v = hv / norm
        if abs(new - lam) <= 1e-6 * abs(new):
            lam = new
            break
        lam = new
    return 1.0 / lam if lam > 0 and math.isfinite(lam) else None


OPTIMIZERS = {"gd": gradient_descent, "sgd": gradient_descent, "minibatch": gradient_descent,
              "momentum": momentum, "nesterov": nesterov, "adam": adam}
"""The update rule of each first-order ``method`` name."""

METHODS = ("auto", "newton", "lbfgs", *OPTIMIZERS)
"""Every ``method`` of :class:`~calculus_ml.optimize.GradientDescent`: the first-order ones, and
Newton's method and L-BFGS (:mod:`.second_order`, :mod:`.lbfgs`), which choose their own steps."""

SCHEDULES = {  # (rate, max_iter) -> rate at iteration k
    "constant": lambda rate, total: (lambda k: rate),
    "inverse": lambda rate, total: (lambda k: rate / (1.0 + 10.0 * k / total)),
    "exponential": lambda rate, total: (lambda k: rate * 0.01 ** (k / total)),
}
"""Learning-rate schedules by name: ``SCHEDULES[name](rate, max_iter)(k)`` is the rate at ``k``."""
