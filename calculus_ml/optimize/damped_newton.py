"""Newton's method with a line search, on plain callables: ``θ ← θ − t H⁻¹∇J``.

:func:`newton` takes ``value_and_grad(x)`` and ``hessian(x)`` (any source: the compiled loss in
memory, or one pass over Dask blocks each), solves ``H p = −g`` on the caller's side (O(p³)) and
halves the step ``t`` from 1 until J decreases by the Armijo fraction (or, where J is flat to
rounding, until ‖∇J‖ does); where ``H`` is not positive definite it adds ``μI`` (growing ``μ``)
until it is, so every direction goes downhill. It stops when no step helps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["newton"]

ARMIJO = 1e-4
"""The fraction of the predicted decrease ``t g·p`` a step must achieve."""


def newton(value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
           hessian: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, max_iter: int = 50,
           callback: Callable[[np.ndarray, int, np.ndarray], Any] | None = None) -> np.ndarray:
    """Damped Newton: a Hessian and (usually) one ``value_and_grad`` per iteration.

    ``callback(x, i, g)`` is called before each step; returning ``True`` stops. Returns the last
    ``x``.
    """
    x = np.array(x0, dtype=float)
    J, g = value_and_grad(x)
    for i in range(max_iter):
        if callback is not None and callback(x, i, g):
            break
        p = _direction(hessian(x), g)
        t, slope = 1.0, float(g @ p)
        while t >= 1e-12:
            J_new, g_new = value_and_grad(x + t * p)
            if J_new <= J + ARMIJO * t * slope or (  # or J is flat to rounding, ∇J smaller
                    abs(J_new - J) <= 1e-14 * abs(J) and g_new @ g_new < g @ g):
                break
            t /= 2
        else:  # no step decreases J: x is the minimum to rounding
            break
        x, J, g = x + t * p, J_new, g_new
    return x


def _direction(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``−(H + μI)⁻¹ g`` with the smallest ``μ ≥ 0`` (tried in steps) making it positive definite."""
    scale = max(float(np.abs(np.diag(H)).max(initial=0.0)), 1e-12)
    mu = 0.0
    while True:
        try:
            L = np.linalg.cholesky(H + mu * np.eye(len(g)))
        except np.linalg.LinAlgError:
            mu = max(2 * mu, 1e-10 * scale)
            continue
        return -np.linalg.solve(L.T, np.linalg.solve(L, g))
