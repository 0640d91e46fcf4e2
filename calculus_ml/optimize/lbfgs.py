"""L-BFGS: SciPy's L-BFGS-B driven by a compiled ``value_and_grad`` (SciPy imported on first use).

SciPy is the field's implementation of the limited-memory quasi-Newton method; here it receives
``J`` and ``∇J`` from one call, and the run reports each iteration to ``callback(x, i, g)`` like
the other optimizers (which may stop it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import CalculusMLError

__all__ = ["lbfgs", "MissingDependencyError"]


class MissingDependencyError(CalculusMLError, ImportError):
    """An optional package a requested feature needs is not installed."""


def lbfgs(value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray,
          max_iter: int = 100, tol: float = 1e-8, memory: int = 10,
          callback: Callable[[np.ndarray, int, np.ndarray], Any] | None = None
          ) -> tuple[np.ndarray, bool]:
    """Minimise with L-BFGS-B (no bounds) until every gradient entry is at most ``tol``.

    Only the gradient test stops it early (no test on the decrease of J, which stops short on
    ill-conditioned problems). Returns the last point and whether SciPy reported convergence.

    Raises
    ------
    MissingDependencyError
        When SciPy is not installed.
    """
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise MissingDependencyError('method="lbfgs" needs SciPy: pip install '
                                     '"calculus_ml[scipy]"') from None
    last: dict[str, Any] = {}

    def fun(x):
        if not np.array_equal(last.get("x"), x):  # SciPy evaluates the start a second time
            f, g = value_and_grad(x)
            last.update(x=x.copy(), f=f, g=g)
        return last["f"], last["g"]

    iteration = [0]
    x_start = np.array(x0, dtype=float)
    if callback is not None:
        fun(x_start)
        if callback(x_start, 0, last["g"]):
            return x_start, False

    def report(intermediate_result):
        x = intermediate_result.x
        g = last["g"] if np.array_equal(last.get("x"), x) else value_and_grad(x)[1]
        iteration[0] += 1
        if callback is not None and callback(x, iteration[0], g):
            raise StopIteration

    result = minimize(fun, x_start, jac=True, method="L-BFGS-B", callback=report,
                      options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0,
                               "maxcor": memory, "maxls": 50})
    return np.asarray(result.x, dtype=float), bool(result.success)
